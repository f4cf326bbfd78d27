//! The allocation optimiser: how many units of each installation the ranked, eligible requests of one
//! call receive, under installation capacity, the TA-6 non-EU/AC cap and per-country caps, best score
//! first (TA-7). Pure: no I/O, no tonic, no SQL.
//!
//! [`allocate`] rounds the LP relaxation and fills what is left by score; [`score_greedy`] is the
//! baseline it is measured against; [`lp_bound`] is the upper bound both are measured against
//! (`cargo bench -p rti-allocation --bench allocation`, figures in `docs/benchmarks.md`).

mod ledger;
mod levels;
mod relaxation;
mod synthetic;

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One call's allocation problem: ranked, eligible candidates competing for installation capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Units each installation still offers in this call (index = installation number).
    pub capacity: Vec<u64>,
    /// The eligible requests, each with its panel score (TA-7).
    pub candidates: Vec<Candidate>,
    /// TA-6: units that groups whose majority works outside EU/associated countries may still be
    /// granted (20 % of the grant's planned units minus what such groups already hold). `None` = no cap.
    pub non_eu_budget: Option<u64>,
    /// Per-country caps: at most this many units to groups led from one country (index into
    /// `Candidate::country`). Empty = no caps; a country missing from the map has no cap.
    pub country_budget: BTreeMap<String, u64>,
    /// Partial grants: a candidate is granted either nothing or at least this fraction of what it
    /// asked (same fraction on every installation it asked for, units rounded down, each part ≥ 1 unit).
    /// 1.0 = all or nothing.
    pub min_fraction: f64,
}

/// One eligible request competing in the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Stable key (the request id) — ties in score are broken by it so the result is deterministic.
    pub key: String,
    /// (installation index, units asked), one per installation of the request.
    pub parts: Vec<(usize, u64)>,
    /// Ranking score per unit, priority bonuses included (TA-7). Higher is better; > 0.
    pub score: f64,
    /// TA-6: counts against `non_eu_budget`.
    pub non_eu_majority: bool,
    /// The country the cap is kept for (the leader's work country).
    pub country: String,
}

/// The outcome of one allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// One per candidate, same order as `Instance::candidates`.
    pub grants: Vec<Grant>,
    /// Σ score × granted units.
    pub objective: f64,
}

/// What one candidate received, and why not more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Units granted per part (same order as `Candidate::parts`); all zero = refused.
    pub units: Vec<u64>,
    /// Granted in full, cut, or refused, with the constraint that stopped it.
    pub decision: Decision,
}

/// The verdict on one candidate. The limit of a cut or refusal is read off the final allocation: of
/// the resources the candidate's next step up (one more unit on some part, or its smallest grant)
/// would overdraw, the one short by the most units; ties go to its installations in part order,
/// then the TA-6 budget, then its country. Deterministic like the allocation itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every part got all it asked.
    Granted,
    /// Granted partially (⌊f·asked⌋ on every part for one f ≥ `Instance::min_fraction`); the limit
    /// stopped it.
    Cut(Limit),
    /// Granted nothing; the limit stopped it.
    Refused(Limit),
}

/// What stopped a candidate from getting (all of) what it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// The installation had no more units to give.
    Capacity {
        /// Index into `Instance::capacity`.
        installation: usize,
    },
    /// TA-6: the non-EU/AC budget was used up.
    NonEuCap,
    /// The candidate's country had used its cap.
    CountryCap {
        /// The country, as in `Candidate::country`.
        country: String,
    },
}

/// Why the optimiser could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolverError {
    /// The instance breaks [`Instance::validate`].
    #[error("invalid allocation instance: {}", violations.join("; "))]
    InvalidInstance {
        /// Every violation, as `field path: reason`.
        violations: Vec<String>,
    },
    /// The LP backend (good_lp + microlp) failed.
    #[error("lp relaxation failed: {reason}")]
    Lp {
        /// The backend's message.
        reason: String,
    },
}

