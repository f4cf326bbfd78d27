//! Eligibility applied to a stored proposal: `domain::evaluation` on the group as intake knows it,
//! with each user's history at the requested installations from the store.

use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use rti_proto::intake;

use super::{AllocationService, offered, rulebook};
use crate::convert;
use crate::domain::evaluation::{self, CallRules, Part};
use crate::error::AllocationResult;
use crate::store::Change;

impl AllocationService {
    /// A TA proposal as intake knows it now (request, group, requester), before evaluation.
    pub(super) async fn proposal_from_intake(
        &self,
        request: &intake::AccessRequest,
    ) -> AllocationResult<proto::Proposal> {
        let group = self.peers.user_group(&request.user_group_id).await?;
        let organisation = self.peers.organisation(&request.organisation_id).await?;
        Ok(convert::proposal_from_intake(request, &group, organisation.country))
    }

    /// Each requested installation with the group as the rules read it there.
    async fn parts(&self, call: &proto::Call, proposal: &proto::Proposal) -> AllocationResult<Vec<Part>> {
        let person_ids: Vec<String> = proposal.members.iter().map(|m| m.person_id.clone()).collect();
        let mut parts = Vec::with_capacity(proposal.requested.len());
        for part in &proposal.requested {
            let group = if offered(call, &part.installation_id).is_some() {
                let used = self
                    .store
                    .used_before(&proposal.id, &part.installation_id, &person_ids)
                    .await?;
                convert::domain_group(proposal, &used)
            } else {
                convert::domain_group(proposal, &[])
            };
            parts.push(Part {
                installation_id: part.installation_id.clone(),
                group,
            });
        }
        Ok(parts)
    }

    /// The call as the rules read it, with the parts of `proposal` there.
    pub(super) async fn rules_and_parts(
        &self,
        call: &proto::Call,
        proposal: &proto::Proposal,
    ) -> AllocationResult<(convert::CallView, Vec<Part>)> {
        let view = convert::CallView::of(call, rulebook(call)?);
        Ok((view, self.parts(call, proposal).await?))
    }

    /// Evaluates every rule on every requested installation and returns the proposal with its
    /// findings, plus the event to store with it.
    pub(super) async fn evaluate(
        &self,
        call: Option<&proto::Call>,
        mut proposal: proto::Proposal,
    ) -> AllocationResult<(proto::Proposal, Change)> {
        let group = convert::domain_group(&proposal, &[]);
        let evaluated = match call {
            None => evaluation::evaluate_proposal(None, &proposal.call_id, &proposal.requester_country, &[], &group),
            Some(call) => {
                let (view, parts) = self.rules_and_parts(call, &proposal).await?;
                let rules = CallRules {
                    rulebook: &view.rulebook,
                    on: view.on,
                    sites: &view.sites,
                };
                evaluation::evaluate_proposal(
                    Some(rules),
                    &proposal.call_id,
                    &proposal.requester_country,
                    &parts,
                    &group,
                )
            }
        };
        convert::apply_evaluation(&mut proposal, &evaluated);
        proposal.evaluate_time = Some(timestamp_from_micros(now_micros()));
        let event = Payload::EligibilityEvaluated(proto::EligibilityEvaluated {
            proposal_id: proposal.id.clone(),
            call_id: proposal.call_id.clone(),
            rulebook_version: i32::try_from(evaluated.rulebook_version).unwrap_or(i32::MAX),
            eligibility: proposal.eligibility,
            findings: proposal.findings.clone(),
            non_eu_majority: proposal.non_eu_majority,
            work_countries: evaluation::leader_first(
                proposal
                    .members
                    .iter()
                    .map(|member| (member.leader, member.work_country.as_str())),
            ),
        });
        Ok((proposal.clone(), (proposal.id, event)))
    }
}
