//! REST calls pass the same edge as gRPC calls (issue 14): authentication answers REST callers
//! with 401 and 403, before any validation of what they sent (DESIGN §4); a call reaches its
//! service as a gRPC call with the caller's token, request id and trace context, under a gateway
//! span marked `rti.protocol=rest`; and a slow service cannot hold a REST caller beyond the
//! deadline, which the service is told.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Value;
use rti_platform::auth::Role;
use rti_platform::limits::{CallLimits, Limits, parse_grpc_timeout};
use rti_platform::testing::token;
use serde_json::json;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::helpers::{
    Nowhere, TestGateway, Upstream, all_to, attribute, capture_spans, finished_spans, json_of, post_json,
    rest_client as client, uri_of, url,
};

#[tokio::test]
async fn the_edge_answers_rest_callers_with_401_and_403_and_lets_allowed_calls_through() {
    let nowhere = Nowhere::reserve();
    let gateway = TestGateway::start(all_to(&nowhere.uri())).await;
    let client = client();
    let create = || {
        client
            .post(url(gateway.address, "/v1/infrastructures"))
            .json(&json!({"name": "X"}))
    };

    let (status, body) = json_of(create().send().await.expect("answers")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );
    assert_eq!(body["code"], 16);

    let funder = create().bearer_auth(token(Role::Funder)).send().await.expect("answers");
    let (status, body) = json_of(funder).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{body}"
    );

    // Past the edge, the call looks for the registry where nothing listens.
    let admin = create().bearer_auth(token(Role::Admin)).send().await.expect("answers");
    let (status, body) = json_of(admin).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("UNAVAILABLE")), "{body}");
    let public = client
        .get(url(gateway.address, "/v1/infrastructures/infra-1"))
        .send()
        .await
        .expect("answers");
    assert_eq!(public.status().as_u16(), 503, "public without a token");
}

#[tokio::test]
async fn a_rest_call_reaches_its_service_as_grpc_with_token_request_id_and_trace() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = client()
        .get(url(gateway.address, "/v1/infrastructures/infra%2D1"))
        .bearer_auth(token(Role::Admin))
        .header("x-request-id", "rest-42")
        .header("traceparent", traceparent)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["x-request-id"], "rest-42");
    // The stand-in serves no registry: its UNIMPLEMENTED comes back as 501.
    let (status, body) = json_of(response).await;
    assert_eq!((status, body["code"].as_i64()), (501, Some(12)), "{body}");

    let seen = upstream.seen("/rti.registry.v1.RegistryService/GetInfrastructure");
    assert_eq!(seen.len(), 1, "one gRPC call reached the upstream");
    let headers = &seen[0];
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["te"], "trailers");
    assert_eq!(headers["x-request-id"], "rest-42");
    assert_eq!(
        headers["authorization"],
        format!("Bearer {}", token(Role::Admin)).as_str()
    );
    let forwarded_trace = headers["traceparent"].to_str().expect("ascii");
    assert!(
        forwarded_trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "the trace continues: {forwarded_trace}"
    );
}

#[tokio::test]
async fn authorization_comes_before_validation_over_rest() {
    let nowhere = Nowhere::reserve();
    let gateway = TestGateway::start(all_to(&nowhere.uri())).await;
    let unknown_field = json!({"nam": "X"});
    let request = |bearer: Option<String>| {
        let request = client()
            .post(url(gateway.address, "/v1/infrastructures"))
            .json(&unknown_field);
        match bearer {
            Some(bearer) => request.bearer_auth(bearer),
            None => request,
        }
    };
    let (status, body) = json_of(request(None).send().await.expect("answers")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );
    let (status, body) = json_of(request(Some(token(Role::Funder))).send().await.expect("answers")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{body}"
    );
    // Only a caller who may create learns what is wrong with the body.
    let (status, body) = post_json(
        gateway.address,
        "/v1/infrastructures",
        &token(Role::Admin),
        &unknown_field,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "{body}"
    );
    assert_eq!(body["details"][0]["fieldViolations"][0]["field"], "nam", "{body}");
}

#[tokio::test]
async fn a_rest_call_has_a_gateway_span_marked_rest_in_the_callers_trace() {
    let (exporter, _recording) = capture_spans();
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = client()
        .get(url(gateway.address, "/v1/infrastructures/infra-1"))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 501, "the stand-in serves no registry");

    let span = finished_spans(&exporter, "rti.registry.v1.RegistryService/GetInfrastructure", 1)
        .await
        .remove(0);
    assert_eq!(attribute(&span, "rti.protocol"), Some(Value::from("rest")));
    assert_eq!(attribute(&span, "rpc.grpc.status_code"), Some(Value::I64(12)));
    assert_eq!(span.span_context.trace_id().to_string(), caller_trace);
    assert_eq!(span.parent_span_id.to_string(), caller_span);
}

/// The `grpc-timeout` each call reached the sluggish upstream with.
type Told = Arc<Mutex<Vec<Option<Duration>>>>;

/// An upstream that holds every call for a minute (HTTP/2 with prior knowledge, as a gRPC
/// server), recording the deadline it was told.
async fn sluggish_upstream() -> (SocketAddr, Told, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("bound");
    let told = Told::default();
    let recorder = told.clone();
    let hold = axum::Router::new().fallback(move |headers: http::HeaderMap| {
        let deadline = headers
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_grpc_timeout);
        recorder.lock().expect("not poisoned").push(deadline);
        async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            http::StatusCode::OK
        }
    });
    let stop = CancellationToken::new();
    let serving = axum::serve(listener, hold).with_graceful_shutdown(stop.clone().cancelled_owned());
    tokio::spawn(async move { serving.await });
    (address, told, stop.drop_guard())
}

#[tokio::test]
async fn a_slow_service_answers_a_rest_caller_504_at_the_deadline_it_was_told() {
    let (address, told, _upstream) = sluggish_upstream().await;
    let limits = Limits {
        calls: CallLimits {
            default_deadline: Duration::from_millis(300),
            max_deadline: Duration::from_millis(600),
            ..CallLimits::default()
        },
        ..Limits::default()
    };
    let gateway = TestGateway::start_limited(all_to(&uri_of(address)), Vec::new(), limits).await;
    let get = |grpc_timeout: Option<&'static str>| {
        let request = client().get(url(gateway.address, "/v1/infrastructures/infra-1"));
        match grpc_timeout {
            Some(timeout) => request.header("grpc-timeout", timeout),
            None => request,
        }
    };

    let started = Instant::now();
    let (status, body) = json_of(get(None).send().await.expect("answers")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (504, Some("DEADLINE_EXCEEDED")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("300 ms")),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // A caller asking for an hour is held to the maximum.
    let (status, body) = json_of(get(Some("1H")).send().await.expect("answers")).await;
    assert_eq!(status, 504, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("600 ms")),
        "{body}"
    );

    let told = told.lock().expect("not poisoned").clone();
    assert_eq!(told.len(), 2, "both calls reached the upstream: {told:?}");
    assert!(
        told[0].is_some_and(|deadline| deadline <= Duration::from_millis(300)),
        "{told:?}"
    );
    assert!(
        told[1].is_some_and(|deadline| deadline <= Duration::from_millis(600)),
        "{told:?}"
    );
}
