//! Search relevance over the demo catalogue: the queries in `tests/relevance/*.tsv` (written
//! with the catalogue, before the search was tuned) must put the installations each one names
//! in the first five hits, with recall@5 of at least 0.9 over all of them. Misses are printed so
//! that a regression says which queries it broke.

use rti_gateway::demo;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::TEST_SECRET;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;

use rti_tests::relevance::{RelevanceQuery, word_queries};
use rti_tests::spawn_suite;

const RECALL_AT_5: f64 = 0.9;

fn queries() -> Vec<RelevanceQuery> {
    word_queries()
}

#[test]
fn the_query_set_is_as_large_and_multilingual_as_promised() {
    let queries = queries();
    assert!(queries.len() >= 60, "{} queries", queries.len());
    let languages: std::collections::BTreeSet<&str> = queries.iter().map(|query| query.language).collect();
    assert!(languages.len() >= 5, "{languages:?}");
}

async fn demo_queries_find_what_they_must(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let token = demo::loader_token(TEST_SECRET).expect("token");
    // `load` returns once search finds the whole demo catalogue.
    let loaded = demo::catalogue::load(suite.channel.clone(), &token)
        .await
        .expect("the demo loads");
    let mut client = RegistryServiceClient::new(suite.channel.clone());
    let (mut found, mut expected) = (0_usize, 0_usize);
    let mut misses = Vec::new();
    for query in queries() {
        let response = client
            .search_installations(proto::SearchInstallationsRequest {
                query: query.text.into(),
                page_size: 5,
                ..Default::default()
            })
            .await
            .expect("search")
            .into_inner();
        let top: Vec<&str> = response
            .hits
            .iter()
            .filter_map(|hit| hit.installation.as_ref().map(|installation| installation.id.as_str()))
            .collect();
        for key in &query.expected {
            let id = loaded
                .installation_ids
                .get(*key)
                .unwrap_or_else(|| panic!("{}: {key} is not a demo installation", query.file));
            expected += 1;
            if top.contains(&id.as_str()) {
                found += 1;
            } else {
                let names: Vec<&str> = response
                    .hits
                    .iter()
                    .filter_map(|hit| hit.installation.as_ref().map(|installation| installation.name.as_str()))
                    .collect();
                misses.push(format!(
                    "[{}] {:?} misses {key}; top 5: {names:?}",
                    query.language, query.text
                ));
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let recall = found as f64 / expected as f64;
    println!(
        "recall@5 = {recall:.3} ({found}/{expected}); misses:\n{}",
        misses.join("\n")
    );
    assert!(
        recall >= RECALL_AT_5,
        "recall@5 {recall:.3} < {RECALL_AT_5}:\n{}",
        misses.join("\n")
    );
}

backend_tests!(demo_queries_find_what_they_must);
