//! Proposals: transnational-access requests arriving from intake (evaluated at once), accepted
//! industrial-lane requests waiting for slots, and what each caller may see of them.

use rti_platform::auth::Principal;
use rti_platform::pagination::PageRequest;
use rti_proto::intake;

use super::{AllocationService, View, denied, shown};
use crate::convert;
use crate::domain::proposals::Proposal;
use crate::domain::{Lane, ProposalStatus};
use crate::error::{AllocationError, AllocationResult};
use crate::store::Cursor;

impl AllocationService {
    /// The proposal as `caller` may see it.
    pub async fn get_proposal(&self, caller: &Principal, id: &str) -> AllocationResult<Proposal> {
        let (proposal, view) = self.find_visible(caller, id, "id").await?;
        Ok(shown(caller, proposal, view))
    }

    /// The call's proposals `caller` may see, by id; others' proposals, and those the reviewer
    /// is conflicted on, are left out.
    pub async fn list_proposals(
        &self,
        caller: &Principal,
        call_id: &str,
        page: &PageRequest,
    ) -> AllocationResult<(Vec<Proposal>, String)> {
        let call = self.open_call(call_id, "call_id").await?;
        let mut proposals = Vec::new();
        for proposal in self.store.call_proposals(&call.id).await? {
            if page
                .after_id
                .as_deref()
                .is_some_and(|after| proposal.id.as_str() <= after)
            {
                continue;
            }
            match self.visible(caller, proposal).await {
                Ok(visible) => proposals.push(visible),
                Err(AllocationError::PermissionDenied(_)) => {}
                Err(error) => return Err(error),
            }
            if proposals.len() as i64 >= page.fetch_limit() {
                break;
            }
        }
        let next_page_token = page.finish(&mut proposals, |proposal| &proposal.id);
        Ok((proposals, next_page_token))
    }

    /// Judges a TA proposal again, with its group read again from intake (members or their
    /// employers may have changed): for an admin, a service, or the coordinator of its call.
    pub async fn evaluate_eligibility(&self, caller: &Principal, id: &str) -> AllocationResult<Proposal> {
        let (stored, view) = self.find_visible(caller, id, "proposal_id").await?;
        if view != View::Full {
            return Err(denied(format!("proposal {id} is not of a call you coordinate")));
        }
        if stored.lane != Some(Lane::Transnational) {
            return Err(AllocationError::FailedPrecondition(format!(
                "{id} is an industrial-lane request: it has no panel and no eligibility rules"
            )));
        }
        let intake_request = self
            .peers
            .access_request(id)
            .await?
            .ok_or_else(|| AllocationError::not_found("access request", id))?;
        self.receive_proposal(&intake_request, None).await
    }

    /// Reads a TA request from intake, evaluates it and stores it (with the feed's cursor
    /// when an event caused it).
    pub(super) async fn receive_proposal(
        &self,
        request: &intake::AccessRequest,
        cursor: Cursor<'_>,
    ) -> AllocationResult<Proposal> {
        let fresh = self.proposal_from_intake(request).await?;
        let previous = self.store.find_proposal(&request.id).await?;
        let fresh = match previous {
            // A re-evaluation keeps the decision already taken.
            Some(previous) => Proposal {
                status: previous.status,
                created_at: previous.created_at,
                ..fresh
            },
            None => fresh,
        };
        let call = match self.store.get_call(&fresh.call_id).await {
            Ok(call) => Some(call),
            Err(AllocationError::NotFound { .. }) => None,
            Err(error) => return Err(error),
        };
        let (proposal, event) = self.evaluate(call.as_ref(), fresh).await?;
        self.store.save_proposal(&proposal, cursor, vec![event]).await?;
        self.store.get_proposal(&proposal.id).await
    }

    /// An accepted industrial-lane request, stored for the operator's slots: no panel, no call.
    pub(super) async fn receive_industrial(
        &self,
        request: &intake::AccessRequest,
        cursor: Cursor<'_>,
    ) -> AllocationResult<Proposal> {
        let proposal = convert::industrial_proposal(request);
        self.store.save_proposal(&proposal, cursor, Vec::new()).await?;
        self.store.get_proposal(&proposal.id).await
    }

    /// A request withdrawn or declined in intake leaves review and its slots end, their units
    /// freed (issue 13, item 7). The proposal is stored as withdrawn first, so that an offer
    /// completing meanwhile sees it (`hold`); the caller moves the feed's cursor last, so that
    /// a crash in between is finished by the replay.
    pub(super) async fn withdraw(&self, id: &str) -> AllocationResult<()> {
        let Some(mut proposal) = self.store.find_proposal(id).await? else {
            return Ok(());
        };
        if proposal.status != Some(ProposalStatus::Withdrawn) {
            proposal.status = Some(ProposalStatus::Withdrawn);
            self.store.save_proposal(&proposal, None, Vec::new()).await?;
        }
        self.end_slots_of(id).await
    }
}
