//! The gateway's audit log and metrics over the whole suite: writes to two services appended to
//! one chain with who made them and the ids they made, reads not; the admin's export verifies;
//! the metrics count the same calls by service, method and code.

use rti_gateway::audit::{AuditStore, verify_export, verify_store};
use rti_platform::auth::{Claims, Role};
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{expect_ok, http_get, metric_value, sign, token};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::{spawn_suite, with_token};

async fn writes_to_every_service_are_audited_in_one_chain(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut registry = RegistryServiceClient::new(suite.channel.clone());
    let provider = expect_ok(
        registry
            .create_provider(with_token(
                registry::CreateProviderRequest {
                    provider: Some(registry::Provider {
                        name: "Audited Provider".into(),
                        country: "DE".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &token(Role::Admin),
            ))
            .await,
        "a provider",
    );
    expect_ok(
        registry
            .get_provider(registry::GetProviderRequest {
                id: provider.id.clone(),
            })
            .await,
        "a read",
    );
    let organisation_id = rti_platform::ids::new_id();
    let mut claims = Claims::new(
        "applicant-audited",
        &[Role::Applicant],
        std::time::Duration::from_secs(3600),
    );
    claims.org = Some(organisation_id.clone());
    let applicant = sign(claims);
    let mut intake = IntakeServiceClient::new(suite.channel.clone());
    let organisation = expect_ok(
        intake
            .register_organisation(with_token(
                intake::RegisterOrganisationRequest {
                    organisation: Some(intake::Organisation {
                        legal_name: "Institut für Audits".into(),
                        country: "AT".into(),
                        kind: intake::OrganisationKind::ResearchOrganisation as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &applicant,
            ))
            .await,
        "an organisation",
    );

    let store = AuditStore::open(&suite.audit).await.expect("the audit log opens");
    let entries = store.entries_after(0, 100).await.expect("entries");
    let written: Vec<(&str, Option<&str>, i32)> = entries
        .iter()
        .map(|entry| {
            (
                entry.draft.rpc.as_str(),
                entry.draft.subject.as_deref(),
                entry.draft.outcome,
            )
        })
        .collect();
    assert_eq!(
        written,
        [
            ("rti.registry.v1.RegistryService/CreateProvider", Some("test-admin"), 0),
            (
                "rti.intake.v1.IntakeService/RegisterOrganisation",
                Some("applicant-audited"),
                0
            ),
        ]
    );
    let returned = |index: usize| {
        entries[index]
            .draft
            .resource_ids
            .iter()
            .find(|resource| resource.field == "response.id")
            .map(|resource| resource.id.clone())
    };
    assert_eq!(returned(0), Some(provider.id));
    assert_eq!(returned(1), Some(organisation.id));
    assert_eq!(verify_store(&store, &[]).await.expect("intact").entries, 2);
    store.close().await;

    let admin = format!("Bearer {}", token(Role::Admin));
    let (status, export) = http_get(suite.gateway, "/v1/audit", &[("authorization", &admin)]).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(
        verify_export(export.as_bytes(), &[])
            .expect("the export verifies")
            .entries,
        2
    );

    let (status, metrics) = http_get(suite.metrics, "/metrics", &[]).await;
    assert_eq!(status, 200, "{metrics}");
    let calls = |service, method| {
        metric_value(
            &metrics,
            "rti_gateway_requests_total",
            &[
                ("protocol", "grpc"),
                ("service", service),
                ("method", method),
                ("code", "OK"),
            ],
        )
    };
    assert_eq!(calls("rti.registry.v1.RegistryService", "GetProvider"), Some(1.0));
    assert_eq!(calls("rti.intake.v1.IntakeService", "RegisterOrganisation"), Some(1.0));
}

backend_tests!(writes_to_every_service_are_audited_in_one_chain);
