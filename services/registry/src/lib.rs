//! The registry of RTI Access: the providers that operate research and technology
//! infrastructures, the infrastructures, their installations (the unit the
//! transnational-access rules apply to) with tariffs and capacity calendars, and the
//! multilingual search over them, by words and by meaning. Every change goes to the outbox and
//! is served by `Subscribe`.

#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod convert;
pub mod domain;
pub mod grpc;
pub mod search;
pub mod store;

pub use app::App;
pub use config::Options;
pub use grpc::authz::AUTHZ;
