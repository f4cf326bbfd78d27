//! Ranking (TA-7: merit plus priority bonuses) and the allocation run (TA-6 cap, country caps,
//! capacity, partial grants) on a call's stored proposals.

use std::collections::BTreeMap;

use rti_platform::auth::Principal;
use rti_platform::ids::new_id;
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;

use super::{AllocationService, oversees, rulebook};
use crate::convert::{self, leader_work_country};
use crate::domain::eligibility;
use crate::domain::evaluation::{self, CallRules};
use crate::domain::review::{self, Feasibility, Ranked, Readiness};
use crate::domain::solver::{self, Candidate, Decision, Instance, Limit};
use crate::domain::{CallStatus, Lane, ProposalStatus};
use crate::error::{AllocationError, AllocationResult};

/// What `RunAllocation` returns: the allocation and whether it was stored.
#[derive(Debug, Clone)]
pub struct AllocationRun {
    pub allocation: proto::Allocation,
    pub dry_run: bool,
}

impl AllocationService {
    /// Every proposal of the call in review or decided, best first.
    pub async fn ranking(&self, call_id: &str) -> AllocationResult<(String, Vec<Ranked>)> {
        let call = self.open_call(call_id, "call_id").await?;
        let ranked = self.rank(&call).await?.into_iter().map(|(entry, _)| entry).collect();
        Ok((call.id, ranked))
    }

    async fn rank(&self, call: &proto::Call) -> AllocationResult<Vec<(Ranked, proto::Proposal)>> {
        let rules = rulebook(call)?;
        let mut ranked = Vec::new();
        for proposal in self.store.call_proposals(&call.id).await? {
            if convert::proposal_status(&proposal) == Some(ProposalStatus::Withdrawn)
                || convert::proposal_lane(&proposal) != Some(Lane::Transnational)
            {
                continue;
            }
            let (view, parts) = self.rules_and_parts(call, &proposal).await?;
            let call_rules = CallRules {
                rulebook: &view.rulebook,
                on: view.on,
                sites: &view.sites,
            };
            let (bonus, reasons) = evaluation::best_priority_bonus(call_rules, &parts);
            let scores: Vec<f64> = proposal.reviews.iter().map(|review| review.weighted_score).collect();
            let mean = review::mean_score(&scores);
            let feasibility: Vec<(&str, Feasibility<'_>)> = proposal
                .requested
                .iter()
                .map(|part| {
                    let verdict = match proposal
                        .feasibility
                        .iter()
                        .find(|feasibility| feasibility.installation_id == part.installation_id)
                    {
                        None => Feasibility::NotYet,
                        Some(given) if given.feasible => Feasibility::Feasible,
                        Some(given) => Feasibility::NotFeasible { note: &given.note },
                    };
                    (part.installation_id.as_str(), verdict)
                })
                .collect();
            let failed_rule = proposal
                .findings
                .iter()
                .find(|finding| finding.outcome() == proto::EligibilityOutcome::Fail)
                .map(|fail| (fail.rule.as_str(), fail.reason.as_str()));
            let blocked = review::not_allocatable(&Readiness {
                failed_rule,
                feasibility: &feasibility,
                mean_score: mean,
                threshold: rules.score_threshold,
            });
            let mean = mean.unwrap_or(0.0);
            let entry = Ranked {
                proposal_id: proposal.id.clone(),
                rank: 0,
                mean_score: mean,
                priority_bonus: bonus,
                bonus_reasons: reasons,
                total: mean + bonus,
                reviews: i32::try_from(proposal.reviews.len()).unwrap_or(i32::MAX),
                eligibility: convert::outcome_from_proto(proposal.eligibility()),
                not_allocatable_reason: blocked,
            };
            ranked.push((entry, proposal));
        }
        review::rank(&mut ranked);
        Ok(ranked)
    }

    /// Runs the optimiser on the call's allocatable proposals; unless a dry run, the coordinator
    /// approves it and it is stored (once per call).
    pub async fn run_allocation(
        &self,
        caller: &Principal,
        call_id: &str,
        dry_run: bool,
    ) -> AllocationResult<AllocationRun> {
        let call = self.open_call(call_id, "call_id").await?;
        if convert::call_status(&call) != Some(CallStatus::Open) && !dry_run {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; an allocation is approved once",
                call.id
            )));
        }
        let (mut allocation, non_eu) = self.allocation(&call).await?;
        allocation.approved_by = if dry_run { String::new() } else { caller.subject.clone() };
        if !dry_run {
            self.store.store_allocation(&call, &allocation, &non_eu).await?;
        }
        Ok(AllocationRun { allocation, dry_run })
    }

    /// The call's stored allocation; callers who do not oversee see only the lines of proposals
    /// they may see.
    pub async fn get_allocation(&self, caller: &Principal, call_id: &str) -> AllocationResult<proto::Allocation> {
        let call = self.open_call(call_id, "call_id").await?;
        let mut allocation = self.store.get_allocation(&call.id).await?;
        if !oversees(caller) {
            let mut lines = Vec::new();
            for line in allocation.lines {
                let proposal = self.store.get_proposal(&line.proposal_id).await?;
                if self.view(caller, &proposal).await.is_ok() {
                    lines.push(line);
                }
            }
            allocation.lines = lines;
        }
        Ok(allocation)
    }

    /// Runs the optimiser on the call's allocatable proposals; the result is not stored.
    async fn allocation(&self, call: &proto::Call) -> AllocationResult<(proto::Allocation, Vec<(String, bool)>)> {
        let rules = rulebook(call)?;
        let ranked = self.rank(call).await?;
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
            u64::try_from(Self::planned_units(call)).unwrap_or(0),
            u32::try_from(rules.non_eu_cap_percent).unwrap_or(20),
            u64::try_from(held_elsewhere).unwrap_or(0),
        );
        let mut candidates = Vec::new();
        let mut entries = Vec::new();
        for (entry, proposal) in &ranked {
            if !entry.allocatable() {
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
        for (entry, proposal) in ranked.iter().filter(|(entry, _)| !entry.allocatable()) {
            let reason = format!(
                "refused: {}",
                entry.not_allocatable_reason.as_deref().unwrap_or_default()
            );
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
    entry: &Ranked,
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
