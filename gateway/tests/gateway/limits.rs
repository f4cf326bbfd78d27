//! The limits at the edge (issue 13, items 3 and 8): a message over its call's limit stops at
//! the gateway even when the upstream would take it; a slow upstream cannot hold a call beyond
//! the maximum deadline, whatever deadline the client asks for; a client that sends its headers
//! slowly, or nothing, loses its connection; connections beyond the cap wait.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rti_platform::limits::{CallLimits, Limits, ListenerLimits, parse_grpc_timeout};
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;

use crate::helpers::{Gated, Nowhere, PATIENCE, TestGateway, Upstream, all_to, uri_of};

fn limits(calls: CallLimits, listener: ListenerLimits) -> Limits {
    Limits {
        calls,
        listener,
        ..Limits::default()
    }
}

/// The `grpc-timeout` of each call that reached an upstream.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>;

/// A slow upstream (its checks never end) that records the `grpc-timeout` each call reached it with.
async fn sluggish_upstream() -> (SocketAddr, Seen, DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("bound");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = seen.clone();
    let record = tower::util::MapRequestLayer::new(move |request: http::Request<tonic::body::Body>| {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        recorder.lock().expect("not poisoned").push(timeout);
        request
    });
    let stop = CancellationToken::new();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(record)
            .add_service(HealthServer::new(Gated::default()))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.clone().cancelled_owned(),
            ),
    );
    (address, seen, stop.drop_guard())
}

async fn gateway_to_sluggish(calls: CallLimits) -> (TestGateway, Seen, DropGuard) {
    let nowhere = Nowhere::reserve();
    let (address, seen, guard) = sluggish_upstream().await;
    let gateway = TestGateway::start_limited(
        all_to(&nowhere.uri()),
        vec![("/grpc.health.v1.Health/".into(), uri_of(address))],
        limits(calls, ListenerLimits::default()),
    )
    .await;
    (gateway, seen, guard)
}

fn short_deadlines() -> CallLimits {
    CallLimits {
        default_deadline: Duration::from_millis(300),
        max_deadline: Duration::from_millis(600),
        ..CallLimits::default()
    }
}

/// Sends a health check through `gateway` to the sluggish upstream; the status it ends with, how
/// long that took, and the deadline the upstream was told.
async fn time_out(
    gateway: &TestGateway,
    seen: &Seen,
    request: tonic::Request<HealthCheckRequest>,
) -> (tonic::Status, Duration, Option<Duration>) {
    let started = Instant::now();
    let status = HealthClient::new(gateway.channel())
        .check(request)
        .await
        .expect_err("the upstream takes a minute");
    let took = started.elapsed();
    let told = seen
        .lock()
        .expect("not poisoned")
        .last()
        .cloned()
        .flatten()
        .and_then(|value| parse_grpc_timeout(&value));
    (status, took, told)
}

#[tokio::test]
async fn a_slow_upstream_answers_deadline_exceeded_within_the_maximum_deadline_whatever_the_client_asks() {
    let (gateway, seen, _upstream) = gateway_to_sluggish(short_deadlines()).await;
    let mut patient = tonic::Request::new(HealthCheckRequest::default());
    patient.set_timeout(Duration::from_secs(3_600));
    let (status, took, told) = time_out(&gateway, &seen, patient).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("600 ms"), "{}", status.message());
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // The upstream was told the capped deadline, not the hour the client asked for.
    assert!(
        told.is_some_and(|deadline| deadline <= Duration::from_millis(600)),
        "{told:?}"
    );
}

#[tokio::test]
async fn a_call_without_a_deadline_gets_the_default_one() {
    let (gateway, seen, _upstream) = gateway_to_sluggish(short_deadlines()).await;
    let (status, took, told) = time_out(&gateway, &seen, tonic::Request::new(HealthCheckRequest::default())).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("300 ms"), "{}", status.message());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        told.is_some_and(|deadline| deadline <= Duration::from_millis(300)),
        "{told:?}"
    );
}

#[tokio::test]
async fn a_message_over_the_limit_stops_at_the_gateway_even_when_the_upstream_would_take_it() {
    let upstream = Upstream::start().await;
    upstream
        .health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let calls = CallLimits {
        max_message_bytes: 64 * 1024,
        ..CallLimits::default()
    };
    let gateway = TestGateway::start_limited(
        all_to(&upstream.uri()),
        vec![("/grpc.health.v1.Health/".into(), upstream.uri())],
        limits(calls, ListenerLimits::default()),
    )
    .await;
    let mut client = HealthClient::new(gateway.channel());
    // Within the limit the upstream answers (an unknown service is NOT_FOUND there).
    let small = HealthCheckRequest {
        service: "x".repeat(60 * 1024),
    };
    let answered = client.check(small).await.expect_err("no such service");
    assert_eq!(answered.code(), Code::NotFound, "{answered:?}");
    // Over it (the upstream's own limit is 4 MiB) the gateway refuses, naming the limit.
    let large = HealthCheckRequest {
        service: "x".repeat(100 * 1024),
    };
    let refused = client.check(large).await.expect_err("over the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("Check") && refused.message().contains("the limit is 65536 bytes (64 KiB)"),
        "{}",
        refused.message()
    );
}

/// Connects, sends `bytes`, and waits for the gateway to close the connection.
async fn closed_after_sending(address: SocketAddr, bytes: &'static [u8]) -> Duration {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        stream.set_read_timeout(Some(PATIENCE)).expect("a read timeout");
        stream.write_all(bytes).expect("sends");
        let started = Instant::now();
        let mut answer = Vec::new();
        // A closed connection reads as the end, or as a reset when the gateway closed it with
        // bytes unread; a read that times out means it was still open.
        match stream.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(error) => panic!("the gateway kept the connection open: {error}"),
        }
        started.elapsed()
    })
    .await
    .expect("the client thread ends")
}

#[tokio::test]
async fn a_client_that_sends_its_headers_slowly_or_nothing_loses_its_connection() {
    let nowhere = Nowhere::reserve();
    let listener = ListenerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ListenerLimits::default()
    };
    let gateway = TestGateway::start_limited(
        all_to(&nowhere.uri()),
        Vec::new(),
        limits(CallLimits::default(), listener),
    )
    .await;
    for partial in [
        &b""[..],
        b"G",
        b"GET /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\n",
        b"PRI * HTTP/2.0\r\n",
    ] {
        let took = closed_after_sending(gateway.address, partial).await;
        assert!(
            took < Duration::from_secs(5),
            "{partial:?} held the connection {took:?}"
        );
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let upstream = Upstream::start().await;
    let listener = ListenerLimits {
        connection_limit: 1,
        ..ListenerLimits::default()
    };
    let gateway = TestGateway::start_limited(
        all_to(&upstream.uri()),
        Vec::new(),
        limits(CallLimits::default(), listener),
    )
    .await;
    let address = gateway.address;
    // One idle connection takes the only place.
    let idle = tokio::task::spawn_blocking(move || std::net::TcpStream::connect(address).expect("connects"))
        .await
        .expect("connected");
    let check = || async {
        HealthClient::new(gateway.channel())
            .check(HealthCheckRequest::default())
            .await
    };
    let waited = tokio::time::timeout(Duration::from_millis(500), check()).await;
    assert!(
        waited.is_err(),
        "a second connection was served beyond the cap: {waited:?}"
    );
    drop(idle);
    let served = tokio::time::timeout(PATIENCE, check())
        .await
        .expect("served once the idle one closed");
    assert!(served.is_ok(), "{served:?}");
}
