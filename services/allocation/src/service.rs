//! The allocation's operations, one method each, for the gRPC adapter, the intake feed and the
//! sweeper alike. Each owns its transaction edges and its calls to the registry and intake;
//! the rules it applies live in `domain`.

mod calls;
mod evaluation;
mod intake;
mod proposals;
mod ranking;
mod review;
mod slots;

use rti_platform::auth::{Principal, Role};
use rti_platform::error::InvalidInput;

pub use self::calls::NewCall;
pub use self::ranking::AllocationRun;
pub use self::review::{FeasibilityCommand, MAX_TEXT_CHARS, ReviewCommand};
pub use self::slots::{DeliveryCommand, OfferCommand, RequestSlots};
use crate::config::Options;
use crate::domain::calls::{Call, RulebookVersion};
use crate::domain::proposals::Proposal;
use crate::error::{AllocationError, AllocationResult};
use crate::peers::Peers;
use crate::store::AllocationStore;

/// The allocation's application layer: the store, the peers and the options it runs with.
#[derive(Debug, Clone)]
pub struct AllocationService {
    store: AllocationStore,
    peers: Peers,
    options: Options,
}

/// How a caller may see a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Admins, services, the coordinator of the proposal's call: everything.
    Full,
    /// A panel member: the proposal and the own review.
    Reviewer,
    /// The applicant or an operator of a requested installation: no reviews.
    Party,
}

/// Admins and the suite's services see every call's proposals and reviews.
pub fn oversees(caller: &Principal) -> bool {
    caller.is_admin() || caller.has_role(Role::Service)
}

/// Issue 13, item 5: a coordinator acts on the calls it created (`Call::coordinator`, the
/// creating token's subject) and on no other; admins on every call.
pub fn coordinates(caller: &Principal, call: &Call) -> bool {
    caller.is_admin() || (caller.has_role(Role::Coordinator) && call.coordinator == caller.subject)
}

fn denied(what: String) -> AllocationError {
    AllocationError::PermissionDenied(what)
}

/// The rulebook in force of a call (every stored call has one).
fn rulebook(call: &Call) -> AllocationResult<&RulebookVersion> {
    call.rulebook
        .as_ref()
        .ok_or_else(|| AllocationError::Corrupt(format!("call {} has no rulebook", call.id)))
}

impl AllocationService {
    /// The operations over `store`, calling `peers`, run with `options`.
    pub fn new(store: AllocationStore, peers: Peers, options: Options) -> Self {
        Self { store, peers, options }
    }

    /// A call named by a request field, which must be set.
    async fn open_call(&self, call_id: &str, field: &str) -> AllocationResult<Call> {
        if call_id.is_empty() {
            return Err(InvalidInput::single(field, "is required").into());
        }
        self.store.get_call(call_id).await
    }

    /// The call named by a request field, when `caller` coordinates it (calls are public, so
    /// whether one exists tells nothing).
    async fn coordinated_call(&self, caller: &Principal, call_id: &str, field: &str) -> AllocationResult<Call> {
        let call = self.open_call(call_id, field).await?;
        if coordinates(caller, &call) {
            Ok(call)
        } else {
            Err(denied(format!("call {} is another coordinator's", call.id)))
        }
    }

    /// A stored proposal named by a request field, which must be set. To a caller who does not
    /// oversee every proposal, an unknown id is "not yours", as a proposal of others is, so
    /// that request ids cannot be probed.
    async fn find_visible(&self, caller: &Principal, id: &str, field: &str) -> AllocationResult<(Proposal, View)> {
        if id.is_empty() {
            return Err(InvalidInput::single(field, "is required").into());
        }
        match self.store.get_proposal(id).await {
            Ok(proposal) => {
                let view = self.view(caller, &proposal).await?;
                Ok((proposal, view))
            }
            Err(AllocationError::NotFound { .. }) if !oversees(caller) => {
                Err(denied(format!("proposal {id} is not yours to see")))
            }
            Err(error) => Err(error),
        }
    }

    /// How `caller` may see `proposal`, or why not at all. A coordinator sees the proposals of
    /// its own calls, and never an industrial-lane request, which has no call.
    async fn view(&self, caller: &Principal, proposal: &Proposal) -> AllocationResult<View> {
        if oversees(caller) {
            return Ok(View::Full);
        }
        if caller.has_role(Role::Coordinator)
            && !proposal.call_id.is_empty()
            && coordinates(caller, &self.store.get_call(&proposal.call_id).await?)
        {
            return Ok(View::Full);
        }
        if caller.is_applicant_of(&proposal.organisation_id) {
            return Ok(View::Party);
        }
        if caller.has_role(Role::Operator) && self.operates_any(caller, proposal).await? {
            return Ok(View::Party);
        }
        if caller.has_role(Role::Reviewer) && !proposal.call_id.is_empty() {
            let panel = self.store.panel(&proposal.call_id).await?;
            if panel.iter().any(|member| member.reviewer == caller.subject) {
                if self.store.conflicted(&proposal.id).await?.contains(&caller.subject) {
                    return Err(denied(format!(
                        "you declared a conflict of interest on proposal {}; you cannot see or score it",
                        proposal.id
                    )));
                }
                return Ok(View::Reviewer);
            }
        }
        Err(denied(format!("proposal {} is not yours to see", proposal.id)))
    }

    /// Whether the operator runs one of the proposal's installations.
    async fn operates_any(&self, caller: &Principal, proposal: &Proposal) -> AllocationResult<bool> {
        for part in &proposal.requested {
            if caller.operates(&self.infrastructure_of(proposal, &part.installation_id).await?) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The infrastructure an installation of a proposal belongs to: from the call, or (industrial
    /// lane) from the registry.
    async fn infrastructure_of(&self, proposal: &Proposal, installation_id: &str) -> AllocationResult<String> {
        if !proposal.call_id.is_empty() {
            let call = self.store.get_call(&proposal.call_id).await?;
            if let Some(installation) = call.offered(installation_id) {
                return Ok(installation.infrastructure_id.clone());
            }
        }
        Ok(self
            .peers
            .published_site(installation_id)
            .await?
            .map(|site| site.infrastructure_id)
            .unwrap_or_default())
    }

    /// The proposal as `caller` may see it.
    async fn visible(&self, caller: &Principal, proposal: Proposal) -> AllocationResult<Proposal> {
        let view = self.view(caller, &proposal).await?;
        Ok(shown(caller, proposal, view))
    }

    /// A reviewer on the proposal's panel.
    async fn panel_member(&self, caller: &Principal, proposal: &Proposal) -> AllocationResult<()> {
        let panel = self.store.panel(&proposal.call_id).await?;
        if !panel.iter().any(|member| member.reviewer == caller.subject) {
            return Err(denied(format!("you are not on the panel of call {}", proposal.call_id)));
        }
        Ok(())
    }
}

/// `proposal` as `view` shows it to `caller`.
fn shown(caller: &Principal, mut proposal: Proposal, view: View) -> Proposal {
    match view {
        View::Full => {}
        View::Reviewer => proposal.reviews.retain(|review| review.reviewer == caller.subject),
        View::Party => proposal.reviews.clear(),
    }
    proposal
}
