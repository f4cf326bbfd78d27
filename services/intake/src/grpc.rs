//! The gRPC adapter of the intake: the `IntakeService` handlers, the reading of requests into
//! commands, the RPC × role table, and the one mapping of [`IntakeError`] to a gRPC status.

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

use rti_platform::error::{ErrorCode, InvalidInput};
use tonic::Status;

use crate::domain::IntakeError;

pub use server::IntakeApi;

impl From<IntakeError> for Status {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::Invalid(invalid) => invalid.into(),
            IntakeError::NotFound { .. } => ErrorCode::NotFound.status(error.to_string()),
            IntakeError::PermissionDenied(reason) => ErrorCode::PermissionDenied.status(reason),
            IntakeError::FailedPrecondition(reason) => ErrorCode::FailedPrecondition.status(reason),
            IntakeError::AlreadyExists(reason) => ErrorCode::AlreadyExists.status(reason),
            IntakeError::KeyReused(reused) => InvalidInput::single(reused.field, reused.to_string()).into(),
            IntakeError::Registry(_) => ErrorCode::Unavailable.status(error.to_string()),
            IntakeError::Store(failure) => failure.status("intake store"),
            IntakeError::Corrupt(ref problem) => {
                tracing::error!(%problem, "unreadable intake record");
                ErrorCode::Internal.status("a stored record is unreadable")
            }
            IntakeError::Task(ref problem) => {
                tracing::error!(%problem, "background work failed");
                ErrorCode::Internal.status("the work could not be finished")
            }
        }
    }
}
