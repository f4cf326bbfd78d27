//! Proposals, reviews and feasibility between the domain and the contract, and intake's
//! requests as proposals.

use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use rti_proto::intake;

use super::{outcome_from_proto, outcome_to_proto, time_from_proto, time_to_proto};
use crate::domain::proposals::{Feasibility, Finding, GroupMember, Proposal, RequestedUnits};
use crate::domain::review::{CriterionScore, Review};
use crate::domain::{Lane, ProposalStatus};

pub fn units_to_proto(units: &RequestedUnits) -> proto::RequestedUnits {
    proto::RequestedUnits {
        installation_id: units.installation_id.clone(),
        units: units.units,
    }
}

pub fn units_from_proto(units: &proto::RequestedUnits) -> RequestedUnits {
    RequestedUnits {
        installation_id: units.installation_id.clone(),
        units: units.units,
    }
}

pub fn score_from_proto(score: &proto::CriterionScore) -> CriterionScore {
    CriterionScore {
        criterion: score.criterion.clone(),
        score: score.score,
    }
}

pub fn review_to_proto(review: &Review) -> proto::Review {
    proto::Review {
        proposal_id: review.proposal_id.clone(),
        reviewer: review.reviewer.clone(),
        scores: review
            .scores
            .iter()
            .map(|score| proto::CriterionScore {
                criterion: score.criterion.clone(),
                score: score.score,
            })
            .collect(),
        comment: review.comment.clone(),
        weighted_score: review.weighted_score,
        submit_time: time_to_proto(review.submitted_at),
    }
}

pub fn review_from_proto(review: &proto::Review) -> Review {
    Review {
        proposal_id: review.proposal_id.clone(),
        reviewer: review.reviewer.clone(),
        scores: review.scores.iter().map(score_from_proto).collect(),
        comment: review.comment.clone(),
        weighted_score: review.weighted_score,
        submitted_at: time_from_proto(review.submit_time.as_ref()),
    }
}

fn finding_to_proto(finding: &Finding) -> proto::Finding {
    proto::Finding {
        installation_id: finding.installation_id.clone(),
        rule: finding.rule.clone(),
        outcome: outcome_to_proto(finding.outcome).into(),
        reason: finding.reason.clone(),
        rulebook_version: finding.rulebook_version,
    }
}

fn finding_from_proto(finding: &proto::Finding) -> Finding {
    Finding {
        installation_id: finding.installation_id.clone(),
        rule: finding.rule.clone(),
        outcome: outcome_from_proto(finding.outcome()),
        reason: finding.reason.clone(),
        rulebook_version: finding.rulebook_version,
    }
}

pub fn proposal_status_to_proto(status: Option<ProposalStatus>) -> proto::ProposalStatus {
    status
        .and_then(|status| proto::ProposalStatus::from_str_name(status.as_stored()))
        .unwrap_or_default()
}

pub fn lane_to_proto(lane: Option<Lane>) -> proto::Lane {
    lane.and_then(|lane| proto::Lane::from_str_name(lane.as_stored()))
        .unwrap_or_default()
}

pub fn proposal_to_proto(proposal: &Proposal) -> proto::Proposal {
    proto::Proposal {
        id: proposal.id.clone(),
        call_id: proposal.call_id.clone(),
        lane: lane_to_proto(proposal.lane).into(),
        status: proposal_status_to_proto(proposal.status).into(),
        organisation_id: proposal.organisation_id.clone(),
        requester_country: proposal.requester_country.clone(),
        requested: proposal.requested.iter().map(units_to_proto).collect(),
        members: proposal
            .members
            .iter()
            .map(|member| proto::GroupMember {
                person_id: member.person_id.clone(),
                work_country: member.work_country.clone(),
                leader: member.leader,
                employer_is_sme: member.employer_is_sme,
            })
            .collect(),
        may_disseminate: proposal.may_disseminate,
        findings: proposal.findings.iter().map(finding_to_proto).collect(),
        eligibility: outcome_to_proto(proposal.eligibility).into(),
        non_eu_majority: proposal.non_eu_majority,
        reviews: proposal.reviews.iter().map(review_to_proto).collect(),
        feasibility: proposal.feasibility.iter().map(feasibility_to_proto).collect(),
        evaluate_time: time_to_proto(proposal.evaluated_at),
        create_time: time_to_proto(proposal.created_at),
    }
}

