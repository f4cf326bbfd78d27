//! The intake service of RTI Access: requesting organisations (with their SME category computed),
//! people and user groups, access requests in the industrial-user lane and the transnational-access
//! lane with their status machines, and research-security screening at submission against the
//! imported EU sanctions list.
//!
//! Layers: `grpc` (handlers, reading requests into commands) → `service` (the operations) →
//! `domain` (types and rules) ← `store` (SQL); `convert` is the protobuf form of the domain's
//! entities, and `catalogue` the registry's client.

#![forbid(unsafe_code)]

mod agreements;
pub mod app;
pub mod catalogue;
pub mod convert;
pub mod domain;
pub mod grpc;
pub mod rescreener;
pub mod service;
pub mod store;

pub use app::App;
pub use grpc::authz::AUTHZ;
