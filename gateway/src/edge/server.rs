//! Starting and stopping the gateway: [`Gateway::build`] checks the configuration, opens lazy
//! channels to the upstreams and the audit log, and binds the port (and the metrics port), in
//! that order, so bad configuration fails before any port is bound; [`Gateway::serve`] serves
//! HTTP/2 (prior knowledge) and HTTP/1 on that one port (`listener`) until shutdown, then drains
//! under a timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::handler::Handler;
use prometheus_client::registry::Registry;
use rti_platform::auth::Authenticator;
use rti_platform::error::error_chain;
use rti_platform::limits::{ListenerLimits, UpstreamLimits};
use rti_platform::metrics::MetricsEndpoint;
use rti_platform::server::{InFlight, reflection_v1, reflection_v1alpha};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic_health::pb::health_server::HealthServer;

use super::auth::EdgeAuth;
use super::call_ending::Observers;
use super::config::{GatewayConfig, GatewayError};
use super::health::{GatewayHealth, HealthControl, health_service};
use super::listener::serve_until;
use super::metrics::GatewayMetrics;
use super::proxy::{Proxy, forward};
use super::rate::RateLimiter;
use super::request_id::assign_request_id;
use super::rest::Rest;
use super::routes::{RouteTable, Routes};
use super::web;
use crate::audit::{AuditLog, AuditStore, export_routes};

/// A gateway that is ready to serve: configuration checked, port bound.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    health: HealthControl,
    in_flight: InFlight,
    hard_stop: CancellationToken,
    drain_timeout: Duration,
    limits: ListenerLimits,
    /// The metrics port, bound, and what it serves.
    metrics: Option<(MetricsEndpoint, Arc<Registry>)>,
    audit: Option<AuditStore>,
}

impl Gateway {
    /// Checks the configuration, opens lazy channels to the upstreams (so the gateway starts
    /// while a service is still starting), opens the audit log (migrations applied) and binds
    /// the port and the metrics port (0 picks a free one), in that order.
    pub async fn build(config: GatewayConfig) -> Result<Gateway, GatewayError> {
        // The gateway never holds the service secret: a service token from outside is not even
        // verifiable here (item 4 of docs/security.md).
        let edge_auth = rti_platform::config::AuthConfig {
            service_secret: None,
            ..config.auth.clone()
        };
        let authenticator = Authenticator::new(&edge_auth).map_err(GatewayError::Config)?;
        config.limits.validate().map_err(GatewayError::Config)?;
        config.edge.validate().map_err(GatewayError::Config)?;
        let routes = config
            .extra_routes
            .iter()
            .fold(Routes::from_upstreams(&config.upstreams), |routes, (prefix, uri)| {
                routes.with_route(prefix, uri.clone())
            });
        // Every call carries its own deadline (`calls`); the channel's is a backstop as long as
        // the longest a call may take.
        let channel_limits = UpstreamLimits {
            deadline: config.limits.calls.max_bulk_deadline,
            ..config.limits.upstream.clone()
        };
        let table = routes.connect(&channel_limits, config.edge.upstream_max_in_flight)?;
        if let Some(orphan) = config.authz.iter().find(|authz| !table.covers_service(authz.service)) {
            return Err(GatewayError::Config(format!(
                "the RPC table of {} has no upstream to send its calls to",
                orphan.service
            )));
        }

        let audit = match &config.audit {
            Some(url) => Some(open_audit(url).await?),
            None => None,
        };
        let mut registry = Registry::default();
        let metrics = config
            .metrics_listen
            .map(|_| GatewayMetrics::register(&mut registry, &config.authz));
        let audit_log = audit.clone().map(|store| {
            let failures = metrics.as_ref().map(GatewayMetrics::audit_failures).unwrap_or_default();
            AuditLog::new(store, failures)
        });

        let (health, health_server) = health_service(table.clone());
        let in_flight = InFlight::default();
        let hard_stop = CancellationToken::new();
        let proxy = Proxy::new(
            table.clone(),
            EdgeAuth::new(authenticator.clone(), config.authz.clone()),
            in_flight.clone(),
            hard_stop.clone(),
            config.limits.calls.clone(),
            RateLimiter::new(config.edge.quotas(), config.edge.rate_limit_max_callers),
            Observers::new(metrics, audit_log),
        );
        let rest = Rest::new(proxy.clone(), config.limits.calls.clone(), &config.authz)?;
        let audit_export = audit
            .clone()
            .map(|store| export_routes(store, authenticator))
            .unwrap_or_default();
        let router = web::front(
            router(&table, health_server, proxy, rest.router().merge(audit_export))?,
            &config.edge.cors_origins,
        );

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                address: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| GatewayError::Bind {
            address: config.listen,
            source,
        })?;
        let metrics = match config.metrics_listen {
            Some(address) => Some((
                MetricsEndpoint::bind(address)
                    .await
                    .map_err(|source| GatewayError::MetricsBind { address, source })?,
                Arc::new(registry),
            )),
            None => None,
        };
        Ok(Gateway {
            listener,
            local_addr,
            router,
            health,
            in_flight,
            hard_stop,
            drain_timeout: config.drain_timeout,
            limits: config.limits.listener,
            metrics,
            audit,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the gateway's metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(endpoint, _)| endpoint.local_addr())
    }

    /// Serves until `shutdown` fires; then health turns NOT_SERVING, the port stops accepting,
    /// and calls in flight drain under the drain timeout.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), GatewayError> {
        let Gateway {
            listener,
            local_addr,
            router,
            health,
            in_flight,
            hard_stop,
            drain_timeout,
            limits,
            metrics,
            audit,
        } = self;
        // Metrics are scraped until the calls have drained, so the last ones are seen.
        let metrics_stop = CancellationToken::new();
        if let Some((endpoint, registry)) = metrics {
            tokio::spawn(endpoint.serve(registry, metrics_stop.clone()));
        }
        let stop_accepting = CancellationToken::new();
        let accepting = serve_until(listener, router, &limits, stop_accepting.clone());
        let mut accepting = std::pin::pin!(accepting);
        health.set_serving();
        tracing::info!(address = %local_addr, "gateway listening");
        // The accept loop ends only when told to.
        tokio::select! {
            _ = &mut accepting => {}
            () = shutdown.cancelled() => {}
        }

        // Health first, so balancers stop sending; then no new connections, and calls drain.
        health.stop();
        stop_accepting.cancel();
        let open = accepting.await;
        match tokio::time::timeout(drain_timeout, open.shutdown()).await {
            Ok(()) => {}
            Err(_) => {
                tracing::warn!(
                    in_flight = in_flight.count(),
                    drain_timeout_ms = u64::try_from(drain_timeout.as_millis()).unwrap_or(u64::MAX),
                    "drain timeout elapsed; ending the calls still in flight"
                );
                hard_stop.cancel();
            }
        }
        metrics_stop.cancel();
        if let Some(store) = audit {
            store.close().await;
        }
        tracing::info!("gateway stopped");
        Ok(())
    }
}

