//! What every RTI Access service stands on: configuration pieces, telemetry, the shared error
//! codes, storage on SQLite and PostgreSQL, JWT authentication and the RPC × role table, the
//! outbox with its `Subscribe` stream, idempotency keys, pagination, Prometheus RPC metrics, and
//! the server bootstrap with health, reflection and graceful shutdown.

#![forbid(unsafe_code)]

pub mod auth;
pub mod authz;
pub mod config;
pub mod country;
pub mod db;
pub mod enums;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod lease;
pub mod limits;
pub mod metrics;
pub mod pagination;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod validate;

#[cfg(feature = "testing")]
pub mod testing;
