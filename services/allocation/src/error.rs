//! The allocation's errors, and how they reach a gRPC caller.

use rti_platform::error::{ErrorCode, InvalidInput};
use rti_platform::store::{KeyReused, StoreError};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum AllocationError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    /// The record's state refuses the call (a call already allocated, an expired hold).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Another service answered with an error the caller should see as it is (the registry
    /// refusing a reservation for lack of capacity).
    #[error("{service}: {message}")]
    Upstream {
        service: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
}

pub type AllocationResult<T> = Result<T, AllocationError>;

impl AllocationError {
    pub fn not_found(entity: &'static str, id: &str) -> Self {
        Self::NotFound {
            entity,
            id: id.to_owned(),
        }
    }

    pub fn upstream(service: &'static str, status: &Status) -> Self {
        Self::Upstream {
            service,
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

impl From<sqlx::Error> for AllocationError {
    fn from(error: sqlx::Error) -> Self {
        AllocationError::Store(error.into())
    }
}

impl From<serde_json::Error> for AllocationError {
    fn from(error: serde_json::Error) -> Self {
        AllocationError::Corrupt(error.to_string())
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
        }
    }
}
