//! Catalogue search by words, by words and meaning fused, and a SQL `LIKE` scan, side by side on
//! the same data, in one process.
//!
//! Generates a catalogue of 10,000 published installations by cycling the 154 demo
//! installations (each copy renamed and placed in another country) into a SQLite registry
//! store, builds the search index and the embeddings from it as the registry does, then runs
//! every query of both relevance sets (`tests/relevance/*.tsv`, seven languages) in turn through
//! the index by words, through the encoder (the query's embedding), through the index with the
//! embedding (fused), and through the `LIKE` equivalent, and prints p50/p99 of each, and the
//! slowest queries of the fused search.
//!
//!     services/encoder/fetch-model
//!     cargo bench -p rti-tests --bench search
//!
//! Every side computes what a results page needs: the index its top 20, total and facets (fused:
//! over the union of the words' and the meaning's hits); SQL its first 20 rows by id and the
//! total (`COUNT(*) OVER ()`), matching any query word in the name, techniques or descriptions,
//! case-insensitively.

#[path = "support/catalogue.rs"]
mod catalogue;

use std::time::{Duration, Instant};

use rti_platform::db::Database;
use rti_registry::store::RegistryStore;
use rti_search::Query;
use rti_tests::relevance::{paraphrase_queries, word_queries};

const INSTALLATIONS: usize = 10_000;
const ROUNDS: usize = 10;
const PAGE: usize = 20;
const SETTLE: Duration = Duration::from_secs(10);
const COUNTRIES: [&str; 20] = [
    "AT", "BE", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HU", "IE", "IT", "NL", "NO", "PL", "PT", "SE", "SI",
    "SK",
];

fn main() {
    catalogue::run_with_store(run);
}

async fn run(database: Database, store: RegistryStore) {
    let started = Instant::now();
    catalogue::fill(&database, &store, INSTALLATIONS, Some(&COUNTRIES)).await;
    eprintln!("generated {INSTALLATIONS} installations in {:.1?}", started.elapsed());

    let started = Instant::now();
    let (index, mut writer) = catalogue::build_index(&store).await;
    eprintln!(
        "indexed {} installations in {:.1?}",
        index.document_count(),
        started.elapsed()
    );
    let meaning = catalogue::load_meaning();
    let started = Instant::now();
    let encoding = catalogue::embed_catalogue(&store, &index, &meaning).await;
    eprintln!(
        "embedded {} installations in {:.1?} ({:.1?} in the encoder)",
        index.vector_count(),
        started.elapsed(),
        encoding
    );
    // Let tantivy's background merges finish, then commit again so that searches see the merged
    // segments: the steady state of a registry, not the minute after a bulk import.
    tokio::time::sleep(SETTLE).await;
    writer.commit(&catalogue::no_cursor()).expect("commit");

    let queries = queries();
    let mut samples: [Vec<Duration>; 4] = Default::default();
    let mut by_query = vec![Duration::ZERO; queries.len()];
    for _ in 0..ROUNDS {
        for (number, text) in queries.iter().enumerate() {
            let started = Instant::now();
            std::hint::black_box(index.search(&search_query(text)).expect("search"));
            samples[0].push(started.elapsed());

            let started = Instant::now();
            let embedding = meaning.embed_query(text);
            samples[1].push(started.elapsed());

            let fused_query = Query {
                meaning: Some(embedding),
                ..search_query(text)
            };
            let started = Instant::now();
            std::hint::black_box(index.search(&fused_query).expect("search"));
            let elapsed = started.elapsed();
            samples[2].push(elapsed);
            by_query[number] = by_query[number].max(elapsed);

            let started = Instant::now();
            std::hint::black_box(like(&database, text).await);
            samples[3].push(started.elapsed());
        }
    }
    report(&queries, &mut samples);
    let mut slowest: Vec<(Duration, &String)> = by_query.into_iter().zip(&queries).collect();
    slowest.sort_unstable_by_key(|(elapsed, _)| std::cmp::Reverse(*elapsed));
    for (elapsed, text) in slowest.iter().take(8) {
        let fused_query = Query {
            meaning: Some(meaning.embed_query(text)),
            ..search_query(text)
        };
        let total = index.search(&fused_query).expect("search").total;
        println!(
            "slowest fused: {:>6.0} µs  {total:>5} hits  {text}",
            elapsed.as_secs_f64() * 1e6
        );
    }
}

/// Both relevance sets' queries.
fn queries() -> Vec<String> {
    word_queries()
        .into_iter()
        .chain(paraphrase_queries())
        .map(|query| query.text.to_owned())
        .collect()
}

fn search_query(text: &str) -> Query {
    Query {
        text: text.to_owned(),
        limit: PAGE,
        ..Query::default()
    }
}

/// The first page by id and the total of installations whose name, techniques or descriptions
/// contain any of the query's words.
async fn like(database: &Database, text: &str) -> Vec<(String, i64)> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| format!("%{}%", word.to_lowercase()))
        .collect();
    let condition = (0..words.len())
        .map(|index| {
            let placeholder = index + 1;
            format!(
                "lower(name) LIKE ${placeholder} OR lower(techniques) LIKE ${placeholder} \
                 OR lower(descriptions) LIKE ${placeholder}"
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT id, COUNT(*) OVER () AS total FROM installations WHERE status = 'published' AND ({condition}) \
         ORDER BY id LIMIT {PAGE}"
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
    for word in &words {
        query = query.bind(word);
    }
    query.fetch_all(database.readers()).await.expect("like")
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

fn report(queries: &[String], samples: &mut [Vec<Duration>; 4]) {
    for side in samples.iter_mut() {
        side.sort_unstable();
    }
    let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
    println!(
        "{INSTALLATIONS} installations, {} queries x {ROUNDS} rounds, page of {PAGE}",
        queries.len()
    );
    println!("| side | p50 | p99 | max |");
    println!("|---|---|---|---|");
    let names = [
        "index, words only",
        "query embedding (encoder)",
        "index, words and meaning fused (embedding given)",
        "SQL LIKE (SQLite)",
    ];
    for (name, side) in names.iter().zip(samples.iter()) {
        println!(
            "| {name} | {:.0} µs | {:.0} µs | {:.0} µs |",
            micros(percentile(side, 50)),
            micros(percentile(side, 99)),
            micros(side[side.len() - 1]),
        );
    }
    let mut request: Vec<Duration> = samples[1]
        .iter()
        .zip(&samples[2])
        .map(|(embed, fused)| *embed + *fused)
        .collect();
    request.sort_unstable();
    println!(
        "embedding + fused search, per query as a request pays them: p50 {:.0} µs, p99 {:.0} µs",
        micros(percentile(&request, 50)),
        micros(percentile(&request, 99)),
    );
    println!(
        "LIKE / words: {:.1}x at p50, {:.1}x at p99",
        micros(percentile(&samples[3], 50)) / micros(percentile(&samples[0], 50)),
        micros(percentile(&samples[3], 99)) / micros(percentile(&samples[0], 99)),
    );
}