impl Instance {
    /// Checks what the optimiser relies on and reports every violation at once: installation indices
    /// in range and not repeated within a request, units ≥ 1, finite positive scores, `min_fraction`
    /// in (0, 1].
    pub fn validate(&self) -> Result<(), SolverError> {
        let mut violations = Vec::new();
        if !(self.min_fraction > 0.0 && self.min_fraction <= 1.0) {
            violations.push(format!("min_fraction: {} is outside (0, 1]", self.min_fraction));
        }
        for (index, candidate) in self.candidates.iter().enumerate() {
            if !(candidate.score.is_finite() && candidate.score > 0.0) {
                violations.push(format!(
                    "candidates[{index}].score: {} is not a finite positive number",
                    candidate.score
                ));
            }
            if candidate.parts.is_empty() {
                violations.push(format!("candidates[{index}].parts: asks for no installation"));
            }
            for (part, &(installation, units)) in candidate.parts.iter().enumerate() {
                if installation >= self.capacity.len() {
                    violations.push(format!(
                        "candidates[{index}].parts[{part}].installation: {installation} is not one of the {} installations",
                        self.capacity.len()
                    ));
                }
                if candidate.parts[..part]
                    .iter()
                    .any(|&(earlier, _)| earlier == installation)
                {
                    violations.push(format!(
                        "candidates[{index}].parts[{part}].installation: {installation} appears twice"
                    ));
                }
                if units == 0 {
                    violations.push(format!("candidates[{index}].parts[{part}].units: must be at least 1"));
                }
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SolverError::InvalidInstance { violations })
        }
    }
}

/// Units in use in a solution, per resource an instance caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Units granted per installation (index = installation number).
    pub per_installation: Vec<u64>,
    /// TA-6: units granted to groups whose majority works outside EU/associated countries.
    pub non_eu: u64,
    /// Units granted per leader's country.
    pub per_country: BTreeMap<String, u64>,
}

impl Usage {
    /// Sums `solution`'s grants; parts naming an installation outside the instance are skipped.
    pub fn of(instance: &Instance, solution: &Solution) -> Usage {
        let mut usage = Usage {
            per_installation: vec![0; instance.capacity.len()],
            non_eu: 0,
            per_country: BTreeMap::new(),
        };
        for (candidate, grant) in instance.candidates.iter().zip(&solution.grants) {
            let mut total = 0;
            for (&(installation, _), &units) in candidate.parts.iter().zip(&grant.units) {
                if let Some(used) = usage.per_installation.get_mut(installation) {
                    *used += units;
                }
                total += units;
            }
            if candidate.non_eu_majority {
                usage.non_eu += total;
            }
            *usage.per_country.entry(candidate.country.clone()).or_insert(0) += total;
        }
        usage
    }
}

/// Checks that `solution` is one the service may store for `instance`: one grant per candidate and one
/// count per part, integer units within what was asked, the partial-grant rule (`min_fraction`),
/// installation capacity, the TA-6 non-EU/AC budget, the country budgets, decisions that match the
/// units, and the objective. Returns the first breach found.
pub fn check_feasible(instance: &Instance, solution: &Solution) -> Result<(), String> {
    if solution.grants.len() != instance.candidates.len() {
        return Err(format!(
            "{} grants for {} candidates",
            solution.grants.len(),
            instance.candidates.len()
        ));
    }
    let min_fraction = effective_min_fraction(instance.min_fraction);
    let mut objective = 0.0;
    for (index, (candidate, grant)) in instance.candidates.iter().zip(&solution.grants).enumerate() {
        let key = &candidate.key;
        if grant.units.len() != candidate.parts.len() {
            return Err(format!(
                "{key}: {} counts for {} parts",
                grant.units.len(),
                candidate.parts.len()
            ));
        }
        let asked: Vec<u64> = candidate.parts.iter().map(|&(_, units)| units).collect();
        if let Some(part) = (0..asked.len()).find(|&part| grant.units[part] > asked[part]) {
            return Err(format!("{key}: part {part} granted more than asked"));
        }
        if !is_level(&asked, &grant.units, min_fraction) {
            return Err(format!(
                "{key} (candidate {index}): {:?} of {asked:?} is not a common fraction ≥ {min_fraction} rounded down",
                grant.units
            ));
        }
        let full = grant.units == asked;
        let nothing = grant.units.iter().all(|&units| units == 0);
        let consistent = match grant.decision {
            Decision::Granted => full,
            Decision::Cut(_) => !full && !nothing,
            Decision::Refused(_) => !full && nothing,
        };
        if !consistent {
            return Err(format!(
                "{key}: decision {:?} does not match units {:?}",
                grant.decision, grant.units
            ));
        }
        objective += candidate.score * grant.units.iter().sum::<u64>() as f64;
    }
    let usage = Usage::of(instance, solution);
    for (installation, (&used, &capacity)) in usage.per_installation.iter().zip(&instance.capacity).enumerate() {
        if used > capacity {
            return Err(format!(
                "installation {installation}: {used} units granted, capacity {capacity}"
            ));
        }
    }
    if let Some(budget) = instance.non_eu_budget
        && usage.non_eu > budget
    {
        return Err(format!(
            "TA-6: {} units to non-EU/AC majority groups, budget {budget}",
            usage.non_eu
        ));
    }
    for (country, &used) in &usage.per_country {
        if let Some(&budget) = instance.country_budget.get(country)
            && used > budget
        {
            return Err(format!("country {country}: {used} units granted, budget {budget}"));
        }
    }
    if (objective - solution.objective).abs() > 1e-9 * objective.abs().max(1.0) {
        return Err(format!(
            "objective {} but the grants sum to {objective}",
            solution.objective
        ));
    }
    Ok(())
}

