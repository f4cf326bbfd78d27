//! The intake's domain rules, free of tonic and SQL.

pub mod aid;
pub mod clock;
pub mod lifecycle;
pub mod names;
pub mod sanctions_csv;
pub mod sanctions_xml;
pub mod screening;
pub mod sme;

use rti_platform::error::InvalidInput;
use rti_platform::store::{KeyReused, StoreError};

pub use rti_platform::time::{date_micros, time_micros};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    /// The record's state refuses the call (an illegal transition, no sanctions list yet).
    #[error("{0}")]
    FailedPrecondition(String),
    /// An id the caller chose is already taken.
    #[error("{0}")]
    AlreadyExists(String),
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
    /// The registry could not answer a question intake must ask it.
    #[error("the registry did not answer: {0}")]
    Registry(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
}

pub type IntakeResult<T> = Result<T, IntakeError>;

impl IntakeError {
    pub fn not_found(entity: &'static str, id: &str) -> Self {
        IntakeError::NotFound {
            entity,
            id: id.to_owned(),
        }
    }
}
