//! The real export path: traces go over OTLP/gRPC to a collector (here an in-process receiver on
//! loopback), and a graceful shutdown flushes them, so the spans of the last calls are not lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span;
use rti_platform::backend_tests;
use rti_platform::config::TelemetryConfig;
use rti_platform::db::Backend;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::spawn_suite;

#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans);
        let mut collected = self.spans.lock().expect("not poisoned");
        collected.extend(spans.flat_map(|scope| scope.spans));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_collector() -> (url::Url, Collector) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{address}").parse().expect("url"), collector)
}

async fn spans_reach_the_collector_and_shutdown_flushes_them(backend: Backend) {
    let (endpoint, collector) = start_collector().await;
    let config = TelemetryConfig {
        otlp_endpoint: Some(endpoint),
        ..TelemetryConfig::default()
    };
    let telemetry = rti_platform::telemetry::init(&config, "rti-test").expect("the only subscriber of this process");
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };

    RegistryServiceClient::new(suite.channel.clone())
        .list_infrastructures(proto::ListInfrastructuresRequest::default())
        .await
        .expect("list");
    suite.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), suite.running)
        .await
        .expect("stops")
        .expect("task")
        .expect("clean");
    telemetry.shutdown().await;

    let spans = collector.spans.lock().expect("not poisoned").clone();
    let hop: Vec<&Span> = spans
        .iter()
        .filter(|span| span.name == "rti.registry.v1.RegistryService/ListInfrastructures")
        .collect();
    assert_eq!(
        hop.len(),
        2,
        "the gateway's span and the registry's arrived: {spans:#?}"
    );
    let (first, second) = (hop[0], hop[1]);
    let (gateway, service) = if second.parent_span_id == first.span_id {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        service.parent_span_id, gateway.span_id,
        "the registry's span is the gateway span's child"
    );
    assert_eq!(service.trace_id, gateway.trace_id);
}

backend_tests!(spans_reach_the_collector_and_shutdown_flushes_them);