pub fn proposal_from_proto(proposal: &proto::Proposal) -> Proposal {
    Proposal {
        id: proposal.id.clone(),
        call_id: proposal.call_id.clone(),
        lane: Lane::from_stored(proposal.lane().as_str_name()),
        status: ProposalStatus::from_stored(proposal.status().as_str_name()),
        organisation_id: proposal.organisation_id.clone(),
        requester_country: proposal.requester_country.clone(),
        requested: proposal.requested.iter().map(units_from_proto).collect(),
        members: proposal
            .members
            .iter()
            .map(|member| GroupMember {
                person_id: member.person_id.clone(),
                work_country: member.work_country.clone(),
                leader: member.leader,
                employer_is_sme: member.employer_is_sme,
            })
            .collect(),
        may_disseminate: proposal.may_disseminate,
        findings: proposal.findings.iter().map(finding_from_proto).collect(),
        eligibility: outcome_from_proto(proposal.eligibility()),
        non_eu_majority: proposal.non_eu_majority,
        reviews: proposal.reviews.iter().map(review_from_proto).collect(),
        feasibility: proposal
            .feasibility
            .iter()
            .map(|given| Feasibility {
                installation_id: given.installation_id.clone(),
                feasible: given.feasible,
                note: given.note.clone(),
                operator: given.operator.clone(),
            })
            .collect(),
        evaluated_at: time_from_proto(proposal.evaluate_time.as_ref()),
        created_at: time_from_proto(proposal.create_time.as_ref()),
    }
}

pub fn feasibility_to_proto(feasibility: &Feasibility) -> proto::Feasibility {
    proto::Feasibility {
        installation_id: feasibility.installation_id.clone(),
        feasible: feasibility.feasible,
        note: feasibility.note.clone(),
        operator: feasibility.operator.clone(),
    }
}

/// The event of an evaluation.
pub fn eligibility_evaluated(proposal: &Proposal, rulebook_version: u32) -> Payload {
    Payload::EligibilityEvaluated(proto::EligibilityEvaluated {
        proposal_id: proposal.id.clone(),
        call_id: proposal.call_id.clone(),
        rulebook_version: i32::try_from(rulebook_version).unwrap_or(i32::MAX),
        eligibility: outcome_to_proto(proposal.eligibility).into(),
        findings: proposal.findings.iter().map(finding_to_proto).collect(),
        non_eu_majority: proposal.non_eu_majority,
        work_countries: proposal.work_countries(),
    })
}

fn requested_units(request: &intake::AccessRequest) -> Vec<RequestedUnits> {
    request
        .installations
        .iter()
        .map(|part| RequestedUnits {
            installation_id: part.installation_id.clone(),
            units: part.units,
        })
        .collect()
}

/// A TA request as intake knows it, as a proposal in review, before evaluation.
pub fn proposal_from_intake(
    request: &intake::AccessRequest,
    group: &intake::UserGroup,
    requester_country: String,
) -> Proposal {
    let members = group
        .members
        .iter()
        .map(|member| GroupMember {
            person_id: member.person_id.clone(),
            work_country: member.work_country.clone(),
            leader: member.leader,
            employer_is_sme: matches!(
                member.employer_sme_category(),
                intake::SmeCategory::Micro | intake::SmeCategory::Small | intake::SmeCategory::Medium
            ),
        })
        .collect();
    Proposal {
        id: request.id.clone(),
        call_id: request.call_id.clone(),
        lane: Some(Lane::Transnational),
        status: Some(ProposalStatus::InReview),
        organisation_id: request.organisation_id.clone(),
        requester_country,
        requested: requested_units(request),
        members,
        // TA-5: a group that keeps results confidential does not disseminate them.
        may_disseminate: matches!(
            request.confidentiality(),
            intake::ConfidentialityLevel::Public | intake::ConfidentialityLevel::Unspecified
        ),
        created_at: time_from_proto(request.create_time.as_ref()),
        ..Proposal::default()
    }
}

/// An accepted industrial-lane request, granted as asked: no panel, no call.
pub fn industrial_proposal(request: &intake::AccessRequest) -> Proposal {
    Proposal {
        id: request.id.clone(),
        lane: Some(Lane::Industrial),
        status: Some(ProposalStatus::Granted),
        organisation_id: request.organisation_id.clone(),
        requested: requested_units(request),
        created_at: time_from_proto(request.create_time.as_ref()),
        ..Proposal::default()
    }
}
