//! Logs and traces. Logs go to stderr as text or JSON; traces are exported over OTLP/gRPC when
//! an endpoint is configured. W3C trace context travels in gRPC metadata: a server continues the
//! caller's trace ([`extract_context`]), a client passes its own on ([`TracePropagation`]).

use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the trace pipeline alive; [`TelemetryGuard::shutdown`] flushes it.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes buffered spans and stops the exporter, under a timeout. Call it inside the Tokio
    /// runtime, after the servers have drained.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else { return };
        // The SDK's shutdown blocks; run it off the async workers so the exporter, which needs
        // them, can finish its last export.
        let flushed = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::task::spawn_blocking(move || provider.shutdown()),
        )
        .await;
        match flushed {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => eprintln!("telemetry: flushing traces failed: {error}"),
            Ok(Err(error)) => eprintln!("telemetry: flushing traces panicked: {error}"),
            Err(_) => eprintln!("telemetry: flushing traces timed out after 5 s"),
        }
    }
}

/// Installs the global subscriber and, when an OTLP endpoint is set, the trace exporter. Must run
/// inside the Tokio runtime (the OTLP exporter needs its reactor).
pub fn init(config: &TelemetryConfig, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    let provider = match &config.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.as_str())
                .build()?;
            let processor = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                exporter,
                opentelemetry_sdk::runtime::Tokio,
            )
            .build();
            Some(tracer_provider(service_name).with_span_processor(processor).build())
        }
        None => None,
    };
    install(config, service_name, provider.clone())?;
    Ok(TelemetryGuard { provider })
}

/// A tracer provider builder carrying the service name, for [`install`] with another exporter
/// (tests use the in-memory one).
pub fn tracer_provider(service_name: &str) -> opentelemetry_sdk::trace::TracerProviderBuilder {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    SdkTracerProvider::builder().with_resource(resource)
}

/// Installs the global subscriber with an optional tracer provider.
pub fn install(
    config: &TelemetryConfig,
    service_name: &str,
    provider: Option<SdkTracerProvider>,
) -> anyhow::Result<()> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.log_filter).map_err(|error| {
        anyhow::anyhow!(
            "RTI_LOG_FILTER (--log-filter) {:?} is not a valid filter: {error}",
            config.log_filter
        )
    })?;
    let logs = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let traces = provider.map(|provider| {
        let tracer = provider.tracer(service_name.to_owned());
        opentelemetry::global::set_tracer_provider(provider);
        // Only the suite's own request spans (INFO), never the dependencies' debug spans.
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(traces)
        .with(logs.with_filter(filter))
        .try_init()?;
    Ok(())
}

/// The trace context a caller sent in `traceparent` / `tracestate` headers.
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes the current span's trace context into outgoing headers.
pub fn inject_current_context(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// A tonic client interceptor that passes the current trace context on in gRPC metadata, for
/// calls from one service to another.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        inject_current_context(&mut headers);
        *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn extracts_a_w3c_traceparent() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let context = extract_context(&headers);
        let span_context = context.span().span_context().clone();
        assert!(span_context.is_valid());
        assert_eq!(span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span_context.span_id().to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn the_client_interceptor_passes_the_current_span_on_as_traceparent() {
        use tonic::service::Interceptor;
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("calling another service");
            let _entered = span.enter();
            let expected = span.context().span().span_context().clone();
            assert!(expected.is_valid());
            let request = TracePropagation.call(tonic::Request::new(())).expect("never refuses");
            let traceparent = request
                .metadata()
                .get("traceparent")
                .expect("injected")
                .to_str()
                .expect("ascii");
            assert_eq!(
                traceparent,
                format!("00-{}-{}-01", expected.trace_id(), expected.span_id())
            );
        });
    }

    #[test]
    fn without_traceparent_there_is_no_remote_parent() {
        let context = extract_context(&http::HeaderMap::new());
        assert!(!context.span().span_context().is_valid());
    }
}
