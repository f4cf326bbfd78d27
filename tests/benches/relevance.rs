//! Relevance of search by words, by meaning and both fused, on both relevance sets.
//!
//! Loads the demo catalogue (154 installations, with their infrastructures and providers) into a
//! SQLite registry store, builds the search index and the embeddings from it as the registry does,
//! then runs every query of `tests/relevance/` three ways and prints recall@5 (expected
//! installations found in the first five, over all expected) and nDCG@10 (binary relevance, mean
//! over queries) per set and way, then the paraphrases each way misses.
//!
//!     services/encoder/fetch-model
//!     cargo bench -p rti-tests --bench relevance
//!
//! - words: `SearchIndex::search` without the query's embedding (the search before issue 17);
//! - meaning: `SearchIndex::search_by_meaning`, the ranking the fusion takes from the embeddings;
//! - fused: `SearchIndex::search` with the embedding, as `SearchInstallations` answers.

#[path = "support/catalogue.rs"]
mod catalogue;

use std::collections::BTreeMap;

use rti_platform::db::Database;
use rti_registry::search::meaning::Meaning;
use rti_registry::store::RegistryStore;
use rti_search::{Query, SearchIndex};
use rti_tests::relevance::{RelevanceQuery, found_at, ndcg_at, paraphrase_queries, word_queries};

const WAYS: [&str; 3] = ["words", "meaning", "fused"];
/// Queries that should find nothing.
const NONSENSE: [&str; 3] = ["zyxwv", "zyxwv qwrtp", "asdfgh jkl"];

fn main() {
    catalogue::run_with_store(run);
}

async fn run(database: Database, store: RegistryStore) {
    let demo_size = rti_gateway::demo::catalogue::installations().expect("demo").len();
    let ids = catalogue::fill(&database, &store, demo_size, None).await;
    let (index, _writer) = catalogue::build_index(&store).await;
    let meaning = catalogue::load_meaning();
    let spent = catalogue::embed_catalogue(&store, &index, &meaning).await;
    println!(
        "{} installations, {} embedded in {:.1} s ({})",
        index.document_count(),
        index.vector_count(),
        spent.as_secs_f64(),
        Meaning::model_version()
    );
    println!("| set | queries | way | recall@5 | nDCG@10 |");
    println!("|---|---|---|---|---|");
    let mut misses = Vec::new();
    for (name, queries) in [
        ("words (issue 4)", word_queries()),
        ("paraphrases (issue 17)", paraphrase_queries()),
    ] {
        for way in WAYS {
            let (mut found, mut expected, mut ndcg) = (0, 0, 0.0);
            for query in &queries {
                let ranked = rank(&index, &meaning, way, query.text);
                let ranked: Vec<&str> = ranked.iter().map(String::as_str).collect();
                let wanted: Vec<&str> = query.expected.iter().map(|key| ids[*key].as_str()).collect();
                let hits = found_at(&ranked, &wanted, 5);
                found += hits;
                expected += wanted.len();
                ndcg += ndcg_at(&ranked, &wanted, 10);
                if hits < wanted.len() && name.starts_with("paraphrases") {
                    misses.push(miss(way, query, &ranked, &ids));
                }
            }
            println!(
                "| {name} | {} | {way} | {:.3} ({found}/{expected}) | {:.3} |",
                queries.len(),
                found as f64 / expected as f64,
                ndcg / queries.len() as f64
            );
        }
    }
    for nonsense in NONSENSE {
        let found = index
            .search(&Query {
                text: nonsense.to_owned(),
                meaning: Some(meaning.embed_query(nonsense)),
                ..Query::default()
            })
            .expect("search");
        let best = index
            .search_by_meaning(&Query::default(), &meaning.embed_query(nonsense))
            .expect("search");
        println!(
            "nonsense {nonsense:?}: {} fused hits; nearest cosine {:?}",
            found.total,
            best.first().map(|hit| hit.score)
        );
    }
    println!("\nparaphrases missed in the first five:");
    for line in misses {
        println!("{line}");
    }
}

fn rank(index: &SearchIndex, meaning: &Meaning, way: &str, text: &str) -> Vec<String> {
    let query = Query {
        text: text.to_owned(),
        limit: 10,
        ..Query::default()
    };
    let embedding = || meaning.embed_query(text);
    let hits = match way {
        "words" => index.search(&query).expect("search").hits,
        "meaning" => index.search_by_meaning(&query, &embedding()).expect("search"),
        _ => {
            index
                .search(&Query {
                    meaning: Some(embedding()),
                    ..query
                })
                .expect("search")
                .hits
        }
    };
    hits.into_iter().take(10).map(|hit| hit.id).collect()
}

fn miss(way: &str, query: &RelevanceQuery, ranked: &[&str], ids: &BTreeMap<String, String>) -> String {
    let keys: Vec<&str> = ranked
        .iter()
        .take(5)
        .filter_map(|id| {
            ids.iter()
                .find(|(_, candidate)| candidate == id)
                .map(|(key, _)| key.as_str())
        })
        .collect();
    format!(
        "  {way:7} [{}] {:?} wants {:?}; top 5: {keys:?}",
        query.language, query.text, query.expected
    )
}
