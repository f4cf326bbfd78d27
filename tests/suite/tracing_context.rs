//! One trace across the hop: the gateway continues the caller's `traceparent` (or starts a
//! trace), and the service's span is the gateway span's child. Spans are captured with the SDK's
//! in-memory exporter; nextest runs each test in its own process, so the global subscriber is ours.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use rti_platform::backend_tests;
use rti_platform::config::TelemetryConfig;
use rti_platform::db::Backend;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::spawn_suite;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

pub(crate) fn capture_spans() -> (InMemorySpanExporter, opentelemetry_sdk::trace::SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = rti_platform::telemetry::tracer_provider("rti-test")
        .with_simple_exporter(exporter.clone())
        .build();
    rti_platform::telemetry::install(&TelemetryConfig::default(), "rti-test", Some(provider.clone()))
        .expect("the only subscriber of this test process");
    (exporter, provider)
}

/// The finished spans of `method`'s calls, once there are `expected` of them. The gateway's span
/// ends when its response body is dropped, which may be a moment after the client has the
/// trailers, so this polls (bounded) rather than reading once.
async fn finished_spans(
    exporter: &InMemorySpanExporter,
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
    method: &str,
    expected: usize,
) -> Vec<SpanData> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        provider.force_flush().expect("flush");
        let spans: Vec<SpanData> = exporter
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .filter(|span| span.name.ends_with(method))
            .collect();
        if spans.len() >= expected || tokio::time::Instant::now() >= deadline {
            return spans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The (gateway, service) pair of a call: the service's span is the one whose parent is the other.
fn hop(spans: &[SpanData]) -> (&SpanData, &SpanData) {
    assert_eq!(
        spans.len(),
        2,
        "one span at the gateway and one in the service: {spans:#?}"
    );
    let (first, second) = (&spans[0], &spans[1]);
    if second.parent_span_id == first.span_context.span_id() {
        (first, second)
    } else {
        (second, first)
    }
}

async fn the_service_span_is_a_child_of_the_gateway_span_in_the_callers_trace(backend: Backend) {
    let (exporter, provider) = capture_spans();
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut client = RegistryServiceClient::new(suite.channel.clone());

    let mut request = tonic::Request::new(proto::ListProvidersRequest::default());
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    client.list_providers(request).await.expect("list");

    let spans = finished_spans(&exporter, &provider, "ListProviders", 2).await;
    let (gateway, service) = hop(&spans);
    let caller_trace = TraceId::from_hex(CALLER_TRACE).expect("hex");
    assert_eq!(
        gateway.span_context.trace_id(),
        caller_trace,
        "the gateway continues the caller's trace"
    );
    assert_eq!(gateway.parent_span_id, SpanId::from_hex(CALLER_SPAN).expect("hex"));
    assert_eq!(service.span_context.trace_id(), caller_trace);
    assert_eq!(
        service.parent_span_id,
        gateway.span_context.span_id(),
        "the service span's parent is the gateway span"
    );

    client
        .get_provider(proto::GetProviderRequest { id: "none".into() })
        .await
        .expect_err("not found");
    let spans = finished_spans(&exporter, &provider, "GetProvider", 2).await;
    let (gateway, service) = hop(&spans);
    assert_ne!(
        gateway.span_context.trace_id(),
        caller_trace,
        "without traceparent the gateway starts a trace"
    );
    assert_eq!(gateway.parent_span_id, SpanId::INVALID);
    assert_eq!(service.span_context.trace_id(), gateway.span_context.trace_id());
    assert_eq!(service.parent_span_id, gateway.span_context.span_id());
}

backend_tests!(the_service_span_is_a_child_of_the_gateway_span_in_the_callers_trace);
