//! The registry store's contract, called directly (no gRPC), on SQLite and on PostgreSQL: what
//! goes in comes out, lists page by id, updates run under the row lock with their event, and
//! idempotency keys replay or refuse.

use rti_platform::backend_tests;
use rti_platform::db::{Backend, Database};
use rti_platform::error::Violations;
use rti_platform::events::Outbox;
use rti_platform::pagination::PageRequest;
use rti_platform::store::IdempotencyKey;
use rti_platform::testing::TestDatabase;
use rti_registry::domain::{
    AccessMode, AccessType, CriticalTechnologyArea, EsfriStatus, InfrastructureFields, InfrastructureKind,
    InstallationFields, LegalForm, LocalizedText, ProviderFields, RegistryError, ScientificDomain, Structure, UnitKind,
};
use rti_registry::store::RegistryStore;

async fn open(backend: Backend) -> Option<(TestDatabase, RegistryStore, Outbox)> {
    let test_database = TestDatabase::create(backend).await?;
    let database = Database::open(&test_database.url, rti_registry::app::SPEC.migrations, 4)
        .await
        .expect("opens");
    let outbox = Outbox::new(database.clone(), "registry");
    Some((test_database, RegistryStore::new(database, outbox.clone()), outbox))
}

fn provider_fields(name: &str) -> ProviderFields {
    ProviderFields {
        name: name.into(),
        country: "FI".into(),
        website: String::new(),
    }
}

fn infrastructure_fields(name: &str) -> InfrastructureFields {
    InfrastructureFields {
        name: name.into(),
        acronym: "X".into(),
        description: "A test bed".into(),
        kind: Some(InfrastructureKind::Technology),
        structure: Some(Structure::Distributed),
        countries: vec!["FI".into(), "EE".into()],
        website: "https://example.org".into(),
        esfri_status: Some(EsfriStatus::Project),
        legal_form: Some(LegalForm::Rto),
        access_policy_uri: "https://example.org/access".into(),
    }
}

fn key(request_id: &str, body: &[u8]) -> IdempotencyKey {
    IdempotencyKey {
        scope: "CreateProvider:tester".into(),
        field: "request_id",
        key: request_id.into(),
        request_hash: rti_platform::idempotency::request_hash(body),
    }
}

