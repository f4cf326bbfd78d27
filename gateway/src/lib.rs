//! The one public door of RTI Access (DESIGN §2, §3): gRPC calls arrive on one port over HTTP/2
//! or HTTP/1 and go on, streams and trailers intact, to the service that owns their package,
//! after authentication at the edge (§4), with a request id and W3C trace context (§7). The
//! gateway itself answers reflection (v1 and v1alpha) for all four services and health for each.
//! [`suite`] runs the four services and the gateway in one process (`rti up`), with [`demo`] data
//! (a catalogue, [`demo_requests`] in intake, [`demo_calls`] in allocation) and a [`dev_secret`];
//! the `rti` binary (`src/main.rs`) is the command line over all of it.

#![forbid(unsafe_code)]

mod call_body;
mod config;
pub mod demo;
pub mod demo_calls;
pub mod demo_requests;
pub mod demo_usage;
pub mod dev_secret;
mod edge_auth;
mod gateway;
mod health;
mod proxy;
mod request_id;
mod routes;
pub mod suite;

pub use config::{GatewayConfig, GatewayError, Upstreams};
pub use gateway::Gateway;
pub use routes::Routes;
