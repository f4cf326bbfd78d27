//! A registry that never answers, behind the gateway: every call with a short deadline ends with
//! DEADLINE_EXCEEDED, the gateway cancels its call upstream (the upstream sees every call end),
//! its in-flight gauge returns to 0, its places for the upstream are freed (or later calls would
//! be refused as saturated instead), and its memory stays flat over many such calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::testing::{eventually, http_get, metric_value, token, with_token};
use rti_proto::registry::GetProviderRequest;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tokio::task::JoinSet;

use super::{connect_when_up, free_address, gateway};

/// The deadline each call asks for.
const DEADLINE: Duration = Duration::from_millis(100);
/// Calls at once: the gateway's places for the upstream, so that a place not freed shows.
const AT_ONCE: usize = 16;
/// Rounds of calls before memory is first read (allocator pools and buffers grow to their size).
const WARM_UP_ROUNDS: usize = 15;
const MEASURED_ROUNDS: usize = 60;
/// How much the gateway's resident memory may grow over the measured calls: leaking each call's
/// stream and buffers would take several times this.
const RESIDENT_GROWTH_BOUND_KIB: u64 = 12 * 1024;
/// A liveness bound on one call: a deadline that does not fire hangs far longer.
const CALL_BOUND: Duration = Duration::from_secs(10);

type Http2Client =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, tonic::body::Body>;

/// Upstream calls that arrived, and those still open (their handler not yet dropped).
#[derive(Default)]
struct Upstream {
    arrived: AtomicUsize,
    open: AtomicUsize,
}

struct OpenCall(Arc<Upstream>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_calls_end_at_their_deadline_and_nothing_piles_up() {
    let upstream = Arc::new(Upstream::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream_address = listener.local_addr().expect("address");
    let counted = upstream.clone();
    let never_answers = axum::Router::new().fallback(move || {
        let upstream = counted.clone();
        async move {
            upstream.arrived.fetch_add(1, Ordering::AcqRel);
            upstream.open.fetch_add(1, Ordering::AcqRel);
            let _open = OpenCall(upstream);
            std::future::pending::<()>().await;
        }
    });
    tokio::spawn(async move { axum::serve(listener, never_answers).await });

    let data = tempfile::tempdir().expect("a temporary directory");
    let (gateway_address, metrics) = (free_address(), free_address());
    let places = AT_ONCE.to_string();
    let mut edge = gateway(
        gateway_address,
        &format!("http://{upstream_address}"),
        data.path(),
        metrics,
        &["--upstream-max-in-flight", &places],
    );
    connect_when_up(gateway_address, &mut edge).await;
    // Over a plain HTTP/2 client: tonic's Channel enforces `grpc-timeout` itself and would end
    // the calls at the same moment as the gateway, hiding whether the gateway's deadline fires.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<tonic::body::Body>();
    let origin = format!("http://{gateway_address}")
        .parse()
        .expect("a socket address is a URI");
    let registry = RegistryServiceClient::with_origin(client, origin);

    let mut calls = 0;
    let mut other_codes = Vec::new();
    for _ in 0..WARM_UP_ROUNDS {
        calls += round(&registry, &mut other_codes).await;
    }
    let resident_before = edge.resident_kib();
    for _ in 0..MEASURED_ROUNDS {
        calls += round(&registry, &mut other_codes).await;
    }
    let resident_after = edge.resident_kib();
    edge.assert_running();

    let in_flight = eventually("the gateway's in-flight gauge back to 0", || async {
        let (status, exposition) = http_get(metrics, "/metrics", &[]).await;
        assert_eq!(status, 200, "{exposition}");
        let in_flight = metric_value(&exposition, "rti_gateway_requests_in_flight", &[]).unwrap_or(-1.0);
        (in_flight == 0.0).then_some(in_flight)
    })
    .await;
    let open_upstream = eventually("every upstream call cancelled", || async {
        let open = upstream.open.load(Ordering::Acquire);
        (open == 0).then_some(open)
    })
    .await;
    let arrived = upstream.arrived.load(Ordering::Acquire);
    let line = format!(
        "faults/slow-upstream: calls {calls}, deadline exceeded {}, other outcomes {}, upstream calls {arrived} \
         (open {open_upstream}), gateway in flight {in_flight}, VmRSS {resident_before} KiB -> {resident_after} KiB",
        calls - other_codes.len(),
        other_codes.len(),
    );
    println!("{line}");
    assert!(other_codes.is_empty(), "{line}: {other_codes:?}");
    // Not every call need reach the upstream (on a loaded machine a deadline may fire before
    // the call is sent), but calls must have been waiting there for the test to show anything.
    assert!(arrived > 0, "no call reached the upstream: {line}");
    assert!(
        resident_after <= resident_before + RESIDENT_GROWTH_BOUND_KIB,
        "the gateway's memory grew by more than {RESIDENT_GROWTH_BOUND_KIB} KiB: {line}"
    );
}

/// [`AT_ONCE`] calls side by side, each asking for [`DEADLINE`]; their count. A call that does
/// not end with DEADLINE_EXCEEDED is added to `other_codes`.
async fn round(registry: &RegistryServiceClient<Http2Client>, other_codes: &mut Vec<String>) -> usize {
    let admin = token(Role::Admin);
    let mut calls = JoinSet::new();
    for _ in 0..AT_ONCE {
        let mut registry = registry.clone();
        let mut request = with_token(
            GetProviderRequest {
                id: "never-answered".into(),
            },
            &admin,
        );
        request.set_timeout(DEADLINE);
        calls.spawn(async move { tokio::time::timeout(CALL_BOUND, registry.get_provider(request)).await });
    }
    let mut count = 0;
    while let Some(ended) = calls.join_next().await {
        count += 1;
        match ended.expect("a call task panicked") {
            // The gateway's answer, not a client giving up: the message is the gateway's.
            Ok(Err(status))
                if status.code() == tonic::Code::DeadlineExceeded
                    && status.message().contains("within its deadline") => {}
            Ok(other) => other_codes.push(format!("{other:?}")),
            Err(_) => other_codes.push(format!("no end within {} s", CALL_BOUND.as_secs())),
        }
    }
    count
}
