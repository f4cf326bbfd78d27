//! The gateway's protection (issue 14), each limit exceeded and answered with its code: rate
//! limits per principal (`RESOURCE_EXHAUSTED` with a retry hint, after authentication), load
//! shedding when an upstream is saturated (`UNAVAILABLE` at once, never a queue), and calls
//! balanced over a service's addresses, which keep working when one address stops.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rti_gateway::EdgeLimits;
use rti_platform::auth::Role;
use rti_platform::testing::{token, with_token};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateInfrastructureRequest, GetInfrastructureRequest};
use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tonic_types::StatusExt;

use crate::helpers::{Gated, Nowhere, PATIENCE, TestGateway, Upstream, all_to, json_of, rest_client, uri_of, url};

const GET_INFRASTRUCTURE: &str = "/rti.registry.v1.RegistryService/GetInfrastructure";

fn get_request() -> tonic::Request<GetInfrastructureRequest> {
    tonic::Request::new(GetInfrastructureRequest { id: "infra-1".into() })
}

/// The code of a public read through `gateway` (the test upstreams answer UNIMPLEMENTED: the
/// call got through).
async fn read(gateway: &TestGateway, request: tonic::Request<GetInfrastructureRequest>) -> tonic::Status {
    RegistryServiceClient::new(gateway.channel())
        .get_infrastructure(request)
        .await
        .expect_err("the test upstreams have no registry")
}

fn rate_limited(settings: &[&str]) -> EdgeLimits {
    EdgeLimits {
        rate_limits: settings.iter().map(|text| text.parse().expect("a setting")).collect(),
        ..EdgeLimits::default()
    }
}

#[tokio::test]
async fn a_caller_over_its_rate_is_refused_with_a_retry_hint_and_others_are_not() {
    let upstream = Upstream::start().await;
    let edge = rate_limited(&["anonymous=1/h:2", "applicant=1/h:1"]);
    let gateway = TestGateway::start_guarded(all_to(&upstream.uri()), Vec::new(), edge).await;

    for _ in 0..2 {
        assert_eq!(read(&gateway, get_request()).await.code(), Code::Unimplemented);
    }
    let refused = read(&gateway, get_request()).await;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("anonymous"), "{}", refused.message());
    let retry_after: u64 = refused
        .metadata()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("retry-after in seconds");
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
    let delay = refused
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo detail");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(3_600),
        "{delay:?}"
    );
    assert_eq!(
        upstream.seen(GET_INFRASTRUCTURE).len(),
        2,
        "the refused call stopped at the gateway"
    );

    // A signed-in caller has a bucket of its own, with its role's quota.
    let applicant = token(Role::Applicant);
    let signed_in = || with_token(GetInfrastructureRequest { id: "infra-1".into() }, &applicant);
    assert_eq!(read(&gateway, signed_in()).await.code(), Code::Unimplemented);
    assert_eq!(read(&gateway, signed_in()).await.code(), Code::ResourceExhausted);
    // Admins keep their (default, high) quota.
    let admin = with_token(GetInfrastructureRequest { id: "infra-1".into() }, &token(Role::Admin));
    assert_eq!(read(&gateway, admin).await.code(), Code::Unimplemented);
}

#[tokio::test]
async fn a_rest_caller_over_its_rate_gets_429_with_retry_after() {
    let upstream = Upstream::start().await;
    let gateway =
        TestGateway::start_guarded(all_to(&upstream.uri()), Vec::new(), rate_limited(&["anonymous=1/h:1"])).await;
    let get = || async {
        rest_client()
            .get(url(gateway.address, "/v1/infrastructures/infra-1"))
            .send()
            .await
            .expect("answers")
    };
    // The test upstream has no registry: 501 means the call got through.
    assert_eq!(get().await.status().as_u16(), 501);
    let refused = get().await;
    let retry_after: u64 = refused
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
    let (status, body) = json_of(refused).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (429, Some("RESOURCE_EXHAUSTED")),
        "{body}"
    );
    // gRPC and REST callers from one address share its bucket: the same caller either way.
    assert_eq!(read(&gateway, get_request()).await.code(), Code::ResourceExhausted);
    assert_eq!(
        upstream.seen(GET_INFRASTRUCTURE).len(),
        1,
        "refused calls stop at the gateway"
    );
}

