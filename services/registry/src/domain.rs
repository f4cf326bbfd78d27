//! The registry's domain: catalogue entities, the rules their fields obey, and [`RegistryError`].
//! No tonic and no SQL here.

mod catalogue;
mod fields;

pub use catalogue::{
    AccessType, Infrastructure, InfrastructureFields, InfrastructureKind, Installation, InstallationFields,
    InstallationStatus, Provider, ProviderFields, Structure,
};
pub use fields::apply_mask;

use rti_platform::error::InvalidInput;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("request_id {request_id} was already used for a different request")]
    IdempotencyMismatch { request_id: String },
    #[error("the store is busy; retry")]
    Contention,
    #[error("the store is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("store failure")]
    Store(#[source] sqlx::Error),
}

pub type RegistryResult<T> = Result<T, RegistryError>;
