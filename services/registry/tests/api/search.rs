//! `SearchInstallations` through the API: only published installations, across languages,
//! with filters, facets, the next free window, cursor pages, and every bad field named. The
//! index follows the outbox, so tests wait for it to catch up.

use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::calendar::{add_window, day};
use crate::helpers::{create_installation_from, spawn_service, violated_fields, with_token};

/// Searches until `done` holds for the response; fails the test after ten seconds.
pub(crate) async fn search_until(
    client: &mut RegistryServiceClient<Channel>,
    request: &proto::SearchInstallationsRequest,
    done: impl Fn(&proto::SearchInstallationsResponse) -> bool,
) -> proto::SearchInstallationsResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = client
            .search_installations(request.clone())
            .await
            .expect("anonymous search")
            .into_inner();
        if done(&response) {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search never satisfied the test: {response:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn query(text: &str) -> proto::SearchInstallationsRequest {
    proto::SearchInstallationsRequest {
        query: text.into(),
        ..Default::default()
    }
}

pub(crate) fn ids(response: &proto::SearchInstallationsResponse) -> Vec<String> {
    response
        .hits
        .iter()
        .filter_map(|hit| hit.installation.as_ref().map(|installation| installation.id.clone()))
        .collect()
}

pub(crate) async fn published(
    client: &mut RegistryServiceClient<Channel>,
    name: &str,
    (language, text): (&str, &str),
    country: &str,
    mode: proto::AccessMode,
) -> proto::Installation {
    let installation = create_installation_from(client, |installation| proto::Installation {
        name: name.into(),
        countries: vec![country.into()],
        access_modes: vec![mode as i32],
        techniques: Vec::new(),
        descriptions: vec![proto::LocalizedText {
            language: language.into(),
            text: text.into(),
        }],
        ..installation
    })
    .await;
    client
        .publish_installation(with_token(
            proto::PublishInstallationRequest {
                id: installation.id.clone(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("published")
        .into_inner()
}

async fn finds_published_installations_across_languages(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let german = published(
        &mut client,
        "Reinraumlabor Nord",
        ("de", "Ein Reinraum der ISO-Klasse 5 mit Elektronenstrahllithografie."),
        "DE",
        proto::AccessMode::Excellence,
    )
    .await;
    let english = published(
        &mut client,
        "Cleanroom bay 2",
        ("en", "An ISO 5 cleanroom for photolithography and etching."),
        "BE",
        proto::AccessMode::Wide,
    )
    .await;
    let neutrons = published(
        &mut client,
        "SANS instrument",
        ("fr", "Diffusion de neutrons aux petits angles pour la matière molle."),
        "FR",
        proto::AccessMode::Excellence,
    )
    .await;
    let draft = create_installation_from(&mut client, |installation| proto::Installation {
        name: "Draft cleanroom".into(),
        ..installation
    })
    .await;

    let cleanrooms = search_until(&mut client, &query("cleanroom"), |response| response.hits.len() >= 2).await;
    let found = ids(&cleanrooms);
    assert!(found.contains(&german.id) && found.contains(&english.id), "{found:?}");
    assert!(!found.contains(&draft.id), "drafts are not searched");
    assert!(!found.contains(&neutrons.id));
    let reinraum = search_until(&mut client, &query("Reinräume"), |response| response.hits.len() >= 2).await;
    assert_eq!(
        ids(&reinraum).len(),
        2,
        "a German plural finds the English cleanroom too"
    );

    let in_belgium = search_until(
        &mut client,
        &proto::SearchInstallationsRequest {
            countries: vec!["be".into()],
            ..query("cleanroom")
        },
        |response| !response.hits.is_empty(),
    )
    .await;
    assert_eq!(ids(&in_belgium), std::slice::from_ref(&english.id));
    let everything = search_until(&mut client, &query(""), |response| response.total_hits == 3).await;
    let countries = everything
        .facets
        .iter()
        .find(|facet| facet.field == "countries")
        .expect("country facet");
    assert_eq!(countries.counts.len(), 3);
    let modes = everything
        .facets
        .iter()
        .find(|facet| facet.field == "access_modes")
        .expect("mode facet");
    assert_eq!(modes.counts[0].value, "ACCESS_MODE_EXCELLENCE");
    assert_eq!(modes.counts[0].count, 2);
    let excellence = search_until(
        &mut client,
        &proto::SearchInstallationsRequest {
            access_modes: vec![proto::AccessMode::Excellence as i32],
            ..query("")
        },
        |response| response.total_hits == 2,
    )
    .await;
    assert!(!ids(&excellence).contains(&english.id));

    // Renaming is searchable once the index has followed the outbox.
    client
        .update_installation(with_token(
            proto::UpdateInstallationRequest {
                installation: Some(proto::Installation {
                    id: neutrons.id.clone(),
                    name: "Kleinwinkel-Neutronenstreuung Zephyr".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["name".into()],
                }),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("renamed");
    let renamed = search_until(&mut client, &query("zephyr"), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&renamed), std::slice::from_ref(&neutrons.id));
}

async fn hits_carry_their_next_free_window_and_page_by_cursor(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let mut created = Vec::new();
    for index in 0..5 {
        let installation = published(
            &mut client,
            &format!("Wind tunnel {index}"),
            ("en", "A low-speed wind tunnel for drones."),
            "NL",
            proto::AccessMode::Excellence,
        )
        .await;
        created.push(installation.id);
    }
    let soon = add_window(&mut client, &created[0], (day(2), day(9)), 5)
        .await
        .expect("window");
    add_window(&mut client, &created[1], (day(40), day(50)), 5)
        .await
        .expect("window");

    let free_soon = search_until(
        &mut client,
        &proto::SearchInstallationsRequest {
            free_within_days: 30,
            ..query("wind tunnel")
        },
        |response| !response.hits.is_empty(),
    )
    .await;
    assert_eq!(ids(&free_soon), std::slice::from_ref(&created[0]));
    let next = free_soon.hits[0].next_free_window.as_ref().expect("next window");
    assert_eq!((next.window_id.as_str(), next.free_units), (soon.id.as_str(), 5));

    let mut request = proto::SearchInstallationsRequest {
        page_size: 2,
        ..query("wind tunnel")
    };
    let first = search_until(&mut client, &request, |response| response.total_hits == 5).await;
    let mut seen = ids(&first);
    request.page_token = first.next_page_token;
    while !request.page_token.is_empty() {
        let page = client
            .search_installations(request.clone())
            .await
            .expect("next page")
            .into_inner();
        seen.extend(ids(&page));
        request.page_token = page.next_page_token;
    }
    seen.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(seen, expected, "pages cover every hit once");

    let token = search_until(
        &mut client,
        &proto::SearchInstallationsRequest {
            page_size: 1,
            ..query("wind")
        },
        |response| !response.next_page_token.is_empty(),
    )
    .await
    .next_page_token;
    let reused = client
        .search_installations(proto::SearchInstallationsRequest {
            page_token: token,
            ..query("drones")
        })
        .await
        .expect_err("a token of another query");
    assert_eq!(violated_fields(&reused), ["page_token"]);
}

async fn bad_searches_name_every_field(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let status = client
        .search_installations(proto::SearchInstallationsRequest {
            query: "x".repeat(501),
            page_size: 101,
            countries: vec!["XX".into()],
            access_modes: vec![99],
            trl: 12,
            free_within_days: -1,
            ..Default::default()
        })
        .await
        .expect_err("bad search");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "query",
            "countries[0]",
            "access_modes[0]",
            "trl",
            "free_within_days",
            "page_size"
        ]
    );
}

backend_tests!(
    finds_published_installations_across_languages,
    hits_carry_their_next_free_window_and_page_by_cursor,
    bad_searches_name_every_field
);

/// A registry on `url` until the returned token is cancelled.
async fn start_on(
    url: &rti_platform::db::DatabaseUrl,
) -> (
    Channel,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let config = rti_platform::server::ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        url.clone(),
        rti_platform::testing::test_auth(),
    );
    let app = rti_registry::App::build(config).await.expect("the registry starts");
    let address = app.local_addr();
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { app.run_until(stop).await.expect("clean stop") }
    });
    let channel = rti_platform::testing::connect(address).await;
    (channel, stop, running)
}

async fn the_index_resumes_after_a_restart_and_is_rebuilt_when_stale(backend: Backend) {
    let Some(database) = rti_platform::testing::TestDatabase::create(backend).await else {
        return;
    };
    let (channel, stop, running) = start_on(&database.url).await;
    let mut client = RegistryServiceClient::new(channel);
    let tunnel = published(
        &mut client,
        "Zephyr wind tunnel",
        ("en", "A closed-circuit wind tunnel."),
        "DK",
        proto::AccessMode::Excellence,
    )
    .await;
    search_until(&mut client, &query("zephyr"), |response| !response.hits.is_empty()).await;
    stop.cancel();
    running.await.expect("stopped");

    // Searchable at once after a restart: the index resumed from its cursor (SQLite) or was
    // rebuilt before the port served (PostgreSQL, where it lives in memory).
    let (channel, stop, running) = start_on(&database.url).await;
    let mut client = RegistryServiceClient::new(channel);
    let found = client
        .search_installations(query("zephyr"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(ids(&found), std::slice::from_ref(&tunnel.id));
    stop.cancel();
    running.await.expect("stopped");

    // An index left beside a database that is not the one it was built from is rebuilt.
    let Some(path) = database.url.sqlite_path() else {
        return;
    };
    assert!(
        path.with_extension("search-index").is_dir(),
        "the index lives beside the database"
    );
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if std::path::Path::new(&file).exists() {
            std::fs::remove_file(&file).expect("remove the database");
        }
    }
    let (channel, stop, running) = start_on(&database.url).await;
    let mut client = RegistryServiceClient::new(channel);
    let found = client
        .search_installations(query("zephyr"))
        .await
        .expect("search")
        .into_inner();
    assert!(
        found.hits.is_empty(),
        "the stale index was rebuilt from the new, empty store"
    );
    stop.cancel();
    running.await.expect("stopped");
}

backend_tests!(the_index_resumes_after_a_restart_and_is_rebuilt_when_stale);

/// A poison event (its payload no longer decodes) that says an installation was updated: the
/// index still takes the installation from the store, and goes on with the events after it.
async fn a_poison_event_still_indexes_its_record_and_the_index_goes_on(backend: Backend) {
    let Some(database) = rti_platform::testing::TestDatabase::create(backend).await else {
        return;
    };
    let (channel, stop, running) = start_on(&database.url).await;
    let mut client = RegistryServiceClient::new(channel);
    let beamline = published(
        &mut client,
        "Koala beamline",
        ("en", "A soft X-ray beamline."),
        "AU",
        proto::AccessMode::Excellence,
    )
    .await;
    search_until(&mut client, &query("koala"), |response| !response.hits.is_empty()).await;
    // Renamed behind the API's back, its event poisoned: only the stored type and aggregate say
    // what changed.
    sqlx::any::install_default_drivers();
    let store = sqlx::AnyPool::connect(database.url.as_str()).await.expect("connect");
    sqlx::query("UPDATE installations SET name = 'Quokka beamline' WHERE id = $1")
        .bind(&beamline.id)
        .execute(&store)
        .await
        .expect("rename in the store");
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, occurred_at, payload) \
         VALUES ('poison-1', 'rti.registry.v1.InstallationUpdated', $1, 0, $2)",
    )
    .bind(&beamline.id)
    .bind(vec![0xff_u8; 8])
    .execute(&store)
    .await
    .expect("insert the poison event");
    let found = search_until(&mut client, &query("quokka"), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&found), std::slice::from_ref(&beamline.id));

    let later = published(
        &mut client,
        "Wombat cleanroom",
        ("en", "A cleanroom for lithography."),
        "AT",
        proto::AccessMode::Excellence,
    )
    .await;
    let found = search_until(&mut client, &query("wombat"), |response| !response.hits.is_empty()).await;
    assert_eq!(ids(&found), std::slice::from_ref(&later.id));
    stop.cancel();
    running.await.expect("stopped");
}

backend_tests!(a_poison_event_still_indexes_its_record_and_the_index_goes_on);
