//! The edge: what serves traffic on the gateway's one port (DESIGN §2, §3). gRPC calls arrive
//! over HTTP/2 or HTTP/1 and go on, streams and trailers intact, to the service that owns their
//! package (`routes`, `proxy`, `call_body`), after authentication at the edge (`auth`,
//! DESIGN §4), with a request id (`request_id`) and W3C trace context (§7). The gateway itself
//! answers reflection (v1 and v1alpha) for all four services and health for each (`health`);
//! `server` starts and stops it from a [`GatewayConfig`] (`config`) on a port with connection,
//! header-time and keep-alive limits (`listener`); every call gets a deadline and its messages a
//! size limit on the way (`proxy`, `rti_platform::limits`). When a call ends, its metrics are
//! recorded and a write is appended to the audit log (`call_ending`, `metrics`, `crate::audit`);
//! metrics are served on a port of their own.

mod auth;
mod call_body;
mod call_ending;
mod config;
mod health;
mod listener;
mod metrics;
mod protocol;
mod proxy;
mod request_id;
mod routes;
mod server;

pub use config::{GatewayConfig, GatewayError, Upstreams};
pub use routes::Routes;
pub use server::Gateway;
