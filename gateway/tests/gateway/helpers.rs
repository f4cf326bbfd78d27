//! Test upstreams (tonic servers with health and reflection that record what reaches them), a
//! gateway started on port 0, and bounded waits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rti_gateway::{Gateway, GatewayConfig, GatewayError, Upstreams};
use rti_platform::auth::Role;
use rti_platform::authz::{Access, AuthzTable, RpcRule};
use rti_platform::limits::Limits;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::{Channel, Endpoint};
use tonic_health::server::HealthReporter;

/// The registry's public read and admin-only write, as the registry's own table has them.
pub static REGISTRY_TABLE: AuthzTable = AuthzTable {
    service: "rti.registry.v1.RegistryService",
    rules: &[
        RpcRule {
            method: "GetInfrastructure",
            access: Access::Public,
        },
        RpcRule {
            method: "CreateInfrastructure",
            access: Access::Roles(&[Role::Admin]),
        },
    ],
};

/// Anything a bounded wait may take; far above what a passing run needs.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A stand-in for a service: health, and reflection v1 listing health only (so its answers
/// differ from the gateway's). It records the headers of every request that reaches it.
pub struct Upstream {
    pub address: SocketAddr,
    pub health: HealthReporter,
    seen: Arc<Mutex<Vec<(String, http::HeaderMap)>>>,
    _stop: DropGuard,
}

impl Upstream {
    pub async fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.expect("bind port 0")).await
    }

    pub async fn start_on(listener: TcpListener) -> Self {
        let address = listener.local_addr().expect("bound");
        let (health, health_service) = tonic_health::server::health_reporter();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health")
            .build_v1()
            .expect("reflection over the health descriptors");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        let record = tower::util::MapRequestLayer::new(move |request: http::Request<tonic::body::Body>| {
            let entry = (request.uri().path().to_owned(), request.headers().clone());
            recorder.lock().expect("not poisoned").push(entry);
            request
        });
        let stop = CancellationToken::new();
        let server = tonic::transport::Server::builder()
            .layer(record)
            .add_service(health_service)
            .add_service(reflection)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.clone().cancelled_owned(),
            );
        tokio::spawn(server);
        Self {
            address,
            health,
            seen,
            _stop: stop.drop_guard(),
        }
    }

    pub fn uri(&self) -> http::Uri {
        uri_of(self.address)
    }

    pub fn channel(&self) -> Channel {
        channel_to(self.address)
    }

    /// The headers of the requests to `path` that reached this upstream, oldest first.
    pub fn seen(&self, path: &str) -> Vec<http::HeaderMap> {
        let seen = self.seen.lock().expect("not poisoned");
        seen.iter()
            .filter(|(seen_path, _)| seen_path == path)
            .map(|(_, headers)| headers.clone())
            .collect()
    }
}

pub fn uri_of(address: SocketAddr) -> http::Uri {
    format!("http://{address}").parse().expect("a valid URI")
}

pub fn channel_to(address: SocketAddr) -> Channel {
    Endpoint::from(uri_of(address)).connect_lazy()
}

/// An address where nothing listens (the port was free a moment ago).
/// A loopback port where nothing answers: bound but not listening, so connections are refused,
/// and reserved for as long as the value lives, so no other test's server can take the number.
#[derive(Debug)]
pub struct Nowhere {
    socket: tokio::net::TcpSocket,
    pub address: SocketAddr,
}

impl Nowhere {
    pub fn reserve() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind port 0");
        let address = socket.local_addr().expect("bound");
        Self { socket, address }
    }

    pub fn uri(&self) -> http::Uri {
        uri_of(self.address)
    }

    /// Starts answering on the reserved port.
    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).expect("listen on the reserved port")
    }
}

pub fn all_to(uri: &http::Uri) -> Upstreams {
    Upstreams {
        registry: uri.clone(),
        intake: uri.clone(),
        allocation: uri.clone(),
        reporting: uri.clone(),
    }
}

/// A gateway serving in the background; dropping it shuts it down.
pub struct TestGateway {
    pub address: SocketAddr,
    /// Where the gateway's metrics are served, when its configuration asked for them.
    pub metrics: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    served: Option<JoinHandle<Result<(), GatewayError>>>,
}

impl TestGateway {
    pub async fn start(upstreams: Upstreams) -> Self {
        Self::start_with(upstreams, Vec::new(), Duration::from_secs(5)).await
    }

