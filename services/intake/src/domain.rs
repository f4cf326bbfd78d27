//! The intake's domain: organisations, people and user groups, access requests with their
//! status machines, screening records, quotes and the de minimis ledger, decision clocks, who may
//! see and act on what, and [`IntakeError`]. No tonic, no SQL and no protobuf types here.

pub mod access;
pub mod aid;
pub mod clock;
pub mod lifecycle;
pub mod names;
pub mod organisation;
pub mod quote;
pub mod request;
pub mod request_view;
pub mod rescreening;
pub mod sanctions;
pub mod sanctions_csv;
pub mod sanctions_xml;
pub mod screening;
pub mod screening_record;
pub mod sme;
pub mod status;

use rti_platform::error::{InvalidInput, Violations};
use rti_platform::ids::{is_valid_id, new_id};
use rti_platform::store::{KeyReused, StoreError};

pub use request::{AccessRequest, AgreementKind, Lane, RequestStatus, Transition};

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
    /// Work moved off the async workers (a list's parsing, the name index) stopped before it
    /// finished.
    #[error("{0}")]
    Task(String),
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

/// Part of a request in domain terms with the problems found while converting it. An operation
/// reports the parts' problems, and those it finds itself, in the order the request lists its
/// fields, after its access checks: a caller who may not act hears that first.
#[derive(Debug)]
pub struct Checked<T> {
    value: Option<T>,
    violations: Violations,
}

impl<T> Checked<T> {
    /// `value` is `None` only when `violations` say why.
    pub fn new(value: Option<T>, violations: Violations) -> Self {
        Self { value, violations }
    }

    /// Adds its problems to `all`, in order, and gives the value as far as it could be read.
    pub fn report_to(self, all: &mut Violations) -> Option<T> {
        for violation in self.violations.as_slice() {
            all.add(violation.field.clone(), violation.description.clone());
        }
        self.value
    }

    pub fn into_result(self) -> Result<T, InvalidInput> {
        let mut all = Violations::new();
        let value = self.report_to(&mut all);
        all.into_result()?;
        read(value)
    }
}

/// The value of a part whose problems were reported and found none.
pub fn read<T>(value: Option<T>) -> Result<T, InvalidInput> {
    value.ok_or_else(|| InvalidInput::single("request", "could not be read"))
}

/// A new record's id: the one given (a UUID), or a new one.
pub fn chosen_id(given: &str, field: &str, violations: &mut Violations) -> String {
    if given.is_empty() {
        new_id()
    } else {
        if !is_valid_id(given) {
            violations.add(field, "must be a UUID");
        }
        given.to_owned()
    }
}
