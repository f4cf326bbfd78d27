//! Conversions between the allocation's domain and its protobuf contract: the rules' views of
//! stored calls and proposals, domain records into responses, and intake's requests into
//! proposals. Domain states and contract enums share their names, so they convert by name.

use rti_platform::time::{micros_from_timestamp, now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::intake;

use crate::domain::eligibility::{Group, Member, Outcome, ProviderForm, Rulebook, Site};
use crate::domain::evaluation::Evaluation;
use crate::domain::ledger::Ledger;
use crate::domain::review::Ranked;
use crate::domain::slots::Slot;
use crate::domain::{CallStatus, Lane, ProposalStatus, SlotStatus};

/// A call as the rules read it (owned; borrow it as a `CallRules`).
#[derive(Debug, Clone)]
pub struct CallView {
    pub rulebook: Rulebook,
    /// The reference date for eligibility: the call's close time (CTRY-2).
    pub on: i64,
    pub sites: Vec<Site>,
}

impl CallView {
    pub fn of(call: &proto::Call, rulebook: &proto::Rulebook) -> Self {
        Self {
            rulebook: domain_rulebook(rulebook),
            on: call.close_time.as_ref().map_or_else(now_micros, micros_from_timestamp),
            sites: call.installations.iter().map(domain_site).collect(),
        }
    }
}

/// The rules' view of a call's rulebook.
pub fn domain_rulebook(rulebook: &proto::Rulebook) -> Rulebook {
    Rulebook {
        version: u32::try_from(rulebook.version).unwrap_or_default(),
        transnationality: rulebook.transnationality,
        non_eu_cap_percent: u32::try_from(rulebook.non_eu_cap_percent).unwrap_or(20),
        sme_dissemination_exemption: rulebook.sme_dissemination_exemption,
        eu_only: rulebook.eu_only,
        new_user_bonus: rulebook.new_user_bonus,
        no_equivalent_ri_bonus: rulebook.no_equivalent_ri_bonus,
        widening_bonus: rulebook.widening_bonus,
        country_cap_percent: u32::try_from(rulebook.country_cap_percent)
            .ok()
            .filter(|percent| *percent > 0),
    }
}

/// The rules' view of an offered installation.
pub fn domain_site(installation: &proto::CallInstallation) -> Site {
    Site {
        installation_id: installation.installation_id.clone(),
        countries: installation.countries.clone(),
        provider_form: match installation.provider_form() {
            proto::ProviderForm::InternationalOrganisation => ProviderForm::InternationalOrganisation,
            proto::ProviderForm::Jrc => ProviderForm::Jrc,
            proto::ProviderForm::Eric => ProviderForm::Eric,
            _ => ProviderForm::Other,
        },
        remote_set: !installation.remote_set_id.is_empty(),
        countries_with_equivalent_ri: installation.equivalent_ri_countries.clone(),
    }
}

/// The group as the rules read it, with each user's use of the installation before.
pub fn domain_group(proposal: &proto::Proposal, used_before: &[String]) -> Group {
    let member = |entry: &proto::GroupMember| Member {
        work_country: entry.work_country.clone(),
        employer_is_sme: entry.employer_is_sme,
        used_installation_before: used_before.contains(&entry.person_id),
    };
    let leader = proposal.members.iter().find(|entry| entry.leader);
    Group {
        leader: leader.map(member).unwrap_or(Member {
            work_country: String::new(),
            employer_is_sme: false,
            used_installation_before: false,
        }),
        others: proposal
            .members
            .iter()
            .filter(|entry| !entry.leader)
            .map(member)
            .collect(),
        may_disseminate: proposal.may_disseminate,
    }
}

/// Where the group leader works: the country per-country caps and reports count it under.
pub fn leader_work_country(proposal: &proto::Proposal) -> String {
    proposal
        .members
        .iter()
        .find(|member| member.leader)
        .map(|member| member.work_country.clone())
        .unwrap_or_default()
}

pub fn outcome_to_proto(outcome: Outcome) -> proto::EligibilityOutcome {
    match outcome {
        Outcome::Pass => proto::EligibilityOutcome::Pass,
        Outcome::Warn => proto::EligibilityOutcome::Warn,
        Outcome::Fail => proto::EligibilityOutcome::Fail,
    }
}

pub fn outcome_from_proto(outcome: proto::EligibilityOutcome) -> Option<Outcome> {
    match outcome {
        proto::EligibilityOutcome::Pass => Some(Outcome::Pass),
        proto::EligibilityOutcome::Warn => Some(Outcome::Warn),
        proto::EligibilityOutcome::Fail => Some(Outcome::Fail),
        proto::EligibilityOutcome::Unspecified => None,
    }
}

/// Writes an evaluation's conclusions into the proposal.
pub fn apply_evaluation(proposal: &mut proto::Proposal, evaluation: &Evaluation) {
    let version = i32::try_from(evaluation.rulebook_version).unwrap_or(i32::MAX);
    proposal.findings = evaluation
        .findings
        .iter()
        .map(|finding| proto::Finding {
            installation_id: finding.installation_id.clone(),
            rule: finding.rule.to_owned(),
            outcome: outcome_to_proto(finding.outcome).into(),
            reason: finding.reason.clone(),
            rulebook_version: version,
        })
        .collect();
    proposal.eligibility = outcome_to_proto(evaluation.eligibility).into();
    if let Some(non_eu_majority) = evaluation.non_eu_majority {
        proposal.non_eu_majority = non_eu_majority;
    }
}

/// A TA request as intake knows it, as a proposal in review, before evaluation.
pub fn proposal_from_intake(
    request: &intake::AccessRequest,
    group: &intake::UserGroup,
    requester_country: String,
) -> proto::Proposal {
    let members = group
        .members
        .iter()
        .map(|member| proto::GroupMember {
            person_id: member.person_id.clone(),
            work_country: member.work_country.clone(),
            leader: member.leader,
            employer_is_sme: matches!(
                member.employer_sme_category(),
                intake::SmeCategory::Micro | intake::SmeCategory::Small | intake::SmeCategory::Medium
            ),
        })
        .collect();
    proto::Proposal {
        id: request.id.clone(),
        call_id: request.call_id.clone(),
        lane: proto::Lane::Transnational.into(),
        status: proto::ProposalStatus::InReview.into(),
        organisation_id: request.organisation_id.clone(),
        requester_country,
        requested: requested_units(request),
        members,
        // TA-5: a group that keeps results confidential does not disseminate them.
        may_disseminate: matches!(
            request.confidentiality(),
            intake::ConfidentialityLevel::Public | intake::ConfidentialityLevel::Unspecified
        ),
        create_time: request.create_time,
        ..proto::Proposal::default()
    }
}

/// An accepted industrial-lane request, granted as asked: no panel, no call.
pub fn industrial_proposal(request: &intake::AccessRequest) -> proto::Proposal {
    proto::Proposal {
        id: request.id.clone(),
        lane: proto::Lane::Industrial.into(),
        status: proto::ProposalStatus::Granted.into(),
        organisation_id: request.organisation_id.clone(),
        requested: requested_units(request),
        create_time: request.create_time,
        ..proto::Proposal::default()
    }
}

fn requested_units(request: &intake::AccessRequest) -> Vec<proto::RequestedUnits> {
    request
        .installations
        .iter()
        .map(|part| proto::RequestedUnits {
            installation_id: part.installation_id.clone(),
            units: part.units,
        })
        .collect()
}

pub fn call_status(call: &proto::Call) -> Option<CallStatus> {
    CallStatus::from_stored(call.status().as_str_name())
}

pub fn proposal_status(proposal: &proto::Proposal) -> Option<ProposalStatus> {
    ProposalStatus::from_stored(proposal.status().as_str_name())
}

pub fn proposal_lane(proposal: &proto::Proposal) -> Option<Lane> {
    Lane::from_stored(proposal.lane().as_str_name())
}

pub fn proposal_status_to_proto(status: ProposalStatus) -> proto::ProposalStatus {
    proto::ProposalStatus::from_str_name(status.as_stored()).unwrap_or_default()
}

/// The contract's view of a slot state; a pending slot has none yet.
pub fn slot_status_to_proto(status: SlotStatus) -> proto::SlotStatus {
    proto::SlotStatus::from_str_name(status.as_stored()).unwrap_or_default()
}

pub fn lane_to_proto(lane: Option<Lane>) -> proto::Lane {
    lane.and_then(|lane| proto::Lane::from_str_name(lane.as_stored()))
        .unwrap_or_default()
}

pub fn slot_to_proto(slot: Slot) -> proto::Slot {
    proto::Slot {
        status: slot_status_to_proto(slot.status).into(),
        lane: lane_to_proto(slot.lane).into(),
        expire_time: Some(timestamp_from_micros(slot.expire_at)),
        create_time: Some(timestamp_from_micros(slot.created_at)),
        update_time: Some(timestamp_from_micros(slot.updated_at)),
        id: slot.id,
        access_request_id: slot.access_request_id,
        installation_id: slot.installation_id,
        window_id: slot.window_id,
        units: slot.units,
        delivered_units: slot.delivered_units,
        lost_units: slot.lost_units,
        lost_reason: slot.lost_reason,
        reason: slot.reason,
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
        eligibility: ranked
            .eligibility
            .map_or(proto::EligibilityOutcome::Unspecified, outcome_to_proto)
            .into(),
        not_allocatable_reason: ranked.not_allocatable_reason.unwrap_or_default(),
    }
}

/// The run's answer: the allocation's objective beside its LP bound, so quality is measured.
pub fn allocation_run_to_proto(run: crate::service::AllocationRun) -> proto::RunAllocationResponse {
    let allocation = run.allocation;
    let ratio = if allocation.lp_bound > 0.0 {
        allocation.objective / allocation.lp_bound
    } else {
        1.0
    };
    proto::RunAllocationResponse {
        objective: allocation.objective,
        lp_bound: allocation.lp_bound,
        ratio,
        allocation: Some(allocation),
        dry_run: run.dry_run,
    }
}
