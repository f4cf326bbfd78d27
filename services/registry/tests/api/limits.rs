//! The service's own limits, without the gateway in front (issue 13, items 3 and 8): a message
//! over the default limit is refused naming it, and connections beyond the cap wait until one
//! closes.

use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{connect, token};
use rti_proto::registry as proto;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{provider, spawn_service, spawn_service_with, with_token};

async fn a_message_over_the_limit_is_refused_naming_the_limit(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut oversized = provider("Oversized");
    oversized.name = "x".repeat(4 * 1024 * 1024);
    let request = proto::CreateProviderRequest {
        request_id: "provider-1".into(),
        provider: Some(oversized),
    };
    let refused = service
        .client()
        .create_provider(with_token(request, &token(Role::Admin)))
        .await
        .expect_err("over 4 MiB");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("CreateProvider") && refused.message().ends_with("(4 MiB)"),
        "{}",
        refused.message()
    );
}

async fn connections_beyond_the_cap_wait_until_one_closes(backend: Backend) {
    // The test's own channel holds one of the two places.
    let Some(service) = spawn_service_with(backend, |config| config.limits.listener.connection_limit = 2).await else {
        return;
    };
    let address = service.address;
    let idle = tokio::task::spawn_blocking(move || std::net::TcpStream::connect(address).expect("connects"))
        .await
        .expect("connected");
    let check = || async move {
        let channel = connect(address).await;
        HealthClient::new(channel).check(HealthCheckRequest::default()).await
    };
    let waited = tokio::time::timeout(Duration::from_millis(500), check()).await;
    assert!(
        waited.is_err(),
        "a third connection was served beyond the cap of two: {waited:?}"
    );
    drop(idle);
    let served = tokio::time::timeout(Duration::from_secs(10), check())
        .await
        .expect("served once the idle one closed");
    assert!(served.is_ok(), "{served:?}");
}

backend_tests!(
    a_message_over_the_limit_is_refused_naming_the_limit,
    connections_beyond_the_cap_wait_until_one_closes,
);
