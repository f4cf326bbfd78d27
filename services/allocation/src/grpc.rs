//! The `AllocationService` handlers, its RPC × role table, and how the rules are applied to
//! stored proposals (eligibility, ranking, allocation).

pub mod authz;
mod evaluate;
mod rank;
mod server;
mod slots;
mod validate;

use rti_platform::auth::{Principal, Role};
use rti_platform::events::Outbox;
use rti_platform::server::caller;
use rti_proto::allocation as proto;
use tokio_util::sync::CancellationToken;
use tonic::{Response, Status};

use crate::config::Options;
use crate::error::{AllocationError, AllocationResult};
use crate::peers::Peers;
use crate::store::AllocationStore;

type Reply<T> = Result<Response<T>, Status>;

#[derive(Debug, Clone)]
pub struct AllocationApi {
    pub(crate) store: AllocationStore,
    pub(crate) peers: Peers,
    outbox: Outbox,
    stopping: CancellationToken,
    pub(crate) options: Options,
}

impl AllocationApi {
    pub fn new(
        store: AllocationStore,
        peers: Peers,
        outbox: Outbox,
        stopping: CancellationToken,
        options: Options,
    ) -> Self {
        Self {
            store,
            peers,
            outbox,
            stopping,
            options,
        }
    }
}

/// Coordinators, admins and the suite's services see every proposal and review.
fn oversees(caller: &Principal) -> bool {
    caller.is_admin() || caller.has_role(Role::Coordinator) || caller.has_role(Role::Service)
}

fn denied(what: String) -> AllocationError {
    AllocationError::PermissionDenied(what)
}

/// The call's installation entry, with its site as resolved at creation.
fn offered<'a>(call: &'a proto::Call, installation_id: &str) -> Option<&'a proto::CallInstallation> {
    call.installations
        .iter()
        .find(|installation| installation.installation_id == installation_id)
}

/// The rulebook in force of a call (every stored call has one).
fn rulebook(call: &proto::Call) -> AllocationResult<&proto::Rulebook> {
    call.rulebook
        .as_ref()
        .ok_or_else(|| AllocationError::Corrupt(format!("call {} has no rulebook", call.id)))
}

/// TA-6's denominator: the grant's planned units, or the units the call offers when unset.
fn planned_units(call: &proto::Call) -> i64 {
    if call.grant_planned_units > 0 {
        call.grant_planned_units
    } else {
        call.installations.iter().map(|installation| installation.units).sum()
    }
}
