//! Test upstreams (tonic servers with health and reflection that record what reaches them), a
//! gateway started on port 0, and bounded waits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rti_gateway::{EdgeLimits, Gateway, GatewayConfig, GatewayError, Upstreams};
use rti_platform::auth::Role;
use rti_platform::authz::{Access, AuthzTable, RpcRule};
use rti_platform::limits::Limits;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
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
    served: JoinHandle<Result<(), tonic::transport::Error>>,
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
        let served = tokio::spawn(server);
        Self {
            address,
            health,
            seen,
            served,
            _stop: stop.drop_guard(),
        }
    }

    /// Stops serving and waits (boundedly) until every connection to it is closed.
    pub async fn stop(self) {
        let Self { served, _stop, .. } = self;
        drop(_stop);
        tokio::time::timeout(PATIENCE, served)
            .await
            .expect("the upstream stops")
            .expect("the upstream does not panic")
            .expect("the upstream stops cleanly");
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

/// A health service whose checks wait until its gate opens (never, unless a test opens it); it
/// counts the checks that arrived. A stand-in for a slow or saturated service.
#[derive(Clone)]
pub struct Gated {
    pub gate: Arc<tokio::sync::Semaphore>,
    pub arrived: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for Gated {
    /// Closed.
    fn default() -> Self {
        Self {
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            arrived: Arc::default(),
        }
    }
}

#[tonic::async_trait]
impl Health for Gated {
    async fn check(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        self.arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _pass = self
            .gate
            .acquire()
            .await
            .map_err(|_| tonic::Status::aborted("the gate was closed for good"))?;
        Ok(tonic::Response::new(HealthCheckResponse { status: 1 }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Ok(tonic::Response::new(tokio_stream::empty()))
    }
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
        registry: vec![uri.clone()],
        intake: vec![uri.clone()],
        allocation: vec![uri.clone()],
        reporting: vec![uri.clone()],
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

    /// A gateway with the edge's own limits `edge` (CORS, rate limits, calls in flight).
    pub async fn start_guarded(upstreams: Upstreams, extra_routes: Vec<(String, http::Uri)>, edge: EdgeLimits) -> Self {
        Self::start_with_config(upstreams, extra_routes, |config| config.edge = edge).await
    }

    async fn start_configured(
        upstreams: Upstreams,
        extra_routes: Vec<(String, http::Uri)>,
        drain_timeout: Duration,
        limits: Limits,
    ) -> Self {
        Self::start_with_config(upstreams, extra_routes, |config| {
            config.drain_timeout = drain_timeout;
            config.limits = limits;
        })
        .await
    }

    async fn start_with_config(
        upstreams: Upstreams,
        extra_routes: Vec<(String, http::Uri)>,
        configure: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        rti_platform::testing::init_logging();
        let mut config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("an address"),
            upstreams,
            rti_platform::testing::test_auth(),
            vec![&REGISTRY_TABLE],
        );
        config.extra_routes = extra_routes;
        config.drain_timeout = Duration::from_secs(5);
        configure(&mut config);
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

/// An HTTP client for the REST side, giving up after [`PATIENCE`].
pub fn rest_client() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own; these tests speak plain HTTP.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(PATIENCE).build().expect("a client")
}

pub fn url(address: SocketAddr, path: &str) -> String {
    format!("http://{address}{path}")
}

/// The value of the attribute `key` of a finished span.
pub fn attribute(span: &opentelemetry_sdk::trace::SpanData, key: &'static str) -> Option<opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == opentelemetry::Key::from_static_str(key))
        .map(|attribute| attribute.value.clone())
}

/// POSTs `body` as JSON with `bearer`, and the answer's status and JSON body.
pub async fn post_json(
    address: SocketAddr,
    path: &str,
    bearer: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = rest_client()
        .post(url(address, path))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .expect("answers");
    json_of(response).await
}

pub async fn json_of(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json::<serde_json::Value>().await.expect("a JSON body");
    (status, body)
}

/// The next message of a stream, waiting at most [`PATIENCE`].
pub async fn next<T>(stream: &mut tonic::Streaming<T>) -> Result<Option<T>, tonic::Status> {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a message within the patience")
}

/// A gRPC-Web transport over HTTP/1.1, as a browser's gRPC-Web client calls.
pub type WebTransport = tonic_web::GrpcWebClientService<
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        tonic_web::GrpcWebCall<tonic::body::Body>,
    >,
>;

/// A gRPC-Web transport to `address`, and the origin to give generated clients.
pub fn grpc_web(address: SocketAddr) -> (WebTransport, http::Uri) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let transport = tower::ServiceBuilder::new()
        .layer(tonic_web::GrpcWebClientLayer::new())
        .service(client);
    (transport, uri_of(address))
}

/// Spans finished under the returned guard (on this thread: a current-thread runtime runs the
/// gateway's tasks here) land in the returned exporter.
pub fn capture_spans() -> (
    opentelemetry_sdk::trace::InMemorySpanExporter,
    tracing::subscriber::DefaultGuard,
) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;

    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    (exporter, tracing::subscriber::set_default(subscriber))
}

/// Waits (boundedly) until `count` spans named `name` have finished; returns them.
pub async fn finished_spans(
    exporter: &opentelemetry_sdk::trace::InMemorySpanExporter,
    name: &str,
    count: usize,
) -> Vec<opentelemetry_sdk::trace::SpanData> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let spans: Vec<_> = exporter
                .get_finished_spans()
                .expect("in memory")
                .into_iter()
                .filter(|span| span.name == name)
                .collect();
            if spans.len() >= count {
                return spans;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the spans end")
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
        Self::start_guarded(backend, EdgeLimits::default()).await
    }

    /// The same, with the edge's limits `edge`.
    pub async fn start_guarded(backend: rti_platform::db::Backend, edge: EdgeLimits) -> Option<Self> {
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
        config.edge = edge;
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
