//! What the search benchmarks share: a SQLite registry store filled from the demo catalogue, and
//! the search index and embeddings built from the store as the registry builds them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rti_platform::db::{Database, DatabaseUrl};
use rti_platform::error::Violations;
use rti_platform::events::Outbox;
use rti_registry::domain::{InfrastructureFields, InfrastructureKind, ProviderFields, Structure};
use rti_registry::search::meaning::{InstallationText, Meaning, installation_text};
use rti_registry::store::RegistryStore;
use rti_search::{Cursor, IndexWriter, SearchIndex};

/// Installations embedded per batch: the whole generated catalogue at once, so that the
/// descriptions its copies share are embedded once (as `Meaning::embed_installations` does
/// within a batch); the registry embeds 64 at a time.
const EMBED_BATCH: i64 = 20_000;

/// Runs `benchmark` on two worker threads (the service machines' cores) with a fresh registry
/// store in a temporary directory.
pub fn run_with_store<Benchmark, Done>(benchmark: Benchmark)
where
    Benchmark: FnOnce(Database, RegistryStore) -> Done,
    Done: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let directory = tempfile::tempdir().expect("tempdir");
        let (database, store) = open_store(directory.path()).await;
        benchmark(database, store).await;
    });
}

/// A fresh registry store in `directory`.
async fn open_store(directory: &Path) -> (Database, RegistryStore) {
    let url = DatabaseUrl::sqlite_file(&directory.join("registry.db"));
    let database = Database::open(&url, rti_registry::app::SPEC.migrations, 8)
        .await
        .expect("store");
    let store = RegistryStore::new(database.clone(), Outbox::new(database.clone(), "registry"));
    (database, store)
}

/// `count` installations cycled from the demo catalogue, published. With `copies`, under ten
/// benchmark infrastructures, each renamed ("… #17") and placed in one of `countries` in turn;
/// without, under their own infrastructures and providers, as the demo loads them. Returns
/// `infrastructure-key/installation-key` (of the first copy) → id.
pub async fn fill(
    database: &Database,
    store: &RegistryStore,
    count: usize,
    copies: Option<&[&str]>,
) -> BTreeMap<String, String> {
    let demo = rti_gateway::demo::catalogue::installations().expect("demo catalogue");
    let parents = rti_gateway::demo::catalogue::parent_names().expect("demo catalogue");
    let mut infrastructure_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut provider_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for number in 0..count {
        let (key, template) = &demo[number % demo.len()];
        let [infrastructure_name, acronym, provider_name] = match copies {
            Some(_) => [
                format!("Benchmark infrastructure {}", number % 10),
                format!("BI{}", number % 10),
                "Benchmark provider".to_owned(),
            ],
            None => parents[key].clone(),
        };
        if !provider_ids.contains_key(&provider_name) {
            let provider = store
                .create_provider(
                    ProviderFields {
                        name: provider_name.clone(),
                        country: "BE".into(),
                        website: String::new(),
                    },
                    None,
                )
                .await
                .expect("provider");
            provider_ids.insert(provider_name.clone(), provider.id);
        }
        if !infrastructure_ids.contains_key(&infrastructure_name) {
            let fields = InfrastructureFields {
                name: infrastructure_name.clone(),
                acronym,
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
                .create_infrastructure(&provider_ids[&provider_name], fields, None)
                .await
                .expect("infrastructure");
            infrastructure_ids.insert(infrastructure_name.clone(), infrastructure.id);
        }
        let mut violations = Violations::new();
        let mut fields = rti_registry::convert::installation_fields(template, "installation", &mut violations);
        if let Some(countries) = copies {
            fields.name = format!("{} #{number}", fields.name);
            fields.countries = vec![countries[number % countries.len()].into()];
        }
        fields.validate("installation", &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        let installation = store
            .create_installation(&infrastructure_ids[&infrastructure_name], fields, None)
            .await
            .expect("installation");
        ids.entry(key.clone()).or_insert(installation.id);
    }
    sqlx::query("UPDATE installations SET status = 'published'")
        .execute(database.readers())
        .await
        .expect("publish all");
    ids
}

/// The search index of the store's published installations, in memory, as the registry builds
/// it, and its writer.
pub async fn build_index(store: &RegistryStore) -> (SearchIndex, IndexWriter) {
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
    writer.commit(&no_cursor()).expect("commit");
    (index, writer)
}

/// Embeds every published installation of the store into `index`, as the registry's indexer
/// does; returns the time the encoder took.
pub async fn embed_catalogue(store: &RegistryStore, index: &SearchIndex, meaning: &Meaning) -> Duration {
    let mut spent = Duration::ZERO;
    let mut after = String::new();
    loop {
        let page = store.published_sources(&after, EMBED_BATCH).await.expect("catalogue");
        let Some(last) = page.last() else { break };
        after.clone_from(&last.installation.id);
        let texts: Vec<InstallationText> = page
            .iter()
            .map(|source| installation_text(&source.installation))
            .collect();
        let started = Instant::now();
        let vectors = meaning.embed_installations(&texts);
        spent += started.elapsed();
        for (text, vector) in texts.iter().zip(&vectors) {
            index.set_vector(&text.installation_id, vector).expect("vector");
        }
    }
    spent
}

pub fn no_cursor() -> Cursor {
    Cursor {
        sequence: 0,
        event_id: String::new(),
    }
}

/// The encoder's model: `RTI_ENCODER_MODEL_DIR`, else where `services/encoder/fetch-model` puts it.
pub fn load_meaning() -> Meaning {
    let directory = std::env::var_os("RTI_ENCODER_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(rti_encoder::default_model_dir);
    Meaning::load_blocking(&directory)
        .unwrap_or_else(|error| panic!("{error} (run services/encoder/fetch-model first)"))
}
