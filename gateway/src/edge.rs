//! The edge: what serves traffic on the gateway's one port (DESIGN §2, §3). gRPC calls arrive
//! over HTTP/2 or HTTP/1 and go on, streams and trailers intact, to the service that owns their
//! package (`routes`, `proxy`, `call_body`), after authentication at the edge (`auth`,
//! DESIGN §4), with a request id (`request_id`) and W3C trace context (§7). The gateway itself
//! answers reflection (v1 and v1alpha) for all four services and health for each (`health`);
//! `server` starts and stops it from a [`GatewayConfig`] (`config`) on a port with connection,
//! header-time and keep-alive limits (`listener`); every call gets a deadline and its messages a
//! size limit on the way (`proxy`, `rti_platform::limits`). REST/JSON under `/v1/` is transcoded
//! from the protos' `google.api.http` rules into calls through the same pass-through (`rest`).
//! Browsers call over gRPC-Web, with CORS for the configured origins (`web`); callers are rate
//! limited by principal (`rate`), an upstream takes a bounded number of calls at once (`shed`)
//! over one or several addresses (`balance`), all set in [`EdgeLimits`] (`limits`).
//! When a call ends, its metrics are recorded and a write is appended to the audit log
//! (`call_ending`, `metrics`, `crate::audit`); metrics are served on a port of their own.

mod auth;
mod balance;
mod call_body;
mod call_ending;
mod config;
mod health;
mod limits;
mod listener;
mod metrics;
mod protocol;
mod proxy;
mod rate;
mod request_id;
mod rest;
mod routes;
mod server;
mod shed;
mod web;

pub use config::{GatewayConfig, GatewayError, Upstreams};
pub use limits::{EdgeLimits, QuotaSetting, QuotaValue, Who};
pub use routes::Routes;
pub use server::Gateway;

/// The REST transcoder's path matching and request reading, for the fuzz targets in `fuzz/` only.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use rest::fuzzing as rest_fuzzing;