async fn what_goes_in_comes_out(backend: Backend) {
    let Some((_guard, store, outbox)) = open(backend).await else {
        return;
    };
    let provider = store
        .create_provider(provider_fields("Nordic Test Beds"), None)
        .await
        .expect("provider");
    assert_eq!(store.get_provider(&provider.id).await.expect("read"), provider);

    let infrastructure = store
        .create_infrastructure(&provider.id, infrastructure_fields("Baltic 5G Test Bed"), None)
        .await
        .expect("infra");
    assert_eq!(
        store.get_infrastructure(&infrastructure.id).await.expect("read"),
        infrastructure
    );

    let fields = InstallationFields {
        name: "Radio lab".into(),
        countries: vec!["EE".into()],
        access_types: vec![AccessType::Remote, AccessType::Virtual],
        access_modes: vec![AccessMode::Market, AccessMode::Excellence],
        unit_kind: Some(UnitKind::Other),
        unit_description: "one drive test, with a comma, and \"quotes\"".into(),
        annual_capacity_units: 120,
        trl: Some((4, 7)),
        typical_lead_time_days: 21,
        scientific_domains: vec![ScientificDomain::DataComputingDigital],
        techniques: vec!["5G standalone core, slicing".into(), "drive tests".into()],
        critical_technology_areas: vec![CriticalTechnologyArea::ConnectivityNavigationDigital],
        dual_use_categories: vec![5, 4],
        descriptions: vec![
            LocalizedText {
                language: "en".into(),
                text: "A radio lab.".into(),
            },
            LocalizedText {
                language: "et".into(),
                text: "Raadiolabor.".into(),
            },
        ],
    };
    let installation = store
        .create_installation(&infrastructure.id, fields, None)
        .await
        .expect("installation");
    assert_eq!(
        store.get_installation(&installation.id).await.expect("read"),
        installation
    );

    let types: Vec<_> = numbered_events(&outbox, 3)
        .await
        .into_iter()
        .map(|event| event.r#type)
        .collect();
    assert_eq!(
        types,
        [
            "rti.registry.v1.ProviderCreated",
            "rti.registry.v1.InfrastructureCreated",
            "rti.registry.v1.InstallationCreated"
        ]
    );
}

async fn a_missing_parent_is_not_found_and_nothing_is_written(backend: Backend) {
    let Some((_guard, store, outbox)) = open(backend).await else {
        return;
    };
    let missing = rti_platform::ids::new_id();
    let error = store
        .create_infrastructure(&missing, infrastructure_fields("Orphan"), None)
        .await
        .expect_err("no parent");
    assert!(
        matches!(error, RegistryError::NotFound { entity: "provider", .. }),
        "{error:?}"
    );
    assert!(outbox.read_after(0, 10).await.expect("events").is_empty());
}

async fn lists_page_by_id_and_filter_by_parent(backend: Backend) {
    let Some((_guard, store, _outbox)) = open(backend).await else {
        return;
    };
    let first = store
        .create_provider(provider_fields("First"), None)
        .await
        .expect("provider");
    let second = store
        .create_provider(provider_fields("Second"), None)
        .await
        .expect("provider");
    let mut created = Vec::new();
    for index in 0..5 {
        created.push(
            store
                .create_infrastructure(&first.id, infrastructure_fields(&format!("F{index}")), None)
                .await
                .expect("i")
                .id,
        );
        store
            .create_infrastructure(&second.id, infrastructure_fields(&format!("S{index}")), None)
            .await
            .expect("i");
    }
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let mut violations = Violations::new();
        let page = PageRequest::parse(2, &token, &[&first.id], &mut violations);
        assert!(violations.is_empty());
        let (infrastructures, next) = store.list_infrastructures(&first.id, &page).await.expect("page");
        assert!(infrastructures.len() <= 2);
        listed.extend(infrastructures.into_iter().map(|infrastructure| infrastructure.id));
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(listed, created);
    let (everything, _) = store
        .list_infrastructures("", &PageRequest::parse(500, "", &[""], &mut Violations::new()))
        .await
        .expect("all");
    assert_eq!(everything.len(), 10);
}

async fn updates_apply_under_the_lock_and_record_their_event(backend: Backend) {
    let Some((_guard, store, outbox)) = open(backend).await else {
        return;
    };
    let provider = store
        .create_provider(provider_fields("Before"), None)
        .await
        .expect("provider");
    let mask = vec!["name".to_owned()];
    let updated = store
        .update_provider(&provider.id, &mask, |fields| {
            fields.name = "After".into();
            Ok(())
        })
        .await
        .expect("update");
    assert_eq!(store.get_provider(&provider.id).await.expect("read"), updated);
    assert!(updated.updated_at >= provider.updated_at);

    let refused = store
        .update_provider(&provider.id, &mask, |_| {
            Err(RegistryError::PermissionDenied("no".into()))
        })
        .await
        .expect_err("the closure refuses");
    assert!(matches!(refused, RegistryError::PermissionDenied(_)));
    assert_eq!(
        store.get_provider(&provider.id).await.expect("read").fields.name,
        "After",
        "a refused update writes nothing"
    );
    assert_eq!(numbered_events(&outbox, 2).await.len(), 2, "created and one update");
}

async fn idempotency_keys_replay_the_first_create_or_refuse_another_body(backend: Backend) {
    let Some((_guard, store, outbox)) = open(backend).await else {
        return;
    };
    let first = store
        .create_provider(provider_fields("Once"), Some(&key("k-1", b"once")))
        .await
        .expect("first");
    let replay = store
        .create_provider(provider_fields("Once"), Some(&key("k-1", b"once")))
        .await
        .expect("replay");
    assert_eq!(first, replay);
    let mismatch = store
        .create_provider(provider_fields("Other"), Some(&key("k-1", b"other")))
        .await
        .expect_err("mismatch");
    assert!(matches!(mismatch, RegistryError::KeyReused(_)));
    assert_eq!(numbered_events(&outbox, 1).await.len(), 1, "one provider, one event");
}

/// The outbox's events once at least `count` are numbered: on PostgreSQL events are numbered,
/// and readable, a moment after their commit.
async fn numbered_events(outbox: &Outbox, count: usize) -> Vec<rti_proto::common::Event> {
    rti_platform::testing::eventually("the events numbered", || async {
        let events = outbox.read_after(0, 10).await.expect("events");
        (events.len() >= count).then_some(events)
    })
    .await
}

backend_tests!(
    what_goes_in_comes_out,
    a_missing_parent_is_not_found_and_nothing_is_written,
    lists_page_by_id_and_filter_by_parent,
    updates_apply_under_the_lock_and_record_their_event,
    idempotency_keys_replay_the_first_create_or_refuse_another_body,
);
