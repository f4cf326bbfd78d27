//! Rankings, allocations and the ledger between the domain and the contract.

use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;

use super::proposals::{units_from_proto, units_to_proto};
use super::{outcome_to_proto, time_from_proto, time_to_proto};
use crate::domain::LineDecision;
use crate::domain::allocations::{Allocation, AllocationLine};
use crate::domain::ledger::Ledger;
use crate::domain::proposals::Proposal;
use crate::domain::review::Ranked;

fn decision_to_proto(decision: Option<LineDecision>) -> proto::LineDecision {
    decision
        .and_then(|decision| proto::LineDecision::from_str_name(decision.as_stored()))
        .unwrap_or_default()
}

fn line_to_proto(line: &AllocationLine) -> proto::AllocationLine {
    proto::AllocationLine {
        proposal_id: line.proposal_id.clone(),
        decision: decision_to_proto(line.decision).into(),
        granted: line.granted.iter().map(units_to_proto).collect(),
        requested: line.requested.iter().map(units_to_proto).collect(),
        rank: line.rank,
        score: line.score,
        non_eu_majority: line.non_eu_majority,
        explanation: line.explanation.clone(),
    }
}

fn line_from_proto(line: &proto::AllocationLine) -> AllocationLine {
    AllocationLine {
        proposal_id: line.proposal_id.clone(),
        decision: LineDecision::from_stored(line.decision().as_str_name()),
        granted: line.granted.iter().map(units_from_proto).collect(),
        requested: line.requested.iter().map(units_from_proto).collect(),
        rank: line.rank,
        score: line.score,
        non_eu_majority: line.non_eu_majority,
        explanation: line.explanation.clone(),
    }
}

pub fn allocation_to_proto(allocation: &Allocation) -> proto::Allocation {
    proto::Allocation {
        call_id: allocation.call_id.clone(),
        id: allocation.id.clone(),
        rulebook_version: allocation.rulebook_version,
        lines: allocation.lines.iter().map(line_to_proto).collect(),
        objective: allocation.objective,
        lp_bound: allocation.lp_bound,
        non_eu_budget_units: allocation.non_eu_budget_units,
        non_eu_granted_units: allocation.non_eu_granted_units,
        approved_by: allocation.approved_by.clone(),
        create_time: time_to_proto(allocation.created_at),
    }
}

pub fn allocation_from_proto(allocation: &proto::Allocation) -> Allocation {
    Allocation {
        call_id: allocation.call_id.clone(),
        id: allocation.id.clone(),
        rulebook_version: allocation.rulebook_version,
        lines: allocation.lines.iter().map(line_from_proto).collect(),
        objective: allocation.objective,
        lp_bound: allocation.lp_bound,
        non_eu_budget_units: allocation.non_eu_budget_units,
        non_eu_granted_units: allocation.non_eu_granted_units,
        approved_by: allocation.approved_by.clone(),
        created_at: time_from_proto(allocation.create_time.as_ref()),
    }
}

/// The run's answer: the allocation's objective beside its LP bound, so quality is measured.
pub fn allocation_run_to_proto(allocation: &Allocation, dry_run: bool) -> proto::RunAllocationResponse {
    proto::RunAllocationResponse {
        objective: allocation.objective,
        lp_bound: allocation.lp_bound,
        ratio: allocation.ratio(),
        allocation: Some(allocation_to_proto(allocation)),
        dry_run,
    }
}

/// The event of one line of an approved allocation.
pub fn allocation_decided(allocation: &Allocation, line: &AllocationLine, proposal: &Proposal) -> Payload {
    Payload::AllocationDecided(proto::AllocationDecided {
        call_id: allocation.call_id.clone(),
        allocation_id: allocation.id.clone(),
        proposal_id: line.proposal_id.clone(),
        decision: decision_to_proto(line.decision).into(),
        granted: line.granted.iter().map(units_to_proto).collect(),
        requested: line.requested.iter().map(units_to_proto).collect(),
        non_eu_majority: line.non_eu_majority,
        organisation_id: proposal.organisation_id.clone(),
        leader_work_country: proposal.leader_work_country(),
        explanation: line.explanation.clone(),
        decide_time: time_to_proto(allocation.created_at),
    })
}

pub fn ranked_to_proto(ranked: Ranked) -> proto::RankedProposal {
    proto::RankedProposal {
        allocatable: ranked.allocatable(),
        proposal_id: ranked.proposal_id,
        rank: ranked.rank,
        mean_score: ranked.mean_score,
        priority_bonus: ranked.priority_bonus,
        bonus_reasons: ranked.bonus_reasons,
        total: ranked.total,
        reviews: ranked.reviews,
        eligibility: outcome_to_proto(ranked.eligibility).into(),
        not_allocatable_reason: ranked.not_allocatable_reason.unwrap_or_default(),
    }
}

pub fn ledger_to_proto(ledger: Ledger) -> proto::Ledger {
    proto::Ledger {
        call_id: ledger.call_id,
        planned_units: ledger.planned_units,
        granted_units: ledger.units.granted,
        delivered_units: ledger.units.delivered,
        lost_units: ledger.units.lost,
        non_eu_granted_units: ledger.units.non_eu_granted,
        non_eu_delivered_units: ledger.units.non_eu_delivered,
        non_eu_granted_share: ledger.non_eu_granted_share,
        non_eu_delivered_share: ledger.non_eu_delivered_share,
        cap_percent: ledger.cap_percent,
    }
}
