//! The gateway's metrics port: calls through the pass-through counted by protocol, service,
//! method and gRPC code once they end (from the trailers, the headers of a trailers-only answer,
//! or the gateway's own refusal), latency in cumulative buckets, unknown methods folded into one
//! label, calls in flight, a call whose client goes away counted as cancelled, and no port
//! unless asked.

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{cumulative_histogram_count, eventually, http_get, metric_value, token, with_token};
use rti_proto::registry as proto;
use tonic::Code;

use crate::helpers::{Nowhere, ObservedGateway, TestGateway, Upstream, all_to, uri_of};

const GRPC: (&str, &str) = ("protocol", "grpc");
const REGISTRY: (&str, &str) = ("service", "rti.registry.v1.RegistryService");

async fn counts_each_call_by_code_when_it_ends(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    let mut registry = observed.registry();
    // OK: a message, then trailers.
    let created = registry
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(proto::Provider {
                    name: "Metered Lab".into(),
                    country: "NL".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("create provider")
        .into_inner();
    registry
        .get_provider(proto::GetProviderRequest { id: created.id })
        .await
        .expect("get provider");
    // NOT_FOUND: a trailers-only answer from the service.
    let missing = registry
        .get_provider(proto::GetProviderRequest {
            id: rti_platform::ids::new_id(),
        })
        .await
        .expect_err("no such provider");
    assert_eq!(missing.code(), Code::NotFound);
    // PERMISSION_DENIED: the gateway's own answer.
    let refused = registry
        .create_provider(with_token(
            proto::CreateProviderRequest::default(),
            &token(Role::Funder),
        ))
        .await
        .expect_err("funders cannot create providers");
    assert_eq!(refused.code(), Code::PermissionDenied);

    let text = observed.scrape().await;
    let calls = |method, code| {
        metric_value(
            &text,
            "rti_gateway_requests_total",
            &[GRPC, REGISTRY, ("method", method), ("code", code)],
        )
    };
    assert_eq!(calls("CreateProvider", "OK"), Some(1.0), "{text}");
    assert_eq!(calls("CreateProvider", "PERMISSION_DENIED"), Some(1.0), "{text}");
    assert_eq!(calls("GetProvider", "OK"), Some(1.0), "{text}");
    assert_eq!(calls("GetProvider", "NOT_FOUND"), Some(1.0), "{text}");

    let latency = [GRPC, REGISTRY, ("method", "GetProvider")];
    assert_eq!(
        cumulative_histogram_count(&text, "rti_gateway_request_duration_seconds", &latency),
        2.0
    );
    assert_eq!(
        metric_value(
            &text,
            "rti_gateway_request_duration_seconds_count",
            &[GRPC, REGISTRY, ("method", "GetProvider")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, "rti_gateway_audit_failures_total", &[]),
        Some(0.0),
        "{text}"
    );
}

async fn folds_methods_no_table_names_into_one_label(backend: Backend) {
    let Some(observed) = ObservedGateway::start(backend).await else {
        return;
    };
    for method in ["DropEverything", "DropSomething"] {
        let status = rti_platform::testing::call_with_empty_request(
            observed.gateway.channel(),
            "rti.registry.v1.RegistryService",
            method,
            Some(&token(Role::Admin)),
        )
        .await
        .expect_err("not in the table");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let text = observed.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "rti_gateway_requests_total",
            &[
                GRPC,
                ("service", "unknown"),
                ("method", "unknown"),
                ("code", "PERMISSION_DENIED")
            ]
        ),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("DropEverything"), "{text}");
}

backend_tests!(
    counts_each_call_by_code_when_it_ends,
    folds_methods_no_table_names_into_one_label
);

#[tokio::test]
async fn serves_no_metrics_unless_asked() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    assert_eq!(gateway.metrics, None);
}

#[tokio::test]
async fn the_metrics_port_answers_only_metrics() {
    let upstream = Upstream::start().await;
    let mut config = rti_gateway::GatewayConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        all_to(&upstream.uri()),
        rti_platform::testing::test_auth(),
        vec![&crate::helpers::REGISTRY_TABLE],
    );
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    let gateway = TestGateway::from_config(config).await;
    let metrics = gateway.metrics.expect("asked for");
    let (status, text) = http_get(metrics, "/metrics", &[]).await;
    assert_eq!(status, 200);
    // Families show once they have a series; the failure counter always has one.
    assert_eq!(
        metric_value(&text, "rti_gateway_audit_failures_total", &[]),
        Some(0.0),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    let (status, _) = http_get(metrics, "/v1/audit", &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_call_whose_client_goes_away_is_in_flight_then_cancelled() {
    // An upstream that takes connections and never answers: the call waits there.
    let silent = Nowhere::reserve().listen();
    let upstream = uri_of(silent.local_addr().expect("bound"));
    let mut config = rti_gateway::GatewayConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        all_to(&upstream),
        rti_platform::testing::test_auth(),
        vec![&crate::helpers::REGISTRY_TABLE],
    );
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    let gateway = TestGateway::from_config(config).await;
    let metrics = gateway.metrics.expect("asked for");
    let scrape = || async move { http_get(metrics, "/metrics", &[]).await.1 };
    let in_flight = |text: &str| metric_value(text, "rti_gateway_requests_in_flight", &[]);

    let call = tokio::spawn(rti_platform::testing::call_with_empty_request(
        gateway.channel(),
        "rti.registry.v1.RegistryService",
        "GetInfrastructure",
        None,
    ));
    eventually("the call to reach the gateway", || async {
        (in_flight(&scrape().await) == Some(1.0)).then_some(())
    })
    .await;
    call.abort();
    let text = eventually("the call to end as cancelled", || async {
        let text = scrape().await;
        (in_flight(&text) == Some(0.0)).then_some(text)
    })
    .await;
    assert_eq!(
        metric_value(
            &text,
            "rti_gateway_requests_total",
            &[GRPC, REGISTRY, ("method", "GetInfrastructure"), ("code", "CANCELLED")]
        ),
        Some(1.0),
        "{text}"
    );
}
