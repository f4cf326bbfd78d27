//! The audit log of writes through the gateway, on SQLite and PostgreSQL: writes appended (who,
//! what, which ids, outcome, request id, trace id), reads and anonymous calls not; the chain
//! verifies, and a changed, deleted or moved entry is named; the export is for admins only; a
//! failed append is counted and leaves the write's answer as the service gave it.

use rti_gateway::audit::{AuditEntry, AuditStore, ChainBreak, VerifyError, verify_export, verify_store};
use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::{Backend, DatabaseUrl};
use rti_platform::testing::{http_get, token, with_token};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use sqlx::Connection;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::ObservedGateway;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn create_provider(
    registry: &mut RegistryServiceClient<Channel>,
    name: &str,
    role: Role,
) -> Result<proto::Provider, tonic::Status> {
    let mut request = with_token(
        proto::CreateProviderRequest {
            provider: Some(proto::Provider {
                name: name.into(),
                country: "NL".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        &token(role),
    );
    request
        .metadata_mut()
        .insert("x-request-id", format!("create-{name}").parse().expect("ASCII"));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01").parse().expect("ASCII"),
    );
    registry.create_provider(request).await.map(tonic::Response::into_inner)
}

async fn entries(url: &DatabaseUrl) -> Vec<AuditEntry> {
    let store = AuditStore::open(url).await.expect("the audit store opens");
    let entries = store.entries_after(0, 1000).await.expect("entries");
    store.close().await;
    entries
}

async fn verify(url: &DatabaseUrl) -> Result<u64, VerifyError> {
    let store = AuditStore::open(url).await.expect("the audit store opens");
    let verified = verify_store(&store, &[]).await;
    store.close().await;
    verified.map(|verified| verified.entries)
}

async fn appends_writes_but_not_reads_nor_anonymous_calls(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    let mut registry = observed.registry();
    let created = create_provider(&mut registry, "audited", Role::Admin)
        .await
        .expect("admins create providers");
    registry
        .get_provider(proto::GetProviderRequest { id: created.id.clone() })
        .await
        .expect("a read");
    registry
        .list_providers(proto::ListProvidersRequest::default())
        .await
        .expect("a read");
    let infrastructure = registry
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(proto::Infrastructure {
                    provider_id: created.id.clone(),
                    name: "Audited Synchrotron".into(),
                    acronym: "AUD".into(),
                    kind: proto::InfrastructureKind::Research as i32,
                    structure: proto::InfrastructureStructure::SingleSited as i32,
                    countries: vec!["DE".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("admins create infrastructures")
        .into_inner();
    let refused = create_provider(&mut registry, "refused", Role::Funder)
        .await
        .expect_err("funders cannot create providers");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let anonymous = registry
        .create_provider(proto::CreateProviderRequest::default())
        .await
        .expect_err("a write needs a token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Appended before the calls' answers: no waiting.
    let entries = entries(&observed.audit).await;
    let summary: Vec<(i64, &str, i32)> = entries
        .iter()
        .map(|entry| (entry.sequence, entry.draft.rpc.as_str(), entry.draft.outcome))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "rti.registry.v1.RegistryService/CreateProvider", 0),
            (2, "rti.registry.v1.RegistryService/CreateInfrastructure", 0),
            (
                3,
                "rti.registry.v1.RegistryService/CreateProvider",
                i32::from(Code::PermissionDenied)
            ),
        ]
    );
    let first = &entries[0].draft;
    assert_eq!(first.subject.as_deref(), Some("test-admin"));
    assert_eq!(first.roles, ["admin"]);
    assert_eq!(first.protocol, "grpc");
    assert_eq!(first.request_id, "create-audited");
    assert_eq!(first.trace_id.as_deref(), Some(TRACE_ID));
    let ids = |entry: &AuditEntry| -> Vec<(String, String)> {
        entry
            .draft
            .resource_ids
            .iter()
            .map(|resource| (resource.field.clone(), resource.id.clone()))
            .collect()
    };
    assert_eq!(ids(&entries[0]), [("response.id".to_owned(), created.id.clone())]);
    assert_eq!(
        ids(&entries[1]),
        [
            ("infrastructure.provider_id".to_owned(), created.id.clone()),
            ("response.id".to_owned(), infrastructure.id.clone()),
        ]
    );
    let refused_entry = &entries[2].draft;
    assert_eq!(refused_entry.subject.as_deref(), Some("test-funder"));
    assert_eq!(refused_entry.roles, ["funder"]);
    assert!(ids(&entries[2]).is_empty());

    assert_eq!(verify(&observed.audit).await.expect("the chain is intact"), 3);
}

/// Runs `statement` on the audit database, as someone with access to it might.
async fn tamper(url: &DatabaseUrl, statements: &[&str]) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url.as_str())
        .await
        .expect("connect to the audit database");
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    let _ = connection.close().await;
}

fn broken(outcome: Result<u64, VerifyError>) -> ChainBreak {
    match outcome {
        Err(VerifyError::Broken(chain_break)) => chain_break,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

async fn a_changed_moved_or_deleted_entry_is_named(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    let mut registry = observed.registry();
    for name in ["one", "two", "three", "four"] {
        create_provider(&mut registry, name, Role::Admin)
            .await
            .expect("admins create providers");
    }
    let url = &observed.audit;
    assert_eq!(verify(url).await.expect("intact"), 4);

    tamper(url, &["UPDATE audit_entries SET outcome = 7 WHERE sequence = 2"]).await;
    assert_eq!(broken(verify(url).await), ChainBreak::Changed { sequence: 2 });
    tamper(url, &["UPDATE audit_entries SET outcome = 0 WHERE sequence = 2"]).await;
    assert_eq!(verify(url).await.expect("restored"), 4);

    // Two entries swap places.
    let swap = [
        "UPDATE audit_entries SET sequence = -3 WHERE sequence = 3",
        "UPDATE audit_entries SET sequence = 3 WHERE sequence = 2",
        "UPDATE audit_entries SET sequence = 2 WHERE sequence = -3",
    ];
    tamper(url, &swap).await;
    assert_eq!(broken(verify(url).await), ChainBreak::Changed { sequence: 2 });
    tamper(url, &swap).await;
    assert_eq!(verify(url).await.expect("restored"), 4);

    tamper(url, &["DELETE FROM audit_entries WHERE sequence = 4"]).await;
    assert_eq!(broken(verify(url).await), ChainBreak::Truncated { last: 3, head: 4 });
    tamper(url, &["DELETE FROM audit_entries WHERE sequence = 2"]).await;
    assert_eq!(
        broken(verify(url).await),
        ChainBreak::OutOfSequence { expected: 2, found: 3 }
    );
}

async fn get_audit(observed: &ObservedGateway, query: &str, role: Option<Role>) -> (u16, String) {
    let authorization = role.map(|role| format!("Bearer {}", token(role)));
    let headers: Vec<(&str, &str)> = authorization
        .iter()
        .map(|value| ("authorization", value.as_str()))
        .collect();
    http_get(observed.gateway.address, &format!("/v1/audit{query}"), &headers).await
}

async fn the_export_is_for_admins_and_verifies(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    let mut registry = observed.registry();
    for name in ["one", "two", "three"] {
        create_provider(&mut registry, name, Role::Admin)
            .await
            .expect("admins create providers");
    }

    let (status, body) = get_audit(&observed, "", None).await;
    assert_eq!(status, 401, "{body}");
    for role in [
        Role::Applicant,
        Role::Operator,
        Role::Reviewer,
        Role::Coordinator,
        Role::Funder,
    ] {
        let (status, body) = get_audit(&observed, "", Some(role)).await;
        assert_eq!(status, 403, "{role:?}: {body}");
        assert!(body.contains("PERMISSION_DENIED"), "{body}");
    }

    let (status, export) = get_audit(&observed, "", Some(Role::Admin)).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export.lines().count(), 3, "{export}");
    let verified = verify_export(export.as_bytes(), &[]).expect("the export verifies");
    assert_eq!(verified.entries, 3);

    let (status, later) = get_audit(&observed, "?after=1&limit=1", Some(Role::Admin)).await;
    assert_eq!(status, 200, "{later}");
    let only = AuditEntry::from_json_line(later.trim_end()).expect("one entry");
    assert_eq!(only.sequence, 2);
    let (status, body) = get_audit(&observed, "?after=yesterday", Some(Role::Admin)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("after"), "{body}");

    // The export's lines, changed, dropped or swapped, no longer verify.
    let lines: Vec<&str> = export.lines().collect();
    let changed = export.replacen(r#""outcome":"OK""#, r#""outcome":"NOT_FOUND""#, 1);
    assert!(matches!(
        verify_export(changed.as_bytes(), &[]),
        Err(VerifyError::Broken(ChainBreak::Changed { sequence: 1 }))
    ));
    let dropped = [lines[0], lines[2]].join("\n");
    assert!(matches!(
        verify_export(dropped.as_bytes(), &[]),
        Err(VerifyError::Broken(ChainBreak::OutOfSequence { expected: 2, found: 3 }))
    ));
    let swapped = [lines[0], lines[2], lines[1]].join("\n");
    assert!(matches!(
        verify_export(swapped.as_bytes(), &[]),
        Err(VerifyError::Broken(ChainBreak::OutOfSequence { expected: 2, found: 3 }))
    ));
}

async fn a_failed_append_is_counted_and_the_write_still_answers(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    let mut registry = observed.registry();
    // The log's store breaks under the gateway.
    tamper(&observed.audit, &["DROP TABLE audit_head"]).await;
    let created = create_provider(&mut registry, "unlogged", Role::Admin)
        .await
        .expect("the service acted: its answer stands");
    assert!(!created.id.is_empty());
    let metrics = observed.scrape().await;
    assert_eq!(
        rti_platform::testing::metric_value(&metrics, "rti_gateway_audit_failures_total", &[]),
        Some(1.0),
        "{metrics}"
    );
}

/// A write the rate limit turns away never reached a service: counted in the metrics, not
/// audited, so a flood of refused writes cannot become a flood of audit appends.
async fn a_write_turned_away_by_the_rate_limit_is_counted_not_audited(backend: Backend) {
    let edge = rti_gateway::EdgeLimits {
        rate_limits: vec!["admin=1/h:1".parse().expect("a setting")],
        ..rti_gateway::EdgeLimits::default()
    };
    let Some(observed) = ObservedGateway::start_guarded(backend, edge).await else {
        return;
    };
    let mut registry = observed.registry();
    create_provider(&mut registry, "first", Role::Admin)
        .await
        .expect("within the rate");
    let refused = create_provider(&mut registry, "second", Role::Admin)
        .await
        .expect_err("over the rate");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    let outcomes: Vec<i32> = entries(&observed.audit)
        .await
        .into_iter()
        .map(|entry| entry.draft.outcome)
        .collect();
    assert_eq!(outcomes, [i32::from(Code::Ok)], "only the write that went through");
    let text = observed.scrape().await;
    assert!(
        text.lines().any(|line| line.starts_with("rti_gateway_requests_total{")
            && line.contains("method=\"CreateProvider\"")
            && line.contains("code=\"RESOURCE_EXHAUSTED\"")
            && line.ends_with(" 1")),
        "{text}"
    );
}

backend_tests!(
    a_write_turned_away_by_the_rate_limit_is_counted_not_audited,
    a_failed_append_is_counted_and_the_write_still_answers,
    appends_writes_but_not_reads_nor_anonymous_calls,
    a_changed_moved_or_deleted_entry_is_named,
    the_export_is_for_admins_and_verifies,
);