/// Everything on the one port. The gateway's own gRPC services answer their paths unless a
/// route covers them (a route to an upstream wins); every other path goes to the pass-through.
/// More routers (REST under `/v1`, the audit export `more`) merge here, before the request-id
/// layer so it covers them.
fn router(
    routes: &RouteTable,
    health: HealthServer<GatewayHealth>,
    proxy: Proxy,
    more: axum::Router,
) -> Result<axum::Router, GatewayError> {
    let services = &rti_proto::SERVICE_NAMES;
    let mut local = tonic::service::Routes::default();
    if !routes.covers_service(name_of(&health)) {
        local = local.add_service(health);
    }
    let reflection = reflection_v1(services)?;
    if !routes.covers_service(name_of(&reflection)) {
        local = local.add_service(reflection);
    }
    let reflection_alpha = reflection_v1alpha(services)?;
    if !routes.covers_service(name_of(&reflection_alpha)) {
        local = local.add_service(reflection_alpha);
    }
    Ok(local
        .into_axum_router()
        .merge(more)
        .fallback_service(forward.with_state(proxy))
        .layer(axum::middleware::from_fn(assign_request_id)))
}

/// Opens the audit log and logs its head: logs kept elsewhere then hold anchors for
/// `rti audit verify --anchor`.
async fn open_audit(url: &rti_platform::db::DatabaseUrl) -> Result<AuditStore, GatewayError> {
    let store = AuditStore::open(url).await.map_err(GatewayError::Audit)?;
    match store.head().await {
        Ok((sequence, hash)) => tracing::info!(anchor = %format!("{sequence}:{hash}"), "audit log opened"),
        Err(error) => tracing::warn!(error = %error_chain(&error), "cannot read the audit log's head"),
    }
    Ok(store)
}

fn name_of<S: NamedService>(_service: &S) -> &'static str {
    S::NAME
}
