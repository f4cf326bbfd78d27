//! The harness of the suite tests: boots the four services and the gateway in-process, on port
//! 0, over throwaway databases on SQLite or PostgreSQL, exactly as `rti up` does: with the
//! gateway's audit log of writes, and its metrics on a port of their own.

#![forbid(unsafe_code)]

pub mod relevance;

use std::net::SocketAddr;
use std::time::Duration;

use rti_gateway::cli::suite::{Databases, Suite, SuiteConfig, SuiteError};
use rti_gateway::{EdgeLimits, QuotaSetting};
use rti_platform::db::{Backend, DatabaseUrl};
use rti_platform::limits::Limits;
use rti_platform::testing::{TestDatabase, test_auth};
pub use rti_platform::testing::{connect, with_token};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A running suite. Dropping it leaves the tasks to the test runtime, which ends with the test.
#[derive(Debug)]
pub struct RunningSuite {
    pub gateway: SocketAddr,
    /// A channel to the gateway.
    pub channel: Channel,
    /// A channel straight to the registry, behind the gateway.
    pub registry: Channel,
    /// Where the gateway's metrics are served.
    pub metrics: SocketAddr,
    /// The gateway's audit log of writes.
    pub audit: DatabaseUrl,
    /// Each service's database, for tests that must reach past the API (a poison event).
    pub databases: Databases,
    pub shutdown: CancellationToken,
    pub running: JoinHandle<Result<(), SuiteError>>,
    _databases: Vec<TestDatabase>,
}

/// A gRPC-Web transport over HTTP/1.1, as a browser's gRPC-Web client calls.
pub type WebTransport = tonic_web::GrpcWebClientService<
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        tonic_web::GrpcWebCall<tonic::body::Body>,
    >,
>;

impl RunningSuite {
    /// A gRPC-Web transport to the gateway, and the origin to give generated clients.
    pub fn grpc_web(&self) -> (WebTransport, http::Uri) {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let transport = tower::ServiceBuilder::new()
            .layer(tonic_web::GrpcWebClientLayer::new())
            .service(client);
        let origin = format!("http://{}", self.gateway)
            .parse()
            .expect("a socket address is a valid URI");
        (transport, origin)
    }
}

/// Boots the suite on `backend`; `None` when PostgreSQL tests are skipped on purpose.
pub async fn spawn_suite(backend: Backend) -> Option<RunningSuite> {
    spawn_suite_with(backend, |_| {}).await
}

/// Boots the suite on `backend` with the configuration `rti up` would use, changed by `adjust`.
pub async fn spawn_suite_with(backend: Backend, adjust: impl FnOnce(&mut SuiteConfig)) -> Option<RunningSuite> {
    let mut databases = Vec::new();
    // One per service, and the audit log.
    for _ in 0..5 {
        databases.push(TestDatabase::create(backend).await?);
    }
    let service_databases = Databases {
        registry: databases[0].url.clone(),
        intake: databases[1].url.clone(),
        allocation: databases[2].url.clone(),
        reporting: databases[3].url.clone(),
    };
    let mut config = SuiteConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        databases: service_databases.clone(),
        auth: test_auth(),
        drain_timeout: Duration::from_secs(5),
        limits: Limits::default(),
        // The suite's tests call faster than a caller should: rate limits have tests of their own
        // (gateway/tests/gateway/protection.rs).
        edge: EdgeLimits {
            rate_limits: vec![QuotaSetting::Off],
            ..EdgeLimits::default()
        },
        // Search by meaning, as `rti up` serves it (RTI_ENCODER_SKIP=1: by words only).
        encoder_model_dir: rti_encoder::testing::model_dir(),
        reporting: rti_reporting::Options::default(),
        metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        service_metrics_listen: None,
        audit: Some(databases[4].url.clone()),
        replicas: 1,
    };
    adjust(&mut config);
    let suite = Suite::start(config).await.expect("the suite starts");
    let gateway = suite.gateway_addr();
    let metrics = suite.gateway_metrics_addr().expect("metrics were asked for");
    let registry = Channel::builder(suite.upstreams().registry[0].clone())
        .connect()
        .await
        .expect("connect to the registry");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(suite.run_until(shutdown.clone()));
    let channel = connect(gateway).await;
    Some(RunningSuite {
        gateway,
        channel,
        registry,
        metrics,
        audit: databases[4].url.clone(),
        databases: service_databases,
        shutdown,
        running,
        _databases: databases,
    })
}
