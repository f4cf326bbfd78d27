//! The panel's work (TA-7): conflicts of interest, reviews scored by the call's criteria, and the
//! operators' technical feasibility.

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::time::now_micros;
use rti_platform::validate::text;

use super::{AllocationService, denied};
use crate::domain::ProposalStatus;
use crate::domain::proposals::{Feasibility, Proposal};
use crate::domain::review::{self, CriterionScore, Review};
use crate::error::{AllocationError, AllocationResult};

/// Longest free text a reviewer or operator may write.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// A reviewer's scores and comment, as sent.
#[derive(Debug, Clone)]
pub struct ReviewCommand {
    pub proposal_id: String,
    pub scores: Vec<CriterionScore>,
    pub comment: String,
}

/// An operator's verdict on one requested installation, validated.
#[derive(Debug, Clone)]
pub struct FeasibilityCommand {
    pub proposal_id: String,
    pub installation_id: String,
    pub feasible: bool,
    pub note: String,
}

impl AllocationService {
    /// A panel member declares a conflict: the own review goes, and the proposal is no longer
    /// visible to them beyond its id.
    pub async fn declare_conflict(
        &self,
        caller: &Principal,
        proposal_id: &str,
        reason: &str,
    ) -> AllocationResult<Proposal> {
        let proposal = self.store.get_proposal(proposal_id).await?;
        self.panel_member(caller, &proposal).await?;
        self.store
            .declare_conflict(&proposal.id, &caller.subject, reason)
            .await?;
        Ok(Proposal {
            id: proposal.id,
            call_id: proposal.call_id,
            ..Proposal::default()
        })
    }

    /// A panel member's review of a proposal in review, weighted by the call's criteria.
    pub async fn submit_review(&self, caller: &Principal, command: ReviewCommand) -> AllocationResult<Review> {
        if command.proposal_id.is_empty() {
            return Err(InvalidInput::single("proposal_id", "is required").into());
        }
        let proposal = self.store.get_proposal(&command.proposal_id).await?;
        self.panel_member(caller, &proposal).await?;
        // A conflicted member can neither see nor score the proposal.
        self.view(caller, &proposal).await?;
        if proposal.status != Some(ProposalStatus::InReview) {
            return Err(AllocationError::FailedPrecondition(format!(
                "proposal {} is {}: reviews are closed",
                proposal.id,
                ProposalStatus::stored_name(proposal.status)
            )));
        }
        let call = self.store.get_call(&proposal.call_id).await?;
        let mut violations = Violations::new();
        let comment = text(&command.comment, "comment", MAX_TEXT_CHARS, false, &mut violations);
        let weighted_score = review::weighted_score(&call.criteria, &command.scores, &mut violations);
        violations.into_result()?;
        let review = Review {
            proposal_id: proposal.id.clone(),
            reviewer: caller.subject.clone(),
            scores: command.scores,
            comment,
            weighted_score,
            submitted_at: Some(now_micros()),
        };
        self.store.put_review(&review).await?;
        Ok(review)
    }

    /// The operator of a requested installation says whether the proposal can be done there.
    pub async fn submit_feasibility(
        &self,
        caller: &Principal,
        command: FeasibilityCommand,
    ) -> AllocationResult<Proposal> {
        let proposal = self.store.get_proposal(&command.proposal_id).await?;
        if !proposal
            .requested
            .iter()
            .any(|part| part.installation_id == command.installation_id)
        {
            return Err(InvalidInput::single("installation_id", "is not requested by this proposal").into());
        }
        let infrastructure = self.infrastructure_of(&proposal, &command.installation_id).await?;
        if !caller.operates(&infrastructure) {
            return Err(denied(format!(
                "you do not operate installation {}",
                command.installation_id
            )));
        }
        let feasibility = Feasibility {
            installation_id: command.installation_id,
            feasible: command.feasible,
            note: command.note,
            operator: caller.subject.clone(),
        };
        self.store.put_feasibility(&proposal.id, &feasibility).await?;
        let proposal = self.store.get_proposal(&proposal.id).await?;
        self.visible(caller, proposal).await
    }
}
