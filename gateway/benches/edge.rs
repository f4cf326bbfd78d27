//! `cargo bench -p rti-gateway --bench edge` (needs `h2load` and `nginx`: Debian's
//! `nghttp2-client` and `nginx-light`; `RTI_BENCH_CALLS` changes the calls per run, 40,000 by
//! default; `RTI_BENCH_GATEWAY=bare` runs the gateway without rate limits, metrics and traces, to
//! see what they cost, and `no-limits`, `no-metrics`, `no-traces`, comma-separated, without some).
//!
//! The same database-backed call, `GetInstallation`, side by side in one run: over gRPC and over
//! REST through the gateway, over gRPC straight to the registry, and through nginx's `grpc_pass`
//! in front of the same registry. Each is driven by h2load (8 connections × 8 streams), after a
//! warm-up, with a bearer token. The gateway runs as `rti gateway` with everything on: rate
//! limits (raised past what the one caller sends), load shedding, metrics on a port of their own,
//! its audit log (which a read does not write to), and traces, which the gateway and the registry
//! export over OTLP to a collector in this process that counts and drops them. Prints one table
//! (throughput, mean and p99 latency, and the ratios the aims are stated in), then what the
//! collector and the metrics saw; figures belong in docs/benchmarks.md with this command.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use prost::Message;
use rti_platform::auth::Role;
use rti_platform::testing::{TEST_SECRET, token, with_token};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;

mod support;

use support::{Load, Running, SpanCounter, Target, connect, free_address, grpc_frame, h2load};

const LOAD: Load = Load {
    connections: 8,
    streams: 8,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls = support::calls_per_run(40_000)?;
    for tool in ["h2load", "nginx"] {
        if Command::new(tool)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Err(format!("{tool} is not installed (apt-get install nghttp2-client nginx-light)").into());
        }
    }
    let directory = tempfile::tempdir()?;
    let rti = env!("CARGO_BIN_EXE_rti");
    let registry_addr = free_address()?;
    let gateway_addr = free_address()?;
    let metrics_addr = free_address()?;
    let nginx_addr = free_address()?;
    let dead = free_address()?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let collector = SpanCounter::default();
    let collector_addr = runtime.block_on(collector.clone().serve())?;
    let otlp = format!("http://{collector_addr}");

    let database = format!("sqlite://{}", directory.path().join("registry.db").display());
    let _registry = Running(
        Command::new(rti)
            .args([
                "serve",
                "registry",
                "--listen",
                &registry_addr.to_string(),
                "--database-url",
                &database,
            ])
            .args([
                "--auth-secret",
                TEST_SECRET,
                "--log-filter",
                "warn",
                "--otlp-endpoint",
                &otlp,
            ])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let upstream = format!("http://{registry_addr}");
    let elsewhere = format!("http://{dead}");
    let without = std::env::var("RTI_BENCH_GATEWAY").unwrap_or_default();
    let off = |layer: &str| {
        without
            .split(',')
            .any(|name| name == "bare" || name == format!("no-{layer}"))
    };
    let mut gateway = Command::new(rti);
    gateway
        .args([
            "gateway",
            "--listen",
            &gateway_addr.to_string(),
            "--registry",
            &upstream,
        ])
        .args([
            "--intake",
            &elsewhere,
            "--allocation",
            &elsewhere,
            "--reporting",
            &elsewhere,
        ])
        .args(["--auth-secret", TEST_SECRET, "--log-filter", "warn"])
        .arg("--data-dir")
        .arg(directory.path())
        .stdout(Stdio::null());
    if off("limits") {
        gateway.args(["--rate-limit", "off"]);
    } else {
        // Limits stay on, raised past what the benchmark's one caller sends.
        gateway.args(["--rate-limit", "all=1000000/1s:1000000"]);
    }
    if !off("traces") {
        gateway.args(["--otlp-endpoint", &otlp]);
    }
    if !off("metrics") {
        gateway.args(["--metrics-listen", &metrics_addr.to_string()]);
    }
    let _gateway = Running(gateway.spawn()?);
    let _nginx = Nginx(start_nginx(directory.path(), nginx_addr, registry_addr)?);

    let id = runtime.block_on(seed(registry_addr))?;
    let request = proto::GetInstallationRequest { id: id.clone() };
    let mut answer = 0;
    for address in [registry_addr, gateway_addr, nginx_addr] {
        let found = runtime.block_on(get_installation(address, request.clone()))?;
        assert_eq!(found.id, id, "{address} answers GetInstallation");
        answer = grpc_frame(&found.encode_to_vec()).len();
    }

    let body = grpc_frame(&request.encode_to_vec());
    let path = "rti.registry.v1.RegistryService/GetInstallation";
    let grpc = |name, address: SocketAddr| Target {
        name,
        url: format!("http://{address}/{path}"),
        grpc_body: Some(body.clone()),
        least_bytes: answer,
    };
    let targets = [
        grpc("gRPC via the gateway", gateway_addr),
        Target {
            name: "REST via the gateway",
            url: format!("http://{gateway_addr}/v1/installations/{id}"),
            grpc_body: None,
            // The JSON of an installation is longer than its protobuf.
            least_bytes: answer,
        },
        grpc("gRPC direct to the registry", registry_addr),
        grpc("gRPC via nginx grpc_pass", nginx_addr),
    ];
    let admin = token(Role::Admin);
    println!(
        "{calls} calls per run, {} connections × {} streams, GetInstallation on SQLite",
        LOAD.connections, LOAD.streams
    );
    println!("| path | calls/s | mean (ms) | p99 (ms) |");
    println!("|---|---|---|---|");
    let mut measured = Vec::new();
    for target in &targets {
        h2load(target, LOAD, &admin, calls / 10, directory.path())?;
        let figures = h2load(target, LOAD, &admin, calls, directory.path())?;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} |",
            target.name, figures.calls_per_second, figures.mean_ms, figures.p99_ms
        );
        measured.push(figures);
    }
    let [gateway, rest, direct, nginx] = measured.as_slice() else {
        unreachable!("four targets");
    };
    println!();
    println!(
        "gateway ÷ nginx: {:.2}× throughput, p99 {:.2} vs {:.2} ms; gateway ÷ direct: {:.2}×; REST ÷ gRPC: {:.2}×",
        gateway.calls_per_second / nginx.calls_per_second,
        gateway.p99_ms,
        nginx.p99_ms,
        gateway.calls_per_second / direct.calls_per_second,
        rest.calls_per_second / gateway.calls_per_second,
    );
    // Batches still on their way arrive within the exporters' interval (5 s).
    std::thread::sleep(Duration::from_secs(6));
    println!(
        "gateway without: {}; spans received by the collector: {}",
        if without.is_empty() { "nothing" } else { &without },
        collector.spans.load(Ordering::Relaxed)
    );
    if !off("metrics") {
        let counted = counted_calls(&runtime.block_on(scrape(metrics_addr))?);
        println!("calls in the gateway's metrics: {counted}");
    }
    Ok(())
}

