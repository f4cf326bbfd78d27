//! The `ReportingService` gRPC adapter: each handler converts the request, calls one operation
//! of [`crate::service::ReportingService`], and converts the answer back.

pub mod authz;
mod convert;
mod server;

pub use server::ReportingApi;
