//! Writing and reading the catalogue through the gateway, with the edge's authentication.

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::{spawn_suite, with_token};
use tonic::Code;

fn infrastructure(provider_id: &str) -> proto::Infrastructure {
    proto::Infrastructure {
        provider_id: provider_id.into(),
        name: "Kestrel Neutron Source".into(),
        kind: proto::InfrastructureKind::Research as i32,
        structure: proto::InfrastructureStructure::SingleSited as i32,
        countries: vec!["FR".into()],
        ..Default::default()
    }
}

async fn an_admin_creates_and_anyone_reads_back_an_infrastructure(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut client = RegistryServiceClient::new(suite.channel.clone());
    let admin = token(Role::Admin);
    let provider = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(proto::Provider {
                    name: "Kestrel".into(),
                    country: "FR".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    let request = proto::CreateInfrastructureRequest {
        infrastructure: Some(infrastructure(&provider.id)),
        ..Default::default()
    };

    let anonymous = client
        .create_infrastructure(request.clone())
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let funder = client
        .create_infrastructure(with_token(request.clone(), &token(Role::Funder)))
        .await
        .expect_err("funder");
    assert_eq!(funder.code(), Code::PermissionDenied);

    let created = client
        .create_infrastructure(with_token(request, &admin))
        .await
        .expect("admin")
        .into_inner();
    let read = client
        .get_infrastructure(proto::GetInfrastructureRequest { id: created.id.clone() })
        .await
        .expect("anonymous read")
        .into_inner();
    assert_eq!(read, created);
}

backend_tests!(an_admin_creates_and_anyone_reads_back_an_infrastructure);
