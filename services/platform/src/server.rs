//! Server bootstrap for every service: [`Host::build`] checks the configuration, opens the store
//! (migrations applied) and binds the listener, in that order, so bad configuration fails before
//! any port is bound. [`Host::serve`] serves the service with health (SERVING only while the
//! store answers), reflection v1 and v1alpha, request spans, call deadlines, authentication and
//! the RPC table, per-call message limits, a connection cap and HTTP/2 keep-alive (`limits`),
//! and RPC metrics on a port of their own when asked (`metrics`), until the shutdown token
//! fires; then health turns NOT_SERVING, streams end, in-flight calls drain under a timeout.

mod layers;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::auth::{Authenticator, Principal};
use crate::authz::AuthzTable;
use crate::config::AuthConfig;
use crate::db::{Database, DatabaseUrl, Migrations, OpenError};
use crate::events::Outbox;
use crate::limits::{CallLimitsLayer, ConnectionCap, Limits};
use crate::metrics::{MetricsEndpoint, RpcMetrics, RpcMetricsLayer};
pub use layers::{AuthLayer, InFlight, InFlightGuard, REQUEST_ID_HEADER, RequestLayer};

/// What the platform needs to know about a service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Short name used in events, logs and file names: `registry`.
    pub name: &'static str,
    /// The RPC × role table, which also names the gRPC service.
    pub authz: &'static AuthzTable,
    pub migrations: &'static Migrations,
}

/// How to run one service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    pub max_connections: u32,
    pub auth: AuthConfig,
    /// How long in-flight calls may take to finish once shutdown starts.
    pub drain_timeout: Duration,
    /// How often health re-checks the store.
    pub readiness_interval: Duration,
    /// The largest message and the deadline of a call; connections, keep-alive and calls per
    /// connection; how calls to the suite's other services are made.
    pub limits: Limits,
    /// Where Prometheus scrapes the service's RPC metrics (`/metrics`); `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
}

