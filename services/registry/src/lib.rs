//! The registry of RTI Access: the providers that operate research and technology
//! infrastructures, the infrastructures, and their installations (the unit the
//! transnational-access rules apply to). This first slice covers create, get, list and update,
//! with every change in the outbox and served by `Subscribe`.

#![forbid(unsafe_code)]

pub mod app;
pub mod convert;
pub mod domain;
pub mod grpc;
pub mod store;

pub use app::App;
pub use grpc::authz::AUTHZ;
