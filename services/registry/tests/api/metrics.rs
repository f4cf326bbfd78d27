//! The registry's own RPC metrics on its metrics port (DESIGN §7): calls counted by method and
//! gRPC code once they end, latency in cumulative buckets, and no port without `metrics_listen`.

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{cumulative_histogram_count, http_get, metric_value, token};
use rti_proto::registry as proto;
use tonic::Code;

use crate::helpers::{provider, spawn_service, spawn_service_with, with_token};

const SERVICE: (&str, &str) = ("service", "rti.registry.v1.RegistryService");

async fn counts_calls_by_method_and_code_on_the_metrics_port(backend: Backend) {
    let Some(service) = spawn_service_with(backend, |config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await
    else {
        return;
    };
    let metrics = service.metrics.expect("metrics were asked for");
    let mut client = service.client();
    let created = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider("Metered Lab")),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("create provider")
        .into_inner();
    client
        .get_provider(proto::GetProviderRequest { id: created.id })
        .await
        .expect("get provider");
    let missing = client
        .get_provider(proto::GetProviderRequest {
            id: rti_platform::ids::new_id(),
        })
        .await
        .expect_err("no such provider");
    assert_eq!(missing.code(), Code::NotFound);
    // Refused before the handler: still counted, with its code.
    let refused = client
        .create_provider(with_token(
            proto::CreateProviderRequest::default(),
            &token(Role::Funder),
        ))
        .await
        .expect_err("funders cannot create providers");
    assert_eq!(refused.code(), Code::PermissionDenied);

    let (status, text) = http_get(metrics, "/metrics", &[]).await;
    assert_eq!(status, 200, "{text}");
    let calls = |method, code| {
        metric_value(
            &text,
            "rti_rpc_requests_total",
            &[SERVICE, ("method", method), ("code", code)],
        )
    };
    assert_eq!(calls("CreateProvider", "OK"), Some(1.0), "{text}");
    assert_eq!(calls("CreateProvider", "PERMISSION_DENIED"), Some(1.0), "{text}");
    assert_eq!(calls("GetProvider", "OK"), Some(1.0), "{text}");
    assert_eq!(calls("GetProvider", "NOT_FOUND"), Some(1.0), "{text}");
    let latency = [SERVICE, ("method", "GetProvider")];
    assert_eq!(
        cumulative_histogram_count(&text, "rti_rpc_request_duration_seconds", &latency),
        2.0
    );

    let (status, _) = http_get(metrics, "/elsewhere", &[]).await;
    assert_eq!(status, 404);
}

async fn serves_no_metrics_unless_asked(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    assert_eq!(service.metrics, None);
}

backend_tests!(
    counts_calls_by_method_and_code_on_the_metrics_port,
    serves_no_metrics_unless_asked
);
