//! The reporting service's errors, and how they reach a gRPC caller.

use rti_platform::error::{ErrorCode, InvalidInput};
use rti_platform::store::StoreError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    /// A record id already stands for other values.
    #[error("{0}")]
    AlreadyExists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    /// A computation run off the async workers did not finish (it panicked).
    #[error("a background task failed: {0}")]
    Task(String),
}

pub type ReportingResult<T> = Result<T, ReportingError>;

impl From<sqlx::Error> for ReportingError {
    fn from(error: sqlx::Error) -> Self {
        ReportingError::Store(error.into())
    }
}

impl From<ReportingError> for Status {
    fn from(error: ReportingError) -> Self {
        match error {
            ReportingError::Invalid(invalid) => invalid.into(),
            ReportingError::PermissionDenied(reason) => ErrorCode::PermissionDenied.status(reason),
            ReportingError::NotFound(reason) => ErrorCode::NotFound.status(reason),
            ReportingError::AlreadyExists(reason) => ErrorCode::AlreadyExists.status(reason),
            ReportingError::Store(failure) => failure.status("reporting store"),
            ReportingError::Corrupt(ref problem) => {
                tracing::error!(%problem, "unreadable reporting record");
                ErrorCode::Internal.status("a stored record is unreadable")
            }
            ReportingError::Task(ref problem) => {
                tracing::error!(%problem, "reporting task failed");
                ErrorCode::Internal.status("the statistics could not be computed")
            }
        }
    }
}
