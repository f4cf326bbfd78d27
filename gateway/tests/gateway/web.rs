//! gRPC-Web through the gateway (issue 14), as a browser calls over HTTP/1.1: unary and
//! server-streaming calls get the answers gRPC gets, through the same authentication and
//! message limits; the upstream sees plain gRPC. Cross-origin preflights are answered for the
//! configured origins only.

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rti_gateway::EdgeLimits;
use rti_platform::limits::{CallLimits, Limits};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateInfrastructureRequest, GetInfrastructureRequest};
use tonic::Code;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{PATIENCE, TestGateway, Upstream, all_to, capture_spans, finished_spans, grpc_web, next};

const HEALTH: &str = "/grpc.health.v1.Health/";

/// A gateway whose health paths go to `upstream` (which knows the service "catalogue").
async fn gateway_to(upstream: &Upstream, edge: EdgeLimits) -> TestGateway {
    upstream
        .health
        .set_service_status("catalogue", ServingStatus::Serving)
        .await;
    TestGateway::start_guarded(all_to(&upstream.uri()), vec![(HEALTH.into(), upstream.uri())], edge).await
}

fn asking(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

#[tokio::test]
async fn unary_and_server_streaming_calls_over_grpc_web_get_the_answers_grpc_gets() {
    let upstream = Upstream::start().await;
    let gateway = gateway_to(&upstream, EdgeLimits::default()).await;
    let mut grpc = HealthClient::new(gateway.channel());
    let (transport, origin) = grpc_web(gateway.address);
    let mut web = HealthClient::with_origin(transport, origin);

    let over_grpc = grpc.check(asking("catalogue")).await.expect("serving").into_inner();
    let over_web = web.check(asking("catalogue")).await.expect("serving").into_inner();
    assert_eq!(over_web, over_grpc);
    assert_eq!(
        over_web.status,
        i32::from(tonic_health::pb::health_check_response::ServingStatus::Serving)
    );

    // An error comes back the same way (in gRPC-Web, in the trailer frame of the body).
    let grpc_error = grpc.check(asking("unknown")).await.expect_err("no such service");
    let web_error = web.check(asking("unknown")).await.expect_err("no such service");
    assert_eq!(web_error.code(), Code::NotFound);
    assert_eq!(
        (web_error.code(), web_error.message()),
        (grpc_error.code(), grpc_error.message())
    );

    // A server stream: the current status, then each change, message by message.
    let mut grpc_stream = grpc.watch(asking("catalogue")).await.expect("opens").into_inner();
    let mut web_stream = web.watch(asking("catalogue")).await.expect("opens").into_inner();
    assert_eq!(
        next(&mut web_stream).await.expect("a message"),
        next(&mut grpc_stream).await.expect("a message")
    );
    upstream
        .health
        .set_service_status("catalogue", ServingStatus::NotServing)
        .await;
    let changed = next(&mut web_stream).await.expect("a message").expect("not ended");
    assert_eq!(Some(changed), next(&mut grpc_stream).await.expect("a message"));
    assert_eq!(
        changed.status,
        i32::from(tonic_health::pb::health_check_response::ServingStatus::NotServing)
    );

    // The upstream was called over plain gRPC, whatever the caller spoke.
    let seen = upstream.seen("/grpc.health.v1.Health/Check");
    assert!(seen.len() >= 4, "{}", seen.len());
    for headers in seen {
        assert_eq!(
            headers.get(http::header::CONTENT_TYPE).expect("a content type"),
            "application/grpc"
        );
    }
}

#[tokio::test]
async fn grpc_web_calls_meet_the_same_authentication_and_message_limits() {
    let upstream = Upstream::start().await;
    upstream
        .health
        .set_service_status("catalogue", ServingStatus::Serving)
        .await;
    let limits = Limits {
        calls: CallLimits {
            max_message_bytes: 64 * 1024,
            ..CallLimits::default()
        },
        ..Limits::default()
    };
    let gateway =
        TestGateway::start_limited(all_to(&upstream.uri()), vec![(HEALTH.into(), upstream.uri())], limits).await;
    let (transport, origin) = grpc_web(gateway.address);

    let mut registry = RegistryServiceClient::with_origin(transport.clone(), origin.clone());
    let refused = registry
        .create_infrastructure(CreateInfrastructureRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(
        upstream
            .seen("/rti.registry.v1.RegistryService/CreateInfrastructure")
            .is_empty()
    );

    let mut web = HealthClient::with_origin(transport, origin);
    let oversized = web
        .check(asking(&"x".repeat(100 * 1024)))
        .await
        .expect_err("over the limit");
    assert_eq!(oversized.code(), Code::ResourceExhausted, "{oversized:?}");
    assert!(
        oversized.message().contains("the limit is 65536 bytes"),
        "{}",
        oversized.message()
    );
}

/// Sends a CORS preflight for a gRPC-Web call from `origin`; the answer's headers.
async fn preflight(gateway: &TestGateway, origin: &str) -> http::HeaderMap {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<axum::body::Bytes>>();
    let request = http::Request::options(format!(
        "http://{}/rti.registry.v1.RegistryService/GetInstallation",
        gateway.address
    ))
    .header(http::header::ORIGIN, origin)
    .header(http::header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
    .header(
        http::header::ACCESS_CONTROL_REQUEST_HEADERS,
        "content-type,x-grpc-web,authorization",
    )
    .body(Empty::new())
    .expect("a request");
    let answer = tokio::time::timeout(PATIENCE, client.request(request))
        .await
        .expect("answered in time")
        .expect("answered");
    let headers = answer.headers().clone();
    let _ = answer.into_body().collect().await;
    headers
}

#[tokio::test]
async fn a_preflight_is_allowed_for_a_configured_origin_and_refused_for_another() {
    let upstream = Upstream::start().await;
    let edge = EdgeLimits {
        cors_origins: vec![http::HeaderValue::from_static("https://portal.example")],
        ..EdgeLimits::default()
    };
    let gateway = gateway_to(&upstream, edge).await;

    let allowed = preflight(&gateway, "https://portal.example").await;
    assert_eq!(
        allowed.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN).expect("allowed"),
        "https://portal.example"
    );
    let methods = allowed
        .get(http::header::ACCESS_CONTROL_ALLOW_METHODS)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");

    let refused = preflight(&gateway, "https://elsewhere.example").await;
    assert_eq!(refused.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN), None);

    // A call from the allowed origin may read the gRPC status and the request id.
    let (transport, origin) = grpc_web(gateway.address);
    let mut request = tonic::Request::new(asking("catalogue"));
    request
        .metadata_mut()
        .insert("origin", "https://portal.example".parse().expect("ascii"));
    let answer = HealthClient::with_origin(transport, origin)
        .check(request)
        .await
        .expect("serving");
    assert_eq!(
        answer.metadata().get("access-control-allow-origin").expect("allowed"),
        "https://portal.example"
    );
    let exposed = answer
        .metadata()
        .get("access-control-expose-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        exposed.contains("grpc-status") && exposed.contains("x-request-id"),
        "{exposed}"
    );
}

#[tokio::test]
async fn without_configured_origins_no_preflight_is_allowed() {
    let upstream = Upstream::start().await;
    let gateway = gateway_to(&upstream, EdgeLimits::default()).await;
    let answer = preflight(&gateway, "https://portal.example").await;
    assert_eq!(answer.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
}

#[tokio::test]
async fn the_gateway_span_records_the_protocol_a_call_arrived_in() {
    let (exporter, _default) = capture_spans();
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let request = || GetInfrastructureRequest { id: "infra-1".into() };
    let (transport, origin) = grpc_web(gateway.address);
    // The test upstream has no registry: UNIMPLEMENTED, over either protocol.
    let over_web = RegistryServiceClient::with_origin(transport, origin)
        .get_infrastructure(request())
        .await
        .expect_err("no registry upstream");
    let over_grpc = RegistryServiceClient::new(gateway.channel())
        .get_infrastructure(request())
        .await
        .expect_err("no registry upstream");
    assert_eq!(over_web.code(), over_grpc.code());

    let spans = finished_spans(&exporter, "rti.registry.v1.RegistryService/GetInfrastructure", 2).await;
    let mut protocols: Vec<String> = spans
        .iter()
        .filter_map(|span| {
            span.attributes
                .iter()
                .find(|attribute| attribute.key.as_str() == "rti.protocol")
                .map(|attribute| attribute.value.to_string())
        })
        .collect();
    protocols.sort();
    assert_eq!(protocols, ["grpc", "grpc-web"]);
}
