//! What the gateway is told at start: where it listens, where each service answers, how tokens
//! are verified and which RPCs are public, and the one error type of starting and serving.

use std::net::SocketAddr;
use std::time::Duration;

use rti_platform::authz::AuthzTable;
use rti_platform::config::AuthConfig;
use rti_platform::db::{DatabaseUrl, OpenError};
use rti_platform::limits::Limits;

use super::limits::EdgeLimits;

/// Where each of the four services answers, as `http://host:port`: one address or several,
/// over which calls are balanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreams {
    pub registry: Vec<http::Uri>,
    pub intake: Vec<http::Uri>,
    pub allocation: Vec<http::Uri>,
    pub reporting: Vec<http::Uri>,
}

/// How to run the gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub upstreams: Upstreams,
    pub auth: AuthConfig,
    /// The RPC tables of the services behind the gateway: methods with Access::Public may be called without a token.
    pub authz: Vec<&'static AuthzTable>,
    /// How long in-flight calls may take to finish once shutdown starts.
    pub drain_timeout: Duration,
    /// More `(path prefix, upstream)` routes, for tests and for adding services: the longest
    /// matching prefix wins, and a route wins over the gateway's own health and reflection when
    /// it covers their path. Empty in production.
    pub extra_routes: Vec<(String, http::Uri)>,
    /// The largest message and the deadline of a call (the services' own limits, applied here
    /// first); connections, header read timeout, keep-alive and calls per connection on the
    /// port; the connect timeout to the services (a call's deadline comes from `limits.calls`,
    /// not from `limits.upstream.deadline`).
    pub limits: Limits,
    /// The edge's own: browser origins (CORS), rate limits per caller, calls in flight per
    /// upstream.
    pub edge: EdgeLimits,
    /// Where Prometheus scrapes the gateway's metrics (`/metrics`); `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// The audit log's store (`sqlite://…` or `postgres://…`); `None`: writes are not audited.
    /// The `rti` commands always give one.
    pub audit: Option<DatabaseUrl>,
}

impl GatewayConfig {
    /// A configuration with a 20 s drain timeout, no extra routes, the default limits, no
    /// CORS origin, and neither metrics nor audit.
    pub fn new(listen: SocketAddr, upstreams: Upstreams, auth: AuthConfig, authz: Vec<&'static AuthzTable>) -> Self {
        Self {
            listen,
            upstreams,
            auth,
            authz,
            drain_timeout: Duration::from_secs(20),
            extra_routes: Vec::new(),
            limits: Limits::default(),
            edge: EdgeLimits::default(),
            metrics_listen: None,
            audit: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot serve metrics on {address}: {source}")]
    MetricsBind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the audit log: {0}")]
    Audit(#[source] OpenError),
}
