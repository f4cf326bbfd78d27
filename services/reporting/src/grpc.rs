//! The `ReportingService` gRPC adapter: each handler converts the request, calls one operation
//! of [`crate::service::ReportingService`], and converts the answer back.

pub mod authz;
mod convert;
mod server;

/// The request readers, for the fuzz targets in `fuzz/` only: they feed them arbitrary messages
/// without a server around them.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use super::convert::*;
}

pub use server::ReportingApi;
