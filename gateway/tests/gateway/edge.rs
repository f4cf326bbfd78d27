//! Authentication at the edge (DESIGN §4). The registry package points at an address where
//! nothing listens, so UNAUTHENTICATED or PERMISSION_DENIED can only come from the gateway, and
//! UNAVAILABLE proves a call got past it.

use rti_platform::auth::Role;
use rti_platform::testing::{token, with_token};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateInfrastructureRequest, GetInfrastructureRequest};
use tonic::Code;

use crate::helpers::{Nowhere, TestGateway, Upstream, all_to};

/// A gateway whose upstreams refuse connections; keep the `Nowhere` alive while testing.
async fn gateway_with_registry_nowhere() -> (TestGateway, Nowhere) {
    let nowhere = Nowhere::reserve();
    (TestGateway::start(all_to(&nowhere.uri())).await, nowhere)
}

async fn create(gateway: &TestGateway, request: tonic::Request<CreateInfrastructureRequest>) -> tonic::Status {
    let mut client = RegistryServiceClient::new(gateway.channel());
    client
        .create_infrastructure(request)
        .await
        .expect_err("never succeeds here")
}

#[tokio::test]
async fn a_role_method_without_a_token_stops_at_the_edge() {
    let (gateway, _nowhere) = gateway_with_registry_nowhere().await;
    let status = create(&gateway, tonic::Request::new(CreateInfrastructureRequest::default())).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("needs a bearer token"), "{status:?}");
}

#[tokio::test]
async fn an_invalid_token_is_unauthenticated_even_for_a_public_method() {
    let (gateway, _nowhere) = gateway_with_registry_nowhere().await;
    let forged = with_token(CreateInfrastructureRequest::default(), "not.a.jwt");
    assert_eq!(create(&gateway, forged).await.code(), Code::Unauthenticated);

    let claims = rti_platform::auth::Claims::new("intruder", &[Role::Admin], std::time::Duration::from_secs(60));
    let signed_elsewhere =
        rti_platform::auth::mint_hs256("another-secret-of-at-least-32-bytes!!", &claims).expect("signs");
    let mut client = RegistryServiceClient::new(gateway.channel());
    let public = client
        .get_infrastructure(with_token(
            GetInfrastructureRequest { id: "infra-1".into() },
            &signed_elsewhere,
        ))
        .await
        .expect_err("rejected");
    assert_eq!(public.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_token_without_the_role_is_permission_denied() {
    let (gateway, _nowhere) = gateway_with_registry_nowhere().await;
    let status = create(
        &gateway,
        with_token(CreateInfrastructureRequest::default(), &token(Role::Funder)),
    )
    .await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

#[tokio::test]
async fn allowed_calls_pass_the_edge() {
    let (gateway, _nowhere) = gateway_with_registry_nowhere().await;
    let admin = create(
        &gateway,
        with_token(CreateInfrastructureRequest::default(), &token(Role::Admin)),
    )
    .await;
    assert_eq!(admin.code(), Code::Unavailable, "reached for the upstream: {admin:?}");

    let mut client = RegistryServiceClient::new(gateway.channel());
    let anonymous = client
        .get_infrastructure(GetInfrastructureRequest { id: "infra-1".into() })
        .await
        .expect_err("nothing listens");
    assert_eq!(anonymous.code(), Code::Unavailable, "{anonymous:?}");
}

#[tokio::test]
async fn the_authorization_header_reaches_the_service_unchanged() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let admin = token(Role::Admin);
    let status = create(&gateway, with_token(CreateInfrastructureRequest::default(), &admin)).await;
    assert_eq!(status.code(), Code::Unimplemented, "the upstream answered: {status:?}");
    let seen = upstream.seen("/rti.registry.v1.RegistryService/CreateInfrastructure");
    let authorization = seen[0].get("authorization").expect("forwarded");
    assert_eq!(authorization.to_str().expect("ascii"), format!("Bearer {admin}"));
}
