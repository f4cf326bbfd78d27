//! The registry's gRPC face: the handlers, the RPC × role table, and the mapping of
//! [`RegistryError`] onto gRPC statuses.

pub mod authz;
mod server;

pub use server::RegistryApi;

use rti_platform::error::{ErrorCode, InvalidInput};
use tonic::Status;

use crate::domain::RegistryError;

impl From<RegistryError> for Status {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Invalid(invalid) => invalid.into(),
            RegistryError::NotFound { .. } => ErrorCode::NotFound.status(error.to_string()),
            RegistryError::PermissionDenied(reason) => ErrorCode::PermissionDenied.status(reason),
            RegistryError::Incomplete(missing) => missing.into(),
            RegistryError::Conflict(reason) => ErrorCode::FailedPrecondition.status(reason),
            RegistryError::AlreadyExists(reason) => ErrorCode::AlreadyExists.status(reason),
            RegistryError::KeyReused(reused) => InvalidInput::single(reused.field, reused.to_string()).into(),
            RegistryError::Store(failure) => failure.status("registry store"),
        }
    }
}