#[tokio::test]
async fn authentication_comes_before_the_rate_limit() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start_guarded(all_to(&upstream.uri()), Vec::new(), rate_limited(&["all=1/h:1"])).await;
    assert_eq!(read(&gateway, get_request()).await.code(), Code::Unimplemented);
    assert_eq!(read(&gateway, get_request()).await.code(), Code::ResourceExhausted);
    // Over the anonymous rate, a call without the token its method needs still hears why.
    let unauthenticated = RegistryServiceClient::new(gateway.channel())
        .create_infrastructure(CreateInfrastructureRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated, "{unauthenticated:?}");
}

#[tokio::test]
async fn with_rate_limits_off_nobody_is_refused() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start_guarded(
        all_to(&upstream.uri()),
        Vec::new(),
        rate_limited(&["anonymous=1/h:1", "off"]),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(read(&gateway, get_request()).await.code(), Code::Unimplemented);
    }
}

async fn gated_upstream() -> (std::net::SocketAddr, Gated, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("bound");
    let gated = Gated::default();
    let stop = CancellationToken::new();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(HealthServer::new(gated.clone()))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.clone().cancelled_owned(),
            ),
    );
    (address, gated, stop.drop_guard())
}

#[tokio::test]
async fn a_saturated_upstream_sheds_calls_at_once_and_takes_them_again_when_a_place_frees() {
    let (address, gated, _upstream) = gated_upstream().await;
    let nowhere = Nowhere::reserve();
    let edge = EdgeLimits {
        upstream_max_in_flight: 1,
        ..EdgeLimits::default()
    };
    let gateway = TestGateway::start_guarded(
        all_to(&nowhere.uri()),
        vec![("/grpc.health.v1.Health/".into(), uri_of(address))],
        edge,
    )
    .await;
    let client = HealthClient::new(gateway.channel());

    let mut held = client.clone();
    let first = tokio::spawn(async move { held.check(HealthCheckRequest::default()).await });
    tokio::time::timeout(PATIENCE, async {
        while gated.arrived.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the first call reaches the upstream");

    let shed = client
        .clone()
        .check(HealthCheckRequest::default())
        .await
        .expect_err("no place left");
    assert_eq!(shed.code(), Code::Unavailable, "{shed:?}");
    assert!(
        shed.message().contains("is saturated (1 calls in flight"),
        "{}",
        shed.message()
    );
    assert_eq!(
        gated.arrived.load(Ordering::SeqCst),
        1,
        "the shed call never reached the upstream"
    );

    // Another service's calls have places of their own.
    let elsewhere = read(&gateway, get_request()).await;
    assert_eq!(elsewhere.code(), Code::Unavailable);
    assert!(
        elsewhere.message().contains("cannot be reached"),
        "{}",
        elsewhere.message()
    );

    gated.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    let answered = tokio::time::timeout(PATIENCE, first)
        .await
        .expect("answered once the gate opens")
        .expect("no panic");
    assert!(answered.is_ok(), "{answered:?}");
    let again = client.clone().check(HealthCheckRequest::default()).await;
    assert!(again.is_ok(), "the place was freed: {again:?}");
}

#[tokio::test]
async fn calls_are_balanced_over_a_services_addresses_and_keep_working_when_one_stops() {
    let first = Upstream::start().await;
    let second = Upstream::start().await;
    let nowhere = Nowhere::reserve();
    let mut upstreams = all_to(&nowhere.uri());
    upstreams.registry = vec![first.uri(), second.uri()];
    let gateway = TestGateway::start_guarded(upstreams, Vec::new(), EdgeLimits::default()).await;

    for _ in 0..6 {
        assert_eq!(read(&gateway, get_request()).await.code(), Code::Unimplemented);
    }
    let (to_first, to_second) = (
        first.seen(GET_INFRASTRUCTURE).len(),
        second.seen(GET_INFRASTRUCTURE).len(),
    );
    assert_eq!(to_first + to_second, 6);
    assert!(to_first > 0 && to_second > 0, "{to_first} and {to_second}");

    second.stop().await;
    for call in 0..10 {
        let status = read(&gateway, get_request()).await;
        assert_eq!(status.code(), Code::Unimplemented, "call {call}: {status:?}");
    }
    assert_eq!(first.seen(GET_INFRASTRUCTURE).len(), to_first + 10);
}

#[tokio::test]
async fn a_service_none_of_whose_addresses_answers_is_unavailable() {
    let (one, other) = (Nowhere::reserve(), Nowhere::reserve());
    let mut upstreams = all_to(&one.uri());
    upstreams.registry = vec![one.uri(), other.uri()];
    let gateway = TestGateway::start_guarded(upstreams, Vec::new(), EdgeLimits::default()).await;
    let status = read(&gateway, get_request()).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("cannot be reached"), "{}", status.message());
}
