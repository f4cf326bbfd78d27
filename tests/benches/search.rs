//! Catalogue search against a SQL `LIKE` scan, side by side on the same data, in one process.
//!
//! Generates a catalogue of 10,000 published installations by cycling the 154 demo
//! installations (each copy renamed and placed in another country) into a SQLite registry
//! store, builds the search index from it as the registry does, then runs every query of the
//! relevance set (`tests/relevance/*.tsv`, seven languages) alternately through the index and
//! through the `LIKE` equivalent, and prints p50/p99 of each, their ratio, and the slowest
//! queries of the index.
//!
//!     cargo bench -p rti-tests --bench search
//!
//! Both sides compute what a results page needs: the index its top 20, total and facets; SQL
//! its first 20 rows by id and the total (`COUNT(*) OVER ()`), matching any query word in the
//! name, techniques or descriptions, case-insensitively.

use std::time::{Duration, Instant};

use rti_platform::db::{Database, DatabaseUrl};
use rti_platform::error::Violations;
use rti_platform::events::Outbox;
use rti_registry::domain::{InfrastructureFields, InfrastructureKind, ProviderFields, Structure};
use rti_registry::store::RegistryStore;
use rti_search::{Cursor, Query, SearchIndex};

const INSTALLATIONS: usize = 10_000;
const ROUNDS: usize = 10;
const PAGE: usize = 20;
const SETTLE: Duration = Duration::from_secs(10);
const COUNTRIES: [&str; 20] = [
    "AT", "BE", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HU", "IE", "IT", "NL", "NO", "PL", "PT", "SE", "SI",
    "SK",
];
const QUERY_FILES: [&str; 3] = [
    include_str!("../relevance/physical-sciences.tsv"),
    include_str!("../relevance/technology.tsv"),
    include_str!("../relevance/life-environment-digital.tsv"),
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let directory = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::sqlite_file(&directory.path().join("registry.db"));
    let database = Database::open(&url, rti_registry::app::SPEC.migrations, 8)
        .await
        .expect("store");
    let store = RegistryStore::new(database.clone(), Outbox::new(database.clone(), "registry"));

    let started = Instant::now();
    generate(&store).await;
    sqlx::query("UPDATE installations SET status = 'published'")
        .execute(database.readers())
        .await
        .expect("publish all");
    eprintln!("generated {INSTALLATIONS} installations in {:.1?}", started.elapsed());

    let started = Instant::now();
    let (index, mut writer, _) = SearchIndex::open(None).expect("index");
    let mut after = String::new();
    loop {
        let page = store.published_sources(&after, 1000).await.expect("catalogue");
        let Some(last) = page.last() else { break };
        after.clone_from(&last.installation.id);
        for source in &page {
            writer.upsert(&rti_registry::search::document(source)).expect("upsert");
        }
    }
    writer
        .commit(&Cursor {
            sequence: 0,
            event_id: String::new(),
        })
        .expect("commit");
    eprintln!(
        "indexed {} installations in {:.1?}",
        index.document_count(),
        started.elapsed()
    );
    // Let tantivy's background merges finish, then commit again so that searches see the merged
    // segments: the steady state of a registry, not the minute after a bulk import.
    tokio::time::sleep(SETTLE).await;
    writer
        .commit(&Cursor {
            sequence: 0,
            event_id: String::new(),
        })
        .expect("commit");

    let queries = queries();
    let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
    let mut by_query = vec![Duration::ZERO; queries.len()];
    for _ in 0..ROUNDS {
        for (number, text) in queries.iter().enumerate() {
            let started = Instant::now();
            let results = index.search(&search_query(text)).expect("search");
            let elapsed = started.elapsed();
            indexed.push(elapsed);
            by_query[number] = by_query[number].max(elapsed);
            std::hint::black_box(results);

            let started = Instant::now();
            let rows = like(&database, text).await;
            scanned.push(started.elapsed());
            std::hint::black_box(rows);
        }
    }
    report(&queries, &mut indexed, &mut scanned);
    let mut slowest: Vec<(Duration, &String)> = by_query.into_iter().zip(&queries).collect();
    slowest.sort_unstable_by_key(|(elapsed, _)| std::cmp::Reverse(*elapsed));
    for (elapsed, text) in slowest.iter().take(8) {
        let total = index.search(&search_query(text)).expect("search").total;
        println!(
            "slowest: {:>6.0} µs  {total:>5} hits  {text}",
            elapsed.as_secs_f64() * 1e6
        );
    }
}

/// Cycles the demo installations into `INSTALLATIONS` installations under ten infrastructures.
async fn generate(store: &RegistryStore) {
    let provider = store
        .create_provider(
            ProviderFields {
                name: "Benchmark provider".into(),
                country: "BE".into(),
                website: String::new(),
            },
            None,
        )
        .await
        .expect("provider");
    let mut infrastructures = Vec::new();
    for index in 0..10 {
        let fields = InfrastructureFields {
            name: format!("Benchmark infrastructure {index}"),
            acronym: format!("BI{index}"),
            description: String::new(),
            kind: Some(InfrastructureKind::Both),
            structure: Some(Structure::Distributed),
            countries: vec!["BE".into()],
            website: String::new(),
            esfri_status: None,
            legal_form: None,
            access_policy_uri: String::new(),
        };
        let infrastructure = store
            .create_infrastructure(&provider.id, fields, None)
            .await
            .expect("infrastructure");
        infrastructures.push(infrastructure.id);
    }
    let demo = rti_gateway::demo::catalogue::installations().expect("demo catalogue");
    for number in 0..INSTALLATIONS {
        let (_, template) = &demo[number % demo.len()];
        let mut violations = Violations::new();
        let mut fields = rti_registry::convert::installation_fields(template, "installation", &mut violations);
        fields.name = format!("{} #{number}", fields.name);
        fields.countries = vec![COUNTRIES[number % COUNTRIES.len()].into()];
        fields.validate("installation", &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        store
            .create_installation(&infrastructures[number % infrastructures.len()], fields, None)
            .await
            .expect("installation");
    }
}

fn queries() -> Vec<String> {
    QUERY_FILES
        .iter()
        .flat_map(|file| file.lines())
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split('\t').nth(1))
        .map(str::to_owned)
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

fn report(queries: &[String], indexed: &mut [Duration], scanned: &mut [Duration]) {
    indexed.sort_unstable();
    scanned.sort_unstable();
    let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
    println!(
        "{INSTALLATIONS} installations, {} queries x {ROUNDS} rounds, page of {PAGE}",
        queries.len()
    );
    println!("| engine | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (name, samples) in [("tantivy index", &*indexed), ("SQL LIKE (SQLite)", &*scanned)] {
        println!(
            "| {name} | {:.0} µs | {:.0} µs | {:.0} µs |",
            micros(percentile(samples, 50)),
            micros(percentile(samples, 99)),
            micros(samples[samples.len() - 1]),
        );
    }
    println!(
        "LIKE / index: {:.1}x at p50, {:.1}x at p99",
        micros(percentile(scanned, 50)) / micros(percentile(indexed, 50)),
        micros(percentile(scanned, 99)) / micros(percentile(indexed, 99)),
    );
}
