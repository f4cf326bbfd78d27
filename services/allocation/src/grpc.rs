//! The allocation's gRPC face: the `AllocationService` handlers over the application layer,
//! the RPC × role table, the conversion of requests into the operations' commands, and the
//! mapping of [`AllocationError`] onto gRPC statuses.

pub mod authz;
mod convert;
mod server;
mod validate;

/// The request readers, for the fuzz targets in `fuzz/` only: they feed them arbitrary messages
/// without a server around them.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use super::convert::*;
}

use rti_platform::error::{ErrorCode, InvalidInput};
use rti_platform::events::Outbox;
use rti_platform::server::caller;
use tokio_util::sync::CancellationToken;
use tonic::{Response, Status};

use crate::error::AllocationError;
use crate::service::AllocationService;

type Reply<T> = Result<Response<T>, Status>;

/// The handlers: each converts its request, calls one operation, converts the answer.
#[derive(Debug, Clone)]
pub struct AllocationApi {
    service: AllocationService,
    outbox: Outbox,
    stopping: CancellationToken,
}

impl AllocationApi {
    /// The handlers over `service`; `Subscribe` streams `outbox` until `stopping` fires.
    pub fn new(service: AllocationService, outbox: Outbox, stopping: CancellationToken) -> Self {
        Self {
            service,
            outbox,
            stopping,
        }
    }
}

impl From<AllocationError> for Status {
    fn from(error: AllocationError) -> Self {
        match error {
            AllocationError::Invalid(invalid) => invalid.into(),
            AllocationError::NotFound { .. } => ErrorCode::NotFound.status(error.to_string()),
            AllocationError::PermissionDenied(reason) => ErrorCode::PermissionDenied.status(reason),
            AllocationError::FailedPrecondition(reason) => ErrorCode::FailedPrecondition.status(reason),
            AllocationError::Upstream { code, .. } => match code {
                // The other service's verdict on the request itself is passed on.
                tonic::Code::FailedPrecondition
                | tonic::Code::ResourceExhausted
                | tonic::Code::InvalidArgument
                | tonic::Code::NotFound
                | tonic::Code::AlreadyExists => Status::new(code, error.to_string()),
                _ => ErrorCode::Unavailable.status(error.to_string()),
            },
            AllocationError::KeyReused(reused) => InvalidInput::single(reused.field, reused.to_string()).into(),
            AllocationError::Store(failure) => failure.status("allocation store"),
            AllocationError::Corrupt(ref problem) => {
                tracing::error!(%problem, "unreadable allocation record");
                ErrorCode::Internal.status("a stored record is unreadable")
            }
            AllocationError::Task(ref problem) => {
                tracing::error!(%problem, "background work failed");
                ErrorCode::Internal.status("the allocation could not be computed")
            }
        }
    }
}