/// Baseline: sort by score (ties by key, TA-7), grant in full when capacity and caps (TA-6, country)
/// allow, else partially down to `min_fraction`, else refuse. Reported beside [`allocate`] in the
/// benchmark.
pub fn score_greedy(instance: &Instance) -> Solution {
    let prepared = Prepared::new(instance);
    let mut ledger = Ledger::new(&prepared);
    for &candidate in &prepared.ranking {
        ledger.grow(&prepared, candidate);
    }
    ledger.into_solution(&prepared)
}

// ---------------------------------------------------------------------------------------------------
// The LP relaxation and the allocation built on it.
// ---------------------------------------------------------------------------------------------------

/// The LP-relaxation upper bound (good_lp + microlp): fraction f_p ∈ [0,1] of each candidate,
/// maximise Σ score_p·(Σ_i units_pi)·f_p subject to capacity per installation, the TA-6 non-EU
/// budget and the country budgets. No allocation (partial grants included) scores more.
pub fn lp_bound(instance: &Instance) -> Result<f64, SolverError> {
    instance.validate()?;
    let prepared = Prepared::new(instance);
    let everyone: Vec<usize> = (0..instance.candidates.len()).collect();
    let fractions = Relaxation::new(&prepared).solve(&everyone)?;
    Ok(everyone
        .iter()
        .zip(&fractions)
        .map(|(&candidate, fraction)| prepared.value(candidate) * fraction)
        .sum())
}

/// The allocation the service stores: best-effort near-optimal, deterministic, always feasible.
///
/// 1. Solve the LP relaxation ([`lp_bound`]'s model) by column generation, starting from the
///    candidates [`score_greedy`] grants. Candidates the LP grants in full come first, then the
///    others, best score first (TA-7): each gets the largest grant on its ladder that fits and stays
///    within its LP fraction (rounding down keeps the LP's choices feasible).
/// 2. Fill: best score first, every candidate rises to the largest grant that fits what is left.
/// 3. Local search within a fixed work budget: take a granted candidate's units away (lowest score
///    first), let the others grow again, keep the change if the objective rises.
/// 4. Keep the better of this and [`score_greedy`] (ties: this one), so `allocate` never scores less
///    than the baseline; if the LP fails, the greedy result alone.
///
/// Cuts and refusals name the resource that stops the candidate's next step (see [`Decision`]).
///
/// Expects an instance that passes [`Instance::validate`]; on one that does not, the result is still
/// feasible (a part on an unknown installation cannot be served) but not meaningful.
pub fn allocate(instance: &Instance) -> Solution {
    let prepared = Prepared::new(instance);
    let greedy = score_greedy(instance);
    let granted_by_greedy: Vec<usize> = (0..instance.candidates.len())
        .filter(|&candidate| greedy.grants[candidate].units.iter().any(|&units| units > 0))
        .collect();
    let Ok(fractions) = Relaxation::ranked(&prepared).solve_by_columns(granted_by_greedy) else {
        return greedy;
    };
    let mut ledger = Ledger::new(&prepared);
    let mut order = prepared.ranking.clone();
    // Stable: within "full in the LP" and "not full", the ranking order is kept.
    order.sort_by_key(|&candidate| fractions[candidate] < 1.0 - 1e-9);
    for &candidate in &order {
        let fraction = fractions[candidate];
        let asked = &prepared.asked[candidate];
        ledger.grow_within(&prepared, candidate, |units| {
            units
                .iter()
                .zip(asked)
                .all(|(&granted, &a)| granted as f64 <= fraction * a as f64 + 1e-7)
        });
    }
    for &candidate in &prepared.ranking {
        ledger.grow(&prepared, candidate);
    }
    improve_by_dropping(&prepared, &mut ledger);
    let rounded = ledger.into_solution(&prepared);
    if rounded.objective >= greedy.objective {
        rounded
    } else {
        greedy
    }
}

use ledger::{Ledger, Prepared, improve_by_dropping};
use levels::{effective_min_fraction, is_level, largest_fitting};
use relaxation::Relaxation;
pub use synthetic::synthetic;

#[cfg(test)]
mod tests;