/// The gateway's metrics, as Prometheus would scrape them.
async fn scrape(address: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    let (status, text) = rti_platform::testing::http_get(address, "/metrics", &[]).await;
    if status != 200 {
        return Err(format!("GET /metrics: {status}: {text}").into());
    }
    Ok(text)
}

/// The calls `rti_gateway_requests_total` counts, over all its labels.
fn counted_calls(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("rti_gateway_requests_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// nginx, stopped with SIGTERM when the benchmark ends: its master then stops its workers, which
/// a SIGKILL to the master would leave running.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        if !stopped {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn start_nginx(directory: &Path, listen: SocketAddr, registry: SocketAddr) -> std::io::Result<Child> {
    let config = directory.join("nginx.conf");
    let root = directory.display();
    std::fs::write(
        &config,
        format!(
            "worker_processes auto;\ndaemon off;\npid {root}/nginx.pid;\nerror_log {root}/nginx-error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {root}/nginx-body;\n\
               upstream registry {{ server {registry}; keepalive 64; keepalive_requests 1000000; }}\n\
               server {{\n    listen {listen} http2;\n    http2_max_concurrent_streams 128;\n\
                 keepalive_requests 1000000;\n\
                 location / {{ grpc_pass grpc://registry; }}\n  }}\n}}\n"
        ),
    )?;
    Command::new("nginx")
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(directory.join("nginx-error.log"))
        .spawn()
}

/// A provider, an infrastructure and an installation (a draft, which the admin token reads);
/// the installation's id.
async fn seed(registry: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    let channel = connect(registry).await?;
    let mut client = RegistryServiceClient::new(channel);
    let admin = token(Role::Admin);
    let provider = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(proto::Provider {
                    name: "Benchmark lab".into(),
                    country: "DE".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await?
        .into_inner();
    let infrastructure = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(proto::Infrastructure {
                    provider_id: provider.id,
                    name: "Benchmark infrastructure".into(),
                    kind: proto::InfrastructureKind::Technology as i32,
                    structure: proto::InfrastructureStructure::SingleSited as i32,
                    countries: vec!["DE".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await?
        .into_inner();
    let (_, demo) = rti_gateway::demo::catalogue::installations()?
        .into_iter()
        .next()
        .ok_or("the demo catalogue has installations")?;
    let installation = client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(proto::Installation {
                    infrastructure_id: infrastructure.id,
                    ..demo
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await?
        .into_inner();
    Ok(installation.id)
}

async fn get_installation(
    address: SocketAddr,
    request: proto::GetInstallationRequest,
) -> Result<proto::Installation, Box<dyn std::error::Error>> {
    let mut client = RegistryServiceClient::new(connect(address).await?);
    Ok(client
        .get_installation(with_token(request, &token(Role::Admin)))
        .await?
        .into_inner())
}