    pub async fn start_with(
        upstreams: Upstreams,
        extra_routes: Vec<(String, http::Uri)>,
        drain_timeout: Duration,
    ) -> Self {
        Self::start_configured(upstreams, extra_routes, drain_timeout, Limits::default()).await
    }

    /// A gateway with `limits` instead of the defaults.
    pub async fn start_limited(upstreams: Upstreams, extra_routes: Vec<(String, http::Uri)>, limits: Limits) -> Self {
        Self::start_configured(upstreams, extra_routes, Duration::from_secs(5), limits).await
    }

    async fn start_configured(
        upstreams: Upstreams,
        extra_routes: Vec<(String, http::Uri)>,
        drain_timeout: Duration,
        limits: Limits,
    ) -> Self {
        rti_platform::testing::init_logging();
        let mut config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("an address"),
            upstreams,
            rti_platform::testing::test_auth(),
            vec![&REGISTRY_TABLE],
        );
        config.extra_routes = extra_routes;
        config.drain_timeout = drain_timeout;
        config.limits = limits;
        Self::from_config(config).await
    }

    /// A gateway with `config` as it is.
    pub async fn from_config(config: GatewayConfig) -> Self {
        rti_platform::testing::init_logging();
        let gateway = Gateway::build(config).await.expect("the gateway starts");
        let address = gateway.local_addr();
        let metrics = gateway.metrics_addr();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(gateway.serve(shutdown.clone()));
        Self {
            address,
            metrics,
            shutdown,
            served: Some(served),
        }
    }

    pub fn channel(&self) -> Channel {
        channel_to(self.address)
    }

    /// Cancels the shutdown token and waits (boundedly) for `serve` to return.
    pub async fn stop(&mut self) -> Result<(), GatewayError> {
        self.shutdown.cancel();
        let served = self.served.take().expect("stopped once");
        tokio::time::timeout(PATIENCE, served)
            .await
            .expect("serve returns")
            .expect("serve does not panic")
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The next message of a stream, waiting at most [`PATIENCE`].
pub async fn next<T>(stream: &mut tonic::Streaming<T>) -> Result<Option<T>, tonic::Status> {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a message within the patience")
}

/// The real registry behind a gateway that serves metrics and audits writes, each on its own
/// throwaway database of one backend.
pub struct ObservedGateway {
    pub gateway: TestGateway,
    pub metrics: std::net::SocketAddr,
    pub audit: rti_platform::db::DatabaseUrl,
    _registry: DropGuard,
    _databases: [rti_platform::testing::TestDatabase; 2],
}

impl ObservedGateway {
    /// `None` when PostgreSQL tests are skipped on purpose.
    pub async fn start(backend: rti_platform::db::Backend) -> Option<Self> {
        use rti_platform::testing::{TestDatabase, test_auth};
        let registry_database = TestDatabase::create(backend).await?;
        let audit_database = TestDatabase::create(backend).await?;
        let registry = rti_registry::App::build(rti_platform::server::ServiceConfig::new(
            "127.0.0.1:0".parse().expect("an address"),
            registry_database.url.clone(),
            test_auth(),
        ))
        .await
        .expect("the registry starts");
        let registry_uri = uri_of(registry.local_addr());
        let stop = CancellationToken::new();
        tokio::spawn(registry.run_until(stop.clone()));

        let mut config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("an address"),
            all_to(&registry_uri),
            test_auth(),
            vec![&rti_registry::AUTHZ],
        );
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
        config.audit = Some(audit_database.url.clone());
        let gateway = TestGateway::from_config(config).await;
        let metrics = gateway.metrics.expect("metrics were asked for");
        Some(Self {
            gateway,
            metrics,
            audit: audit_database.url.clone(),
            _registry: stop.drop_guard(),
            _databases: [registry_database, audit_database],
        })
    }

    pub fn registry(&self) -> rti_proto::registry::registry_service_client::RegistryServiceClient<Channel> {
        rti_proto::registry::registry_service_client::RegistryServiceClient::new(self.gateway.channel())
    }

    /// `GET /metrics` on the gateway's metrics port.
    pub async fn scrape(&self) -> String {
        let (status, text) = rti_platform::testing::http_get(self.metrics, "/metrics", &[]).await;
        assert_eq!(status, 200, "{text}");
        text
    }
}
