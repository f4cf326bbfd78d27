//! Shutdown: health turns NOT_SERVING first, calls drain, and streams still open when the drain
//! timeout passes end with UNAVAILABLE instead of holding the gateway up.

use std::time::{Duration, Instant};

use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{TestGateway, Upstream, all_to, next};

#[tokio::test]
async fn shutdown_reports_not_serving_to_open_watches_and_drains_before_the_timeout() {
    let upstream = Upstream::start().await;
    let drain_timeout = Duration::from_secs(5);
    let mut gateway = TestGateway::start_with(all_to(&upstream.uri()), Vec::new(), drain_timeout).await;
    let mut client = HealthClient::new(gateway.channel());
    let mut own = client
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch opens")
        .into_inner();
    assert_eq!(
        next(&mut own).await.expect("no error").expect("a message").status(),
        Wire::Serving
    );

    let started = Instant::now();
    gateway.shutdown.cancel();
    assert_eq!(
        next(&mut own).await.expect("no error").expect("a message").status(),
        Wire::NotServing
    );
    assert!(next(&mut own).await.expect("no error").is_none(), "the watch ends");
    gateway.stop().await.expect("serve returns cleanly");
    assert!(
        started.elapsed() < drain_timeout,
        "drained without waiting for the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stream_still_open_after_the_drain_timeout_ends_with_unavailable() {
    let upstream = Upstream::start().await;
    // Health goes to the upstream here, so this Watch is a plain pass-through stream that the
    // gateway's own shutdown does not end.
    let route = ("/grpc.health.v1.Health/".to_owned(), upstream.uri());
    let drain_timeout = Duration::from_millis(300);
    let mut gateway = TestGateway::start_with(all_to(&upstream.uri()), vec![route], drain_timeout).await;
    let mut client = HealthClient::new(gateway.channel());
    let mut stream = client
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch opens")
        .into_inner();
    assert_eq!(
        next(&mut stream).await.expect("no error").expect("a message").status(),
        Wire::Serving
    );

    let started = Instant::now();
    gateway.stop().await.expect("serve returns after the drain timeout");
    assert!(
        started.elapsed() >= drain_timeout,
        "waited for the stream: {:?}",
        started.elapsed()
    );
    let ended = next(&mut stream).await.expect_err("cut off");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert_eq!(ended.message(), "the gateway is shutting down");
}
