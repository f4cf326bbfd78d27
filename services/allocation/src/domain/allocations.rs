//! The allocation run of a call: the ranked, allocatable proposals become a solver instance
//! (capacity, TA-6's cap, per-country caps, partial grants), and the solution becomes one line
//! per proposal with the reason for every cut or refusal.

use std::collections::BTreeMap;

use super::calls::{Call, DEFAULT_NON_EU_CAP_PERCENT, RulebookVersion};
use super::eligibility;
use super::proposals::{Proposal, RequestedUnits};
use super::review::Ranked;
use super::solver::{self, Candidate, Decision, Instance, Limit, SolverError};
use super::states::LineDecision;

/// What the run decided for one proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationLine {
    pub proposal_id: String,
    pub decision: Option<LineDecision>,
    pub granted: Vec<RequestedUnits>,
    pub requested: Vec<RequestedUnits>,
    pub rank: i32,
    pub score: f64,
    pub non_eu_majority: bool,
    pub explanation: String,
}

/// A call's allocation, stored once the coordinator approves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allocation {
    pub call_id: String,
    pub id: String,
    pub rulebook_version: i32,
    pub lines: Vec<AllocationLine>,
    /// The solution's score.
    pub objective: f64,
    /// The LP relaxation's bound on any solution's score.
    pub lp_bound: f64,
    /// TA-6: units non-EU/AC-majority groups could still be granted.
    pub non_eu_budget_units: i64,
    pub non_eu_granted_units: i64,
    /// Empty on a dry run.
    pub approved_by: String,
    pub created_at: Option<i64>,
}

impl Allocation {
    /// The objective as a share of the LP bound (1 when the bound is 0): quality measured.
    pub fn ratio(&self) -> f64 {
        if self.lp_bound > 0.0 {
            self.objective / self.lp_bound
        } else {
            1.0
        }
    }
}

/// Runs the optimiser on the ranked proposals of `call`, allocatable ones competing, under
/// `rules`; `non_eu_held_elsewhere` is what TA-6 already counts from other calls of the grant.
/// The allocation has no id, approver or time yet.
pub fn plan(
    call: &Call,
    rules: &RulebookVersion,
    ranked: &[(Ranked, Proposal)],
    non_eu_held_elsewhere: i64,
) -> Result<Allocation, SolverError> {
    let index: BTreeMap<&str, usize> = call
        .installations
        .iter()
        .enumerate()
        .map(|(position, installation)| (installation.installation_id.as_str(), position))
        .collect();
    // TA-6: the cap is a share of the grant's planned units, less what earlier calls granted.
    let non_eu_budget = eligibility::non_eu_budget(
        u64::try_from(call.planned_units()).unwrap_or(0),
        u32::try_from(rules.non_eu_cap_percent).unwrap_or(DEFAULT_NON_EU_CAP_PERCENT.unsigned_abs()),
        u64::try_from(non_eu_held_elsewhere).unwrap_or(0),
    );
    let mut candidates = Vec::new();
    let mut entries = Vec::new();
    for (entry, proposal) in ranked.iter().filter(|(entry, _)| entry.allocatable()) {
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
            country: proposal.leader_work_country(),
        });
        entries.push((entry, proposal));
    }
    let country_budget = match rules.country_cap_percent {
        0 => BTreeMap::new(),
        percent => {
            let each = call.offered_units() * u64::try_from(percent).unwrap_or(100) / 100;
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
            .map(|installation| u64::try_from(installation.units).unwrap_or(0))
            .collect(),
        candidates,
        non_eu_budget: Some(non_eu_budget),
        country_budget,
        min_fraction: f64::from(rules.min_grant_percent.clamp(1, 100)) / 100.0,
    };
    instance.validate()?;
    let solution = solver::allocate(&instance);
    let lp_bound = solver::lp_bound(&instance)?;

    let mut lines = Vec::new();
    let mut non_eu_granted = 0;
    for ((entry, proposal), grant) in entries.iter().zip(&solution.grants) {
        let granted: Vec<RequestedUnits> = proposal
            .requested
            .iter()
            .zip(&grant.units)
            .map(|(part, units)| RequestedUnits {
                installation_id: part.installation_id.clone(),
                units: i64::try_from(*units).unwrap_or(i64::MAX),
            })
            .collect();
        let total: i64 = granted.iter().map(|part| part.units).sum();
        if proposal.non_eu_majority {
            non_eu_granted += total;
        }
        let (decision, explanation) = match &grant.decision {
            Decision::Granted => (LineDecision::Granted, "granted in full".to_owned()),
            Decision::Cut(limit) => (
                LineDecision::Cut,
                format!("cut to {total} units by {}", limit_text(call, limit)),
            ),
            Decision::Refused(limit) => (LineDecision::Refused, format!("refused: {}", limit_text(call, limit))),
        };
        lines.push(line(entry, proposal, decision, granted, explanation));
    }
    for (entry, proposal) in ranked.iter().filter(|(entry, _)| !entry.allocatable()) {
        let reason = format!(
            "refused: {}",
            entry.not_allocatable_reason.as_deref().unwrap_or_default()
        );
        lines.push(line(entry, proposal, LineDecision::Refused, Vec::new(), reason));
    }
    Ok(Allocation {
        call_id: call.id.clone(),
        id: String::new(),
        rulebook_version: rules.version,
        lines,
        objective: solution.objective,
        lp_bound,
        non_eu_budget_units: i64::try_from(non_eu_budget).unwrap_or(i64::MAX),
        non_eu_granted_units: non_eu_granted,
        approved_by: String::new(),
        created_at: None,
    })
}

