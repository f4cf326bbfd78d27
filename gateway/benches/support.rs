//! What the benchmarks share: the processes they start, and h2load driving a target and read
//! back (throughput from its report, latencies from its per-call log).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic::transport::Channel;

/// The calls per run: `RTI_BENCH_CALLS`, or `default`.
pub fn calls_per_run(default: usize) -> Result<usize, std::num::ParseIntError> {
    std::env::var("RTI_BENCH_CALLS").map_or(Ok(default), |text| text.parse())
}

/// How h2load loads a target: connections, and streams in flight on each.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub streams: usize,
}

/// One way to reach the registry, and how h2load calls it there.
pub struct Target {
    pub name: &'static str,
    pub url: String,
    /// The gRPC request body (framed) for gRPC targets; `None` for REST.
    pub grpc_body: Option<Vec<u8>>,
    /// Response bytes each call must bring at least: a refusal (a rate limit, an upstream
    /// error) comes back with HTTP 200 in gRPC and would otherwise count as a call.
    pub least_bytes: usize,
}

/// What h2load measured for one target.
pub struct Measured {
    pub calls_per_second: f64,
    pub mean_ms: f64,
    pub p99_ms: f64,
}

/// A process that is killed when the benchmark ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_address() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

pub async fn connect(address: SocketAddr) -> Result<Channel, Box<dyn std::error::Error>> {
    // The processes may still be starting.
    for _ in 0..100 {
        if let Ok(channel) = Channel::from_shared(format!("http://{address}"))?.connect().await {
            return Ok(channel);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("nothing answers on {address}").into())
}

/// A gRPC message with its five-byte prefix (uncompressed, length big-endian).
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = vec![0];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// Runs h2load against `target` and reads its per-call log for the latencies.
pub fn h2load(
    target: &Target,
    load: Load,
    token: &str,
    calls: usize,
    directory: &Path,
) -> Result<Measured, Box<dyn std::error::Error>> {
    let log = directory.join("h2load.log");
    let mut command = Command::new("h2load");
    command
        .arg(format!("--requests={calls}"))
        .arg(format!("--clients={}", load.connections))
        .arg(format!("--max-concurrent-streams={}", load.streams))
        .arg(format!("--log-file={}", log.display()))
        .arg("--header")
        .arg(format!("authorization: Bearer {token}"));
    if let Some(body) = &target.grpc_body {
        let file = directory.join("request.bin");
        std::fs::write(&file, body)?;
        command.arg(format!("--data={}", file.display())).args([
            "--header",
            "content-type: application/grpc",
            "--header",
            "te: trailers",
        ]);
    }
    let output = command.arg(&target.url).output()?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !report.contains(&format!("{calls} succeeded")) {
        return Err(format!("h2load against {} failed:\n{report}", target.name).into());
    }
    // "traffic: … total, … headers (…), 6.87MB (7200000) data"
    let data: usize = report
        .lines()
        .find_map(|line| line.strip_prefix("traffic: "))
        .and_then(|line| line.rsplit_once(" data"))
        .and_then(|(rest, _)| rest.rsplit_once('(')?.1.strip_suffix(')').map(str::to_owned))
        .ok_or("h2load printed no traffic")?
        .parse()?;
    if data < calls * target.least_bytes {
        return Err(format!(
            "{}: {data} bytes of answers for {calls} calls, fewer than {} each: some calls were refused",
            target.name, target.least_bytes
        )
        .into());
    }
    let calls_per_second = report
        .lines()
        .find_map(|line| line.strip_prefix("finished in "))
        .and_then(|rest| rest.split(", ").nth(1))
        .and_then(|rate| rate.strip_suffix(" req/s"))
        .ok_or("h2load printed no rate")?
        .parse()?;
    // Tab-separated: start (µs since the epoch), HTTP status, microseconds to the response's end.
    let mut latencies: Vec<f64> = std::fs::read_to_string(&log)?
        .lines()
        .filter_map(|line| line.split('\t').nth(2)?.parse::<f64>().ok())
        .map(|micros| micros / 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let rank = ((0.99 * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len().max(1));
    Ok(Measured {
        calls_per_second,
        mean_ms: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
        p99_ms: latencies.get(rank - 1).copied().unwrap_or(0.0),
    })
}

/// An OTLP trace receiver that counts the spans it is sent and keeps none.
#[derive(Debug, Clone, Default)]
pub struct SpanCounter {
    pub spans: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl TraceService for SpanCounter {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        self.spans.fetch_add(spans, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl SpanCounter {
    pub async fn serve(self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(self))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        Ok(address)
    }
}
