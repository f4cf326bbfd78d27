//! Ranking (TA-7: merit plus priority bonuses) and the allocation run (TA-6 cap, country caps,
//! capacity, partial grants) on a call's stored proposals.

use std::collections::BTreeMap;

use rti_platform::ids::new_id;
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;

use super::evaluate::{domain_group, domain_rulebook, domain_site, reference_date};
use super::{AllocationApi, offered, planned_units, rulebook};
use crate::domain::countries::CountryTable;
use crate::domain::eligibility;
use crate::domain::solver::{self, Candidate, Decision, Instance, Limit};
use crate::error::{AllocationError, AllocationResult};
use crate::store::leader_work_country;

/// Mean of the panel's weighted scores; `None` without reviews.
fn mean_score(proposal: &proto::Proposal) -> Option<f64> {
    let scores: Vec<f64> = proposal.reviews.iter().map(|review| review.weighted_score).collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Why a proposal cannot be allocated, or `None` when it can.
fn not_allocatable(proposal: &proto::Proposal, threshold: f64) -> Option<String> {
    if let Some(fail) = proposal
        .findings
        .iter()
        .find(|finding| finding.outcome() == proto::EligibilityOutcome::Fail)
    {
        return Some(format!("ineligible under {}: {}", fail.rule, fail.reason));
    }
    for part in &proposal.requested {
        match proposal
            .feasibility
            .iter()
            .find(|feasibility| feasibility.installation_id == part.installation_id)
        {
            None => {
                return Some(format!(
                    "no technical feasibility yet for installation {}",
                    part.installation_id
                ));
            }
            Some(feasibility) if !feasibility.feasible => {
                return Some(format!(
                    "not feasible at installation {}: {}",
                    part.installation_id, feasibility.note
                ));
            }
            Some(_) => {}
        }
    }
    match mean_score(proposal) {
        None => Some("not reviewed yet".to_owned()),
        Some(score) if score < threshold => {
            Some(format!("mean score {score:.2} is below the threshold {threshold:.2}"))
        }
        Some(_) => None,
    }
}

impl AllocationApi {
    /// Every proposal of the call in review or decided, best first.
    pub(crate) async fn ranking(
        &self,
        call: &proto::Call,
    ) -> AllocationResult<Vec<(proto::RankedProposal, proto::Proposal)>> {
        let rules = rulebook(call)?;
        let domain_rules = domain_rulebook(rules);
        let table = CountryTable::shipped();
        let on = reference_date(call);
        let mut ranked = Vec::new();
        for proposal in self.store.call_proposals(&call.id).await? {
            if proposal.status() == proto::ProposalStatus::Withdrawn || proposal.lane() != proto::Lane::Transnational {
                continue;
            }
            let person_ids: Vec<String> = proposal.members.iter().map(|m| m.person_id.clone()).collect();
            let (mut bonus, mut reasons) = (0.0_f64, Vec::new());
            for part in &proposal.requested {
                let Some(installation) = offered(call, &part.installation_id) else {
                    continue;
                };
                let used = self
                    .store
                    .used_before(&proposal.id, &part.installation_id, &person_ids)
                    .await?;
                let group = domain_group(&proposal, &used);
                let (points, why) =
                    eligibility::priority_bonus(&domain_rules, table, on, &group, &domain_site(installation));
                // The best bonus over the requested installations.
                if points > bonus {
                    (bonus, reasons) = (points, why);
                }
            }
            let mean = mean_score(&proposal).unwrap_or(0.0);
            let blocked = not_allocatable(&proposal, rules.score_threshold);
            ranked.push((
                proto::RankedProposal {
                    proposal_id: proposal.id.clone(),
                    rank: 0,
                    mean_score: mean,
                    priority_bonus: bonus,
                    bonus_reasons: reasons,
                    total: mean + bonus,
                    reviews: i32::try_from(proposal.reviews.len()).unwrap_or(i32::MAX),
                    eligibility: proposal.eligibility,
                    allocatable: blocked.is_none(),
                    not_allocatable_reason: blocked.unwrap_or_default(),
                },
                proposal,
            ));
        }
        ranked.sort_by(|(a, _), (b, _)| {
            b.allocatable
                .cmp(&a.allocatable)
                .then(b.total.total_cmp(&a.total))
                .then(a.proposal_id.cmp(&b.proposal_id))
        });
        for (index, (entry, _)) in ranked.iter_mut().enumerate() {
            entry.rank = i32::try_from(index + 1).unwrap_or(i32::MAX);
        }
        Ok(ranked)
    }

    /// Runs the optimiser on the call's allocatable proposals; the result is not stored.
    pub(crate) async fn allocation(
        &self,
        call: &proto::Call,
    ) -> AllocationResult<(proto::Allocation, Vec<(String, bool)>)> {
        let rules = rulebook(call)?;
        let ranked = self.ranking(call).await?;
        let index: BTreeMap<&str, usize> = call
            .installations
            .iter()
            .enumerate()
            .map(|(position, installation)| (installation.installation_id.as_str(), position))
            .collect();
        let offered_units: u64 = call
            .installations
            .iter()
            .map(|i| u64::try_from(i.units).unwrap_or(0))
            .sum();
        let held_elsewhere = self
            .store
            .non_eu_granted_elsewhere(&call.grant_agreement, &call.id)
            .await?;
        let non_eu_budget = eligibility::non_eu_budget(
            u64::try_from(planned_units(call)).unwrap_or(0),
            u32::try_from(rules.non_eu_cap_percent).unwrap_or(20),
            u64::try_from(held_elsewhere).unwrap_or(0),
        );
        let mut candidates = Vec::new();
        let mut entries = Vec::new();
        for (entry, proposal) in &ranked {
            if !entry.allocatable {
                continue;
            }
            candidates.push(Candidate {
                key: proposal.id.clone(),
                parts: proposal
                    .requested
                    .iter()
                    .filter_map(|part| {
                        Some((
                            *index.get(part.installation_id.as_str())?,
                            u64::try_from(part.units).ok()?,
                        ))
                    })
                    .collect(),
                // Scores run from 0; a proposal scored 0 still competes for what is left.
                score: entry.total.max(0.01),
                non_eu_majority: proposal.non_eu_majority,
                country: leader_work_country(proposal),
            });
            entries.push((entry, proposal));
        }
        let country_budget = match rules.country_cap_percent {
            0 => BTreeMap::new(),
            percent => {
                let each = offered_units * u64::try_from(percent).unwrap_or(100) / 100;
                candidates
                    .iter()
                    .map(|candidate| (candidate.country.clone(), each))
                    .collect()
            }
        };
        let instance = Instance {
            capacity: call
                .installations
                .iter()
                .map(|i| u64::try_from(i.units).unwrap_or(0))
                .collect(),
            candidates,
            non_eu_budget: Some(non_eu_budget),
            country_budget,
            min_fraction: f64::from(rules.min_grant_percent.clamp(1, 100)) / 100.0,
        };
        instance
            .validate()
            .map_err(|error| AllocationError::Corrupt(error.to_string()))?;
        let solution = solver::allocate(&instance);
        let lp_bound = solver::lp_bound(&instance).map_err(|error| AllocationError::Corrupt(error.to_string()))?;

        let mut lines = Vec::new();
        let mut non_eu = Vec::new();
        let mut non_eu_granted = 0;
        for ((entry, proposal), grant) in entries.iter().zip(&solution.grants) {
            let granted: Vec<proto::RequestedUnits> = proposal
                .requested
                .iter()
                .zip(&grant.units)
                .map(|(part, units)| proto::RequestedUnits {
                    installation_id: part.installation_id.clone(),
                    units: i64::try_from(*units).unwrap_or(i64::MAX),
                })
                .collect();
            let total: i64 = granted.iter().map(|part| part.units).sum();
            if proposal.non_eu_majority {
                non_eu_granted += total;
            }
            let (decision, explanation) = match &grant.decision {
                Decision::Granted => (proto::LineDecision::Granted, "granted in full".to_owned()),
                Decision::Cut(limit) => (
                    proto::LineDecision::Cut,
                    format!("cut to {total} units by {}", limit_text(call, limit)),
                ),
                Decision::Refused(limit) => (
                    proto::LineDecision::Refused,
                    format!("refused: {}", limit_text(call, limit)),
                ),
            };
            non_eu.push((proposal.id.clone(), proposal.non_eu_majority));
            lines.push(line(entry, proposal, decision, granted, explanation));
        }
        for (entry, proposal) in ranked.iter().filter(|(entry, _)| !entry.allocatable) {
            let reason = format!("refused: {}", entry.not_allocatable_reason);
            lines.push(line(entry, proposal, proto::LineDecision::Refused, Vec::new(), reason));
        }
        let allocation = proto::Allocation {
            call_id: call.id.clone(),
            id: new_id(),
            rulebook_version: rules.version,
            lines,
            objective: solution.objective,
            lp_bound,
            non_eu_budget_units: i64::try_from(non_eu_budget).unwrap_or(i64::MAX),
            non_eu_granted_units: non_eu_granted,
            approved_by: String::new(),
            create_time: Some(timestamp_from_micros(now_micros())),
        };
        Ok((allocation, non_eu))
    }
}

fn line(
    entry: &proto::RankedProposal,
    proposal: &proto::Proposal,
    decision: proto::LineDecision,
    granted: Vec<proto::RequestedUnits>,
    explanation: String,
) -> proto::AllocationLine {
    proto::AllocationLine {
        proposal_id: proposal.id.clone(),
        decision: decision.into(),
        granted,
        requested: proposal.requested.clone(),
        rank: entry.rank,
        score: entry.total,
        non_eu_majority: proposal.non_eu_majority,
        explanation,
    }
}

fn limit_text(call: &proto::Call, limit: &Limit) -> String {
    match limit {
        Limit::Capacity { installation } => format!(
            "the capacity of installation {}",
            call.installations
                .get(*installation)
                .map_or("?", |installation| installation.installation_id.as_str())
        ),
        Limit::NonEuCap => format!(
            "the {} % cap on groups whose majority works outside EU and associated countries (TA-6)",
            call.rulebook.as_ref().map_or(20, |rules| rules.non_eu_cap_percent)
        ),
        Limit::CountryCap { country } => format!("the per-country cap for {country}"),
    }
}