fn line(
    entry: &Ranked,
    proposal: &Proposal,
    decision: LineDecision,
    granted: Vec<RequestedUnits>,
    explanation: String,
) -> AllocationLine {
    AllocationLine {
        proposal_id: proposal.id.clone(),
        decision: Some(decision),
        granted,
        requested: proposal.requested.clone(),
        rank: entry.rank,
        score: entry.total,
        non_eu_majority: proposal.non_eu_majority,
        explanation,
    }
}

fn limit_text(call: &Call, limit: &Limit) -> String {
    match limit {
        Limit::Capacity { installation } => format!(
            "the capacity of installation {}",
            call.installations
                .get(*installation)
                .map_or("?", |installation| installation.installation_id.as_str())
        ),
        Limit::NonEuCap => format!(
            "the {} % cap on groups whose majority works outside EU and associated countries (TA-6)",
            call.non_eu_cap_percent()
        ),
        Limit::CountryCap { country } => format!("the per-country cap for {country}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calls::CallInstallation;
    use crate::domain::eligibility::Outcome;

    fn call(units: i64, grant_planned_units: i64) -> (Call, RulebookVersion) {
        let rules = RulebookVersion {
            version: 1,
            non_eu_cap_percent: 20,
            min_grant_percent: 50,
            ..RulebookVersion::default()
        };
        let call = Call {
            id: "c-1".to_owned(),
            installations: vec![CallInstallation {
                installation_id: "i-1".to_owned(),
                units,
                ..CallInstallation::default()
            }],
            grant_planned_units,
            rulebook: Some(rules.clone()),
            ..Call::default()
        };
        (call, rules)
    }

    fn ranked(id: &str, units: i64, non_eu_majority: bool, total: f64) -> (Ranked, Proposal) {
        let entry = Ranked {
            proposal_id: id.to_owned(),
            rank: 0,
            mean_score: total,
            priority_bonus: 0.0,
            bonus_reasons: Vec::new(),
            total,
            reviews: 1,
            eligibility: Some(Outcome::Pass),
            not_allocatable_reason: None,
        };
        let proposal = Proposal {
            id: id.to_owned(),
            requested: vec![RequestedUnits {
                installation_id: "i-1".to_owned(),
                units,
            }],
            non_eu_majority,
            ..Proposal::default()
        };
        (entry, proposal)
    }

    #[test]
    fn ta6_non_eu_majority_groups_share_twenty_percent_of_the_planned_units() {
        let (call, rules) = call(100, 0);
        let planned = plan(&call, &rules, &[ranked("p-1", 40, true, 9.0)], 0).expect("plan");
        assert_eq!(planned.non_eu_budget_units, 20);
        let line = &planned.lines[0];
        assert_eq!(line.granted[0].units, 20);
        assert_eq!(line.decision, Some(LineDecision::Cut));
        assert!(line.explanation.contains("TA-6"), "{}", line.explanation);
    }

    #[test]
    fn ta6_counts_what_earlier_calls_of_the_grant_gave_such_groups() {
        let (call, rules) = call(100, 200);
        let planned = plan(&call, &rules, &[ranked("p-1", 40, true, 9.0)], 30).expect("plan");
        // 20 % of 200 planned units, less 30 already granted under the same grant.
        assert_eq!(planned.non_eu_budget_units, 10);
        assert_eq!(planned.lines[0].decision, Some(LineDecision::Refused));
    }

    #[test]
    fn a_proposal_that_cannot_be_allocated_is_refused_with_its_reason() {
        let (call, rules) = call(100, 0);
        let (mut entry, proposal) = ranked("p-1", 10, false, 9.0);
        entry.not_allocatable_reason = Some("not reviewed yet".to_owned());
        let planned = plan(&call, &rules, &[(entry, proposal)], 0).expect("plan");
        assert_eq!(planned.lines[0].decision, Some(LineDecision::Refused));
        assert_eq!(planned.lines[0].explanation, "refused: not reviewed yet");
        assert!(planned.lines[0].granted.is_empty());
    }
}
