//! The registry's domain: catalogue entities, the rules their fields obey, and [`RegistryError`].
//! No tonic and no SQL here.

pub mod calendar;
mod catalogue;
mod fields;

pub use calendar::{
    CapacityWindow, DayAvailability, Downtime, DowntimeAdded, NewWindow, Reservation, ReservationState, Tariff,
    TariffFields, availability, closed_units, next_free_window,
};
pub use catalogue::{
    AccessMode, AccessType, CriticalTechnologyArea, EsfriStatus, Infrastructure, InfrastructureFields,
    InfrastructureKind, Installation, InstallationFields, InstallationStatus, LegalForm, LocalizedText, Provider,
    ProviderFields, ScientificDomain, Structure, TariffBasis, UnitKind,
};
pub use fields::{MAX_ENUM_VALUES, apply_mask, countries, text};

use rti_platform::error::{FailedPrecondition, InvalidInput};
use rti_platform::store::{KeyReused, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error(transparent)]
    Incomplete(#[from] FailedPrecondition),
    /// The calendar's state refuses the change (overlap, too few free units, window ended).
    #[error("{0}")]
    Conflict(String),
    /// An id the caller chose is already taken by a different request.
    #[error("{0}")]
    AlreadyExists(String),
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type RegistryResult<T> = Result<T, RegistryError>;