impl ServiceConfig {
    pub fn new(listen: SocketAddr, database_url: DatabaseUrl, auth: AuthConfig) -> Self {
        Self {
            listen,
            database_url,
            max_connections: 8,
            auth,
            drain_timeout: Duration::from_secs(20),
            readiness_interval: Duration::from_secs(5),
            limits: Limits::default(),
            metrics_listen: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {address}: {source}")]
    MetricsBind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("the server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A service's own start-up step failed (e.g. the registry's search index).
    #[error("{0}")]
    Service(Box<dyn std::error::Error + Send + Sync>),
}

/// A service that is ready to serve: configuration checked, store open, port bound.
#[derive(Debug)]
pub struct Host {
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    local_addr: SocketAddr,
    database: Database,
    outbox: Outbox,
    authenticator: Authenticator,
    in_flight: InFlight,
    stopping: CancellationToken,
    /// Parts of the service health reports on under names of their own (see
    /// [`Host::report_component`]).
    components: Vec<(&'static str, bool)>,
    /// The metrics port, bound, when metrics are asked for.
    metrics: Option<MetricsEndpoint>,
}

impl Host {
    pub async fn build(spec: ServiceSpec, config: ServiceConfig) -> Result<Self, StartError> {
        let authenticator = Authenticator::new(&config.auth).map_err(StartError::Config)?;
        config.limits.validate().map_err(StartError::Config)?;
        let database = Database::open(&config.database_url, spec.migrations, config.max_connections).await?;
        let metrics = match config.metrics_listen {
            Some(address) => Some(
                MetricsEndpoint::bind(address)
                    .await
                    .map_err(|source| StartError::MetricsBind { address, source })?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind {
                address: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.listen,
            source,
        })?;
        let outbox = Outbox::new(database.clone(), spec.name);
        Ok(Self {
            spec,
            config,
            listener,
            local_addr,
            database,
            outbox,
            authenticator,
            in_flight: InFlight::default(),
            stopping: CancellationToken::new(),
            components: Vec::new(),
            metrics,
        })
    }

    /// Has health report a part of the service under `name` (e.g. `rti.registry.v1.SemanticSearch`):
    /// SERVING while the service serves if `serving`, NOT_SERVING otherwise, so that a probe can
    /// tell a service that runs without one of its parts from one that has it. The service's own
    /// status does not depend on it.
    pub fn report_component(&mut self, name: &'static str, serving: bool) {
        self.components.retain(|(existing, _)| *existing != name);
        self.components.push((name, serving));
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the service's metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsEndpoint::local_addr)
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The largest message any call of this service may carry: its generated server's decoding
    /// limit, behind the per-call check.
    pub fn max_decoding_message_size(&self) -> usize {
        self.config
            .limits
            .calls
            .largest_message_bytes_of_service(self.spec.authz.service)
    }

    /// Calls being handled right now.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// Fires when shutdown starts: long-lived streams end on it.
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Serves `routes` (the service itself) with health and reflection until `shutdown` fires,
    /// then drains.
    pub async fn serve(self, routes: Routes, shutdown: CancellationToken) -> Result<(), StartError> {
        let service_name = self.spec.authz.service;
        let (health, health_service) = tonic_health::server::health_reporter();
        // Decide the first status before answering anything, so no probe sees a stale one.
        let initial = readiness_of(&self.database).await;
        health.set_service_status("", initial).await;
        health.set_service_status(service_name, initial).await;
        for (component, serving) in &self.components {
            let status = if *serving {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            health.set_service_status(*component, status).await;
        }
        let readiness = tokio::spawn(track_readiness(
            health.clone(),
            service_name,
            self.components.iter().map(|(name, _)| *name).collect(),
            self.database.clone(),
            self.config.readiness_interval,
            initial,
            self.stopping.clone(),
        ));

        let routes = routes
            .add_service(health_service)
            .add_service(reflection_v1(&[service_name])?)
            .add_service(reflection_v1alpha(&[service_name])?);
        let rpc_metrics = self.metrics.map(|endpoint| {
            let mut registry = prometheus_client::registry::Registry::default();
            let rpc_metrics = RpcMetrics::register(&mut registry, self.spec.authz);
            tokio::spawn(endpoint.serve(std::sync::Arc::new(registry), self.stopping.clone()));
            rpc_metrics
        });
        // Metrics see every call, refused ones too. Authentication (a JWKS fetch has its own
        // timeout) comes before the deadline and the message limit, which apply to callers who
        // passed it.
        let layers = tower::ServiceBuilder::new()
            .layer(RpcMetricsLayer::new(rpc_metrics))
            .layer(RequestLayer::new(self.in_flight.clone()))
            .layer(AuthLayer::new(self.authenticator.clone(), self.spec.authz))
            .layer(CallLimitsLayer::new(self.config.limits.calls.clone()))
            .into_inner();
        let listener_limits = &self.config.limits.listener;
        let incoming = ConnectionCap::new(listener_limits.connection_limit)
            .incoming(TcpIncoming::from(self.listener).with_nodelay(Some(true)));
        let (stop_accepting, stop_signal) = tokio::sync::oneshot::channel::<()>();
        let mut server = tokio::spawn(
            tonic::transport::Server::builder()
                .http2_keepalive_interval(Some(listener_limits.http2_keepalive_interval))
                .http2_keepalive_timeout(Some(listener_limits.http2_keepalive_timeout))
                .max_concurrent_streams(listener_limits.max_calls_per_connection)
                .concurrency_limit_per_connection(
                    usize::try_from(listener_limits.max_calls_per_connection).unwrap_or(usize::MAX),
                )
                .layer(layers)
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stop_signal.await;
                }),
        );
        tracing::info!(service = self.spec.name, address = %self.local_addr, "serving");

        tokio::select! {
            finished = &mut server => {
                self.stopping.cancel();
                return finished?.map_err(StartError::from);
            }
            () = shutdown.cancelled() => {}
        }

        // Health first, so balancers stop sending; then streams end and calls drain.
        self.stopping.cancel();
        let _ = readiness.await;
        let _ = stop_accepting.send(());
        let outcome = match tokio::time::timeout(self.config.drain_timeout, &mut server).await {
            Ok(finished) => finished?.map_err(StartError::from),
            Err(_) => {
                tracing::warn!(
                    service = self.spec.name,
                    in_flight = self.in_flight.count(),
                    "drain timeout elapsed; dropping the calls still in flight"
                );
                server.abort();
                Ok(())
            }
        };
        self.database.close().await;
        tracing::info!(service = self.spec.name, "stopped");
        outcome
    }
}

/// Keeps health in step with the store until `stopping` fires, then reports NOT_SERVING.
async fn track_readiness(
    health: tonic_health::server::HealthReporter,
    service_name: &'static str,
    components: Vec<&'static str>,
    database: Database,
    interval: Duration,
    initial: ServingStatus,
    stopping: CancellationToken,
) {
    let mut last = initial;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stopping.cancelled() => break,
        }
        let status = readiness_of(&database).await;
        if last != status {
            if status == ServingStatus::NotServing {
                tracing::warn!(service = service_name, "store unreachable; health NOT_SERVING");
            }
            health.set_service_status("", status).await;
            health.set_service_status(service_name, status).await;
            last = status;
        }
    }
    health.set_service_status("", ServingStatus::NotServing).await;
    health.set_service_status(service_name, ServingStatus::NotServing).await;
    for component in components {
        health.set_service_status(component, ServingStatus::NotServing).await;
    }
}

async fn readiness_of(database: &Database) -> ServingStatus {
    if database.ping().await {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

fn reflection_builder<'a>(services: &[&'a str]) -> tonic_reflection::server::Builder<'a> {
    services.iter().fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(rti_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health"),
        |builder, service| builder.with_service_name(*service),
    )
}

/// Reflection v1 listing `services` and health.
pub fn reflection_v1(
    services: &[&str],
) -> Result<
    tonic_reflection::pb::v1::server_reflection_server::ServerReflectionServer<
        impl tonic_reflection::pb::v1::server_reflection_server::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    reflection_builder(services).build_v1()
}

/// Reflection v1alpha (older grpcurl and grpcui ask for it) listing `services` and health.
pub fn reflection_v1alpha(
    services: &[&str],
) -> Result<
    tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflectionServer<
        impl tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    reflection_builder(services).build_v1alpha()
}

/// The verified caller of a request, if it carried a token (set by [`AuthLayer`]).
pub fn principal<T>(request: &tonic::Request<T>) -> Option<&Principal> {
    request.extensions().get::<Principal>()
}

/// The caller of an RPC the table reserves for some roles: the auth layer guarantees one, so its
/// absence is `UNAUTHENTICATED`.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    principal(request)
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated("this call needs a bearer token"))
}
