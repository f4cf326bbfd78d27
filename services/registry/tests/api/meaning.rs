//! Search by meaning through the API: with the encoder's model, a query that shares no word with
//! an installation finds it, each hit says how it was found, filters hold, embeddings are stored
//! and survive a restart, and are recomputed for another model; without the model, search is by
//! words and health says so. These tests need the model (`services/encoder/fetch-model`), unless
//! `RTI_ENCODER_SKIP=1`.

use std::time::Duration;

use rti_platform::backend_tests;
use rti_platform::db::{Backend, Database, DatabaseUrl};
use rti_platform::server::ServiceConfig;
use rti_platform::testing::{TestDatabase, connect, test_auth};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_registry::search::meaning::SEMANTIC_SEARCH_HEALTH;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::spawn_service;
use crate::search::{ids, published, query, search_until};

/// A need in an SME's words: it shares none with the German installation below.
const CHATBOT: &str = "teach a big chatbot on many graphics cards";

struct Running {
    channel: Channel,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// A registry on `url` with the encoder's model, or `None` when `RTI_ENCODER_SKIP=1`.
async fn start_with_model(url: &DatabaseUrl) -> Option<Running> {
    let options = rti_registry::Options {
        encoder_model_dir: Some(rti_encoder::testing::model_dir()?),
    };
    let config = ServiceConfig::new("127.0.0.1:0".parse().expect("address"), url.clone(), test_auth());
    let app = rti_registry::App::build_with(config, options)
        .await
        .expect("the registry starts");
    let address = app.local_addr();
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { app.run_until(stop).await.expect("clean stop") }
    });
    Some(Running {
        channel: connect(address).await,
        stop,
        task,
    })
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("stopped");
    }
}

async fn gpu_partition(client: &mut RegistryServiceClient<Channel>) -> proto::Installation {
    published(
        client,
        "GPU-Partition",
        (
            "de",
            "Knoten mit je vier Rechenzentrumsbeschleunigern für das Training großer Sprachmodelle.",
        ),
        "DE",
        proto::AccessMode::Excellence,
    )
    .await
}

async fn semantic_health(channel: Channel) -> ServingStatus {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: SEMANTIC_SEARCH_HEALTH.into(),
        })
        .await
        .expect("health answers for search by meaning")
        .into_inner()
        .status()
}

/// (computed_at, model_version) of the installation's stored embedding.
async fn stored_embedding(database: &Database, installation_id: &str) -> Option<(i64, String)> {
    sqlx::query_as("SELECT computed_at, model_version FROM installation_embeddings WHERE installation_id = $1")
        .bind(installation_id)
        .fetch_optional(database.readers())
        .await
        .expect("read the embeddings")
}

async fn eventually_stored(database: &Database, installation_id: &str, model: &str) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((computed_at, version)) = stored_embedding(database, installation_id).await
            && version == model
        {
            return computed_at;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no embedding of {model} was stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn finds_by_meaning_what_shares_no_word_and_says_how_each_hit_matched(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let Some(registry) = start_with_model(&database.url).await else {
        return;
    };
    let mut client = RegistryServiceClient::new(registry.channel.clone());
    assert_eq!(semantic_health(registry.channel.clone()).await, ServingStatus::Serving);
    let gpus = gpu_partition(&mut client).await;
    let blades = published(
        &mut client,
        "Rotorblatt-Prüfstand",
        (
            "de",
            "Statische und zyklische Ermüdungsprüfung ganzer Rotorblätter von Windenergieanlagen bis 90 m Länge.",
        ),
        "DK",
        proto::AccessMode::Excellence,
    )
    .await;

    let found = search_until(&mut client, &query(CHATBOT), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&found).first(), Some(&gpus.id), "{found:#?}");
    assert_eq!(found.hits[0].matched_by(), proto::MatchedBy::Meaning);
    assert!(found.hits[0].next_free_window.is_none(), "no calendar yet");

    // Words and meaning: the hit says both, or words when the meaning is not near enough.
    let by_words = search_until(&mut client, &query("Rotorblatt"), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&by_words).first(), Some(&blades.id));
    assert!(
        matches!(
            by_words.hits[0].matched_by(),
            proto::MatchedBy::Words | proto::MatchedBy::WordsAndMeaning
        ),
        "{by_words:#?}"
    );

    // Filters hold for hits by meaning as for hits by words: the partition is not in Denmark.
    let in_denmark = client
        .search_installations(proto::SearchInstallationsRequest {
            countries: vec!["DK".into()],
            ..query(CHATBOT)
        })
        .await
        .expect("search")
        .into_inner();
    assert!(!ids(&in_denmark).contains(&gpus.id), "{in_denmark:#?}");
    let country_facet = in_denmark
        .facets
        .iter()
        .find(|facet| facet.field == "countries")
        .expect("countries facet");
    assert!(
        country_facet.counts.iter().all(|count| count.value == "DK"),
        "{country_facet:?}"
    );

    registry.stop().await;
}

async fn embeddings_survive_a_restart_and_are_recomputed_for_another_model(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let Some(registry) = start_with_model(&database.url).await else {
        return;
    };
    let model = rti_registry::search::meaning::Meaning::model_version();
    let mut client = RegistryServiceClient::new(registry.channel.clone());
    let gpus = gpu_partition(&mut client).await;
    let store = Database::open(&database.url, rti_registry::app::SPEC.migrations, 1)
        .await
        .expect("the store opens");
    let first = eventually_stored(&store, &gpus.id, model).await;
    registry.stop().await;

    // A restart finds by meaning again without embedding anything anew.
    let registry = start_with_model(&database.url).await.expect("the model is there");
    let mut client = RegistryServiceClient::new(registry.channel.clone());
    let found = search_until(&mut client, &query(CHATBOT), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&found).first(), Some(&gpus.id));
    assert_eq!(
        stored_embedding(&store, &gpus.id).await,
        Some((first, model.to_owned())),
        "the stored embedding was used, not recomputed"
    );
    registry.stop().await;

    // Vectors of another model are not comparable: they are replaced at start.
    sqlx::query("UPDATE installation_embeddings SET model_version = 'an-older-model'")
        .execute(store.readers())
        .await
        .expect("pretend another model made them");
    let registry = start_with_model(&database.url).await.expect("the model is there");
    let recomputed = eventually_stored(&store, &gpus.id, model).await;
    assert!(recomputed > first, "recomputed at {recomputed}, first at {first}");
    registry.stop().await;
    store.close().await;
}

async fn without_the_model_search_is_by_words_and_health_says_so(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    assert_eq!(
        semantic_health(service.channel.clone()).await,
        ServingStatus::NotServing
    );
    let mut client = service.client();
    let gpus = gpu_partition(&mut client).await;
    let found = search_until(&mut client, &query("GPU-Partition"), |response| {
        !response.hits.is_empty()
    })
    .await;
    assert_eq!(ids(&found), [gpus.id]);
    assert_eq!(found.hits[0].matched_by(), proto::MatchedBy::Words);
    let by_meaning_only = client
        .search_installations(query(CHATBOT))
        .await
        .expect("search")
        .into_inner();
    assert!(by_meaning_only.hits.is_empty(), "{by_meaning_only:#?}");
}

backend_tests!(
    finds_by_meaning_what_shares_no_word_and_says_how_each_hit_matched,
    embeddings_survive_a_restart_and_are_recomputed_for_another_model,
    without_the_model_search_is_by_words_and_health_says_so
);
