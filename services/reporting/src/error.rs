//! The reporting service's errors, and how they reach a gRPC caller.

use rti_platform::db::{DbFailure, classify};
use rti_platform::error::{ErrorCode, InvalidInput, internal_status};
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
    #[error("the store is busy; retry")]
    Contention,
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("the store failed: {0}")]
    Store(#[source] sqlx::Error),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    /// A computation run off the async workers did not finish (it panicked).
    #[error("a background task failed: {0}")]
    Task(String),
}

pub type ReportingResult<T> = Result<T, ReportingError>;

impl From<sqlx::Error> for ReportingError {
    fn from(error: sqlx::Error) -> Self {
        match classify(&error) {
            DbFailure::Contention => ReportingError::Contention,
            DbFailure::Unavailable => ReportingError::Unavailable(error),
            _ => ReportingError::Store(error),
        }
    }
}

impl From<ReportingError> for Status {
    fn from(error: ReportingError) -> Self {
        match error {
            ReportingError::Invalid(invalid) => invalid.into(),
            ReportingError::PermissionDenied(reason) => ErrorCode::PermissionDenied.status(reason),
            ReportingError::NotFound(reason) => ErrorCode::NotFound.status(reason),
            ReportingError::AlreadyExists(reason) => ErrorCode::AlreadyExists.status(reason),
            ReportingError::Contention => ErrorCode::Aborted.status(error.to_string()),
            ReportingError::Unavailable(ref source) => {
                tracing::warn!(error = %source, "reporting store unavailable");
                ErrorCode::Unavailable.status(error.to_string())
            }
            ReportingError::Store(ref source) => internal_status("reporting store failure", source),
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
