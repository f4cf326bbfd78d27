//! Eligibility applied to a stored proposal: `domain::evaluation` on the group as intake knows it,
//! with each user's history at the requested installations from the store.

use rti_platform::time::now_micros;
use rti_proto::intake;

use super::{AllocationService, rulebook};
use crate::convert;
use crate::domain::calls::{Call, CallView};
use crate::domain::evaluation::{self, Part};
use crate::domain::proposals::Proposal;
use crate::error::AllocationResult;
use crate::store::Change;

impl AllocationService {
    /// A TA proposal as intake knows it now (request, group, requester), before evaluation.
    pub(super) async fn proposal_from_intake(&self, request: &intake::AccessRequest) -> AllocationResult<Proposal> {
        let group = self.peers.user_group(&request.user_group_id).await?;
        let organisation = self.peers.organisation(&request.organisation_id).await?;
        Ok(convert::proposal_from_intake(request, &group, organisation.country))
    }

    /// The call as the rules read it, and each requested installation with the group as the
    /// rules read it there (TA-7: who used an offered installation before).
    pub(super) async fn rules_and_parts(
        &self,
        call: &Call,
        proposal: &Proposal,
    ) -> AllocationResult<(CallView, Vec<Part>)> {
        let view = CallView::of(call, rulebook(call)?, now_micros());
        let person_ids = proposal.person_ids();
        let mut parts = Vec::with_capacity(proposal.requested.len());
        for part in &proposal.requested {
            let used = if call.offered(&part.installation_id).is_some() {
                self.store
                    .used_before(&proposal.id, &part.installation_id, &person_ids)
                    .await?
            } else {
                Vec::new()
            };
            parts.push(Part {
                installation_id: part.installation_id.clone(),
                group: proposal.group(&used),
            });
        }
        Ok((view, parts))
    }

    /// Evaluates every rule on every requested installation and returns the proposal with its
    /// findings, plus the event to store with it.
    pub(super) async fn evaluate(
        &self,
        call: Option<&Call>,
        mut proposal: Proposal,
    ) -> AllocationResult<(Proposal, Change)> {
        let group = proposal.group(&[]);
        let evaluated = match call {
            None => evaluation::evaluate_proposal(None, &proposal.call_id, &proposal.requester_country, &[], &group),
            Some(call) => {
                let (view, parts) = self.rules_and_parts(call, &proposal).await?;
                evaluation::evaluate_proposal(
                    Some(view.rules()),
                    &proposal.call_id,
                    &proposal.requester_country,
                    &parts,
                    &group,
                )
            }
        };
        proposal.apply(&evaluated, now_micros());
        let event = convert::eligibility_evaluated(&proposal, evaluated.rulebook_version);
        let id = proposal.id.clone();
        Ok((proposal, (id, event)))
    }
}
