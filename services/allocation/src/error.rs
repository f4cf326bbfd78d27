//! The allocation's errors; `grpc` maps them onto gRPC statuses.

use rti_platform::error::InvalidInput;
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
    /// Work moved off the async workers (the solver) stopped before it finished.
    #[error("{0}")]
    Task(String),
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
