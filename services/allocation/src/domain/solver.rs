//! The allocation optimiser: how many units of each installation the ranked, eligible requests of one
//! call receive, under installation capacity, the TA-6 non-EU/AC cap and per-country caps, best score
//! first (TA-7). Pure: no I/O, no tonic, no SQL.
//!
//! [`allocate`] rounds the LP relaxation and fills what is left by score; [`score_greedy`] is the
//! baseline it is measured against; [`lp_bound`] is the upper bound both are measured against
//! (`cargo bench -p rti-allocation --bench allocation`, figures in `docs/benchmarks.md`).

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

/// `Instance::min_fraction` as the algorithms use it: values outside (0, 1] (which
/// [`Instance::validate`] rejects) mean all or nothing.
fn effective_min_fraction(min_fraction: f64) -> f64 {
    if min_fraction > 0.0 && min_fraction <= 1.0 {
        min_fraction
    } else {
        1.0
    }
}

// ---------------------------------------------------------------------------------------------------
// The partial-grant ladder. A candidate asking a_i on its parts may receive u_i = ⌊f·a_i⌋ for one
// fraction f ∈ [min_fraction, 1] with every u_i ≥ 1, or nothing. These vectors form a chain ordered by
// f; they change only where f·a_j crosses an integer, so the steps above min_fraction are the
// fractions k / a_j, computed exactly in integers.
// ---------------------------------------------------------------------------------------------------

/// Whether `units` is nothing, everything, or ⌊f·asked⌋ for one f ≥ `min_fraction` with every part ≥ 1.
fn is_level(asked: &[u64], units: &[u64], min_fraction: f64) -> bool {
    if units == asked || units.iter().all(|&granted| granted == 0) {
        return true;
    }
    let positive: Vec<(u64, u64)> = asked
        .iter()
        .zip(units)
        .filter(|&(&a, _)| a > 0)
        .map(|(&a, &u)| (a, u))
        .collect();
    // Every part gets ≥ 1; one full part would force f = 1 and so make every part full.
    if positive.iter().any(|&(a, u)| u == 0 || u >= a) {
        return false;
    }
    // f ∈ [max(min_fraction, u_i / a_i), min (u_j + 1) / a_j) must be non-empty.
    positive.iter().all(|&(a_j, u_j)| {
        min_fraction * (a_j as f64) < (u_j + 1) as f64
            && positive
                .iter()
                .all(|&(a_i, u_i)| u128::from(u_i) * u128::from(a_j) < u128::from(u_j + 1) * u128::from(a_i))
    })
}

/// ⌊(numerator / denominator)·a_i⌋ for every part.
fn units_at_ratio(asked: &[u64], numerator: u64, denominator: u64) -> Vec<u64> {
    asked
        .iter()
        .map(|&a| {
            let units = u128::from(numerator) * u128::from(a) / u128::from(denominator.max(1));
            u64::try_from(units).unwrap_or(a).min(a)
        })
        .collect()
}

/// The smallest non-empty grant: ⌊min_fraction·a_i⌋, raised to the first fraction giving every part ≥ 1.
fn lowest_level(asked: &[u64], min_fraction: f64) -> Vec<u64> {
    let at_min_fraction: Vec<u64> = asked
        .iter()
        .map(|&a| ((min_fraction * a as f64).floor() as u64).min(a))
        .collect();
    let smallest_ask = asked.iter().copied().filter(|&a| a > 0).min().unwrap_or(0);
    if asked.iter().zip(&at_min_fraction).all(|(&a, &u)| a == 0 || u >= 1) || smallest_ask == 0 {
        at_min_fraction
    } else {
        units_at_ratio(asked, 1, smallest_ask)
    }
}

/// The grant one step above `current` on the ladder, or `None` when `current` is the full request.
fn next_level(asked: &[u64], current: &[u64], min_fraction: f64) -> Option<Vec<u64>> {
    if current == asked {
        return None;
    }
    if current.iter().all(|&units| units == 0) {
        return Some(lowest_level(asked, min_fraction));
    }
    // The next step is the smallest (u_j + 1) / a_j.
    let (numerator, denominator) = asked
        .iter()
        .zip(current)
        .filter(|&(&a, &u)| a > 0 && u < a)
        .map(|(&a, &u)| (u + 1, a))
        .min_by(|&(n1, d1), &(n2, d2)| (u128::from(n1) * u128::from(d2)).cmp(&(u128::from(n2) * u128::from(d1))))?;
    Some(units_at_ratio(asked, numerator, denominator))
}

/// The largest grant on the ladder that `fits` accepts (`fits` must be monotone: a grant that fits
/// keeps fitting when any part shrinks), or `None` when not even the smallest grant fits.
fn largest_fitting(asked: &[u64], min_fraction: f64, fits: impl Fn(&[u64]) -> bool) -> Option<Vec<u64>> {
    if fits(asked) {
        return Some(asked.to_vec());
    }
    let lowest = lowest_level(asked, min_fraction);
    if lowest.iter().all(|&units| units == 0) || !fits(&lowest) {
        return None;
    }
    let smallest_ask = asked.iter().copied().filter(|&a| a > 0).min().unwrap_or(1);
    let mut best = lowest;
    let mut best_total: u64 = best.iter().sum();
    // Every step above min_fraction is k / a_j for some part j; search each part's steps.
    for &a_j in asked.iter().filter(|&&a| a > 1) {
        let above_min_fraction = (min_fraction * a_j as f64).floor() as u64 + 1;
        let every_part_positive = a_j.div_ceil(smallest_ask);
        let mut low = above_min_fraction.max(every_part_positive);
        let mut high = a_j; // k = a_j is the full request, which does not fit
        if low >= high || !fits(&units_at_ratio(asked, low, a_j)) {
            continue;
        }
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if fits(&units_at_ratio(asked, middle, a_j)) {
                low = middle;
            } else {
                high = middle;
            }
        }
        let candidate = units_at_ratio(asked, low, a_j);
        let total: u64 = candidate.iter().sum();
        if total > best_total {
            best = candidate;
            best_total = total;
        }
    }
    Some(best)
}

// ---------------------------------------------------------------------------------------------------
// Shared state of the algorithms: what is left of every resource, and each candidate's grant.
// ---------------------------------------------------------------------------------------------------

/// An instance resolved once per call: asks as plain vectors, capped countries as slots, the ranking.
struct Prepared<'a> {
    instance: &'a Instance,
    min_fraction: f64,
    asked: Vec<Vec<u64>>,
    /// The slot in `country_names` of the candidate's country, when that country is capped.
    country_slot: Vec<Option<usize>>,
    country_names: Vec<&'a str>,
    /// Candidate indices, best score first, ties by key then position (TA-7).
    ranking: Vec<usize>,
}

impl<'a> Prepared<'a> {
    fn new(instance: &'a Instance) -> Prepared<'a> {
        let country_names: Vec<&str> = instance.country_budget.keys().map(String::as_str).collect();
        let country_slot = instance
            .candidates
            .iter()
            .map(|candidate| country_names.binary_search(&candidate.country.as_str()).ok())
            .collect();
        let mut ranking: Vec<usize> = (0..instance.candidates.len()).collect();
        ranking.sort_by(|&left, &right| {
            ranking_order(&instance.candidates[left], &instance.candidates[right]).then(left.cmp(&right))
        });
        Prepared {
            instance,
            min_fraction: effective_min_fraction(instance.min_fraction),
            asked: instance
                .candidates
                .iter()
                .map(|candidate| candidate.parts.iter().map(|&(_, units)| units).collect())
                .collect(),
            country_slot,
            country_names,
            ranking,
        }
    }

    fn parts(&self, candidate: usize) -> &[(usize, u64)] {
        &self.instance.candidates[candidate].parts
    }

    fn score(&self, candidate: usize) -> f64 {
        self.instance.candidates[candidate].score
    }

    /// Whether the two candidates draw on a common installation, the TA-6 budget or a country cap.
    fn share_a_resource(&self, one: usize, other: usize) -> bool {
        let (first, second) = (&self.instance.candidates[one], &self.instance.candidates[other]);
        (first.non_eu_majority && second.non_eu_majority && self.instance.non_eu_budget.is_some())
            || (self.country_slot[one].is_some() && self.country_slot[one] == self.country_slot[other])
            || first
                .parts
                .iter()
                .any(|&(installation, _)| second.parts.iter().any(|&(at, _)| at == installation))
    }

    /// Score × units asked: what granting the whole request adds to the objective.
    fn value(&self, candidate: usize) -> f64 {
        self.score(candidate) * self.asked[candidate].iter().sum::<u64>() as f64
    }
}

/// TA-7: higher score first; equal scores by key, so the outcome does not depend on input order.
fn ranking_order(left: &Candidate, right: &Candidate) -> Ordering {
    right
        .score
        .total_cmp(&left.score)
        .then_with(|| left.key.cmp(&right.key))
}

/// What is left of every resource, and the grant each candidate holds.
#[derive(Clone)]
struct Ledger {
    capacity_left: Vec<u64>,
    non_eu_left: Option<u64>,
    country_left: Vec<u64>,
    grants: Vec<Vec<u64>>,
}

impl Ledger {
    fn new(prepared: &Prepared<'_>) -> Ledger {
        Ledger {
            capacity_left: prepared.instance.capacity.clone(),
            non_eu_left: prepared.instance.non_eu_budget,
            country_left: prepared.instance.country_budget.values().copied().collect(),
            grants: prepared.asked.iter().map(|asked| vec![0; asked.len()]).collect(),
        }
    }

    /// Units of `grant` on `installation` (a request may, unvalidated, name an installation twice).
    fn on_installation(parts: &[(usize, u64)], grant: &[u64], installation: usize) -> u64 {
        parts
            .iter()
            .zip(grant)
            .filter(|&(&(at, _), _)| at == installation)
            .map(|(_, &units)| units)
            .sum()
    }

    /// Whether `candidate` could hold `units` instead of its current grant.
    fn fits(&self, prepared: &Prepared<'_>, candidate: usize, units: &[u64]) -> bool {
        self.shortfalls(prepared, candidate, units).next().is_none()
    }

    /// The resources `candidate` would overdraw by holding `units` instead of its current grant, in
    /// the order parts, TA-6 budget, country budget, each with the units missing.
    fn shortfalls<'s>(
        &'s self,
        prepared: &'s Prepared<'_>,
        candidate: usize,
        units: &'s [u64],
    ) -> impl Iterator<Item = (Limit, u64)> + 's {
        let parts = prepared.parts(candidate);
        let current = &self.grants[candidate];
        let installations = parts.iter().enumerate().filter_map(move |(part, &(installation, _))| {
            if parts[..part].iter().any(|&(earlier, _)| earlier == installation) {
                return None;
            }
            let wanted = Ledger::on_installation(parts, units, installation);
            let left = self.capacity_left.get(installation).copied().unwrap_or(0)
                + Ledger::on_installation(parts, current, installation);
            (wanted > left).then(|| (Limit::Capacity { installation }, wanted - left))
        });
        let wanted: u64 = units.iter().sum();
        let held: u64 = current.iter().sum();
        let non_eu = self
            .non_eu_left
            .filter(|_| prepared.instance.candidates[candidate].non_eu_majority)
            .and_then(|left| (wanted > left + held).then(|| (Limit::NonEuCap, wanted - left - held)));
        let country = prepared.country_slot[candidate].and_then(|slot| {
            let left = self.country_left[slot] + held;
            (wanted > left).then(|| {
                (
                    Limit::CountryCap {
                        country: prepared.country_names[slot].to_string(),
                    },
                    wanted - left,
                )
            })
        });
        installations.chain(non_eu).chain(country)
    }

    /// Replaces `candidate`'s grant by `units`; the caller has checked that they fit.
    fn set(&mut self, prepared: &Prepared<'_>, candidate: usize, units: Vec<u64>) {
        let current = std::mem::replace(&mut self.grants[candidate], units);
        let granted = &self.grants[candidate];
        for (&(installation, _), (&old, &new)) in prepared.parts(candidate).iter().zip(current.iter().zip(granted)) {
            if let Some(left) = self.capacity_left.get_mut(installation) {
                *left = (*left + old).saturating_sub(new);
            }
        }
        let (old_total, new_total): (u64, u64) = (current.iter().sum(), granted.iter().sum());
        if prepared.instance.candidates[candidate].non_eu_majority
            && let Some(left) = self.non_eu_left.as_mut()
        {
            *left = (*left + old_total).saturating_sub(new_total);
        }
        if let Some(slot) = prepared.country_slot[candidate] {
            self.country_left[slot] = (self.country_left[slot] + old_total).saturating_sub(new_total);
        }
    }

    /// Raises (or lowers) `candidate` to the largest grant that fits what the others leave.
    fn grow(&mut self, prepared: &Prepared<'_>, candidate: usize) {
        self.grow_within(prepared, candidate, |_| true);
    }

    /// As [`Ledger::grow`], among the grants `allowed` accepts (monotone).
    fn grow_within(&mut self, prepared: &Prepared<'_>, candidate: usize, allowed: impl Fn(&[u64]) -> bool) {
        let asked = &prepared.asked[candidate];
        // The ladder is a chain and `fits` monotone: when the next step does not fit, none above does.
        match next_level(asked, &self.grants[candidate], prepared.min_fraction) {
            Some(next) if allowed(&next) && self.fits(prepared, candidate, &next) => {}
            _ => return,
        }
        let best = largest_fitting(asked, prepared.min_fraction, |units| {
            allowed(units) && self.fits(prepared, candidate, units)
        })
        .unwrap_or_else(|| vec![0; asked.len()]);
        self.set(prepared, candidate, best);
    }

    fn objective(&self, prepared: &Prepared<'_>) -> f64 {
        self.grants
            .iter()
            .enumerate()
            .map(|(candidate, units)| prepared.score(candidate) * units.iter().sum::<u64>() as f64)
            .sum()
    }

    /// The decision on `candidate`: what stops its next step up the ladder is the resource short by
    /// the most units (ties: its parts in order, then TA-6, then its country).
    fn decision(&self, prepared: &Prepared<'_>, candidate: usize) -> Decision {
        let asked = &prepared.asked[candidate];
        let current = &self.grants[candidate];
        let Some(next) = next_level(asked, current, prepared.min_fraction) else {
            return Decision::Granted;
        };
        let tightest = |units: &[u64]| {
            self.shortfalls(prepared, candidate, units)
                .fold(None, |best: Option<(Limit, u64)>, (limit, short)| match best {
                    Some((_, best_short)) if best_short >= short => best,
                    _ => Some((limit, short)),
                })
                .map(|(limit, _)| limit)
        };
        // After a fill pass the next step never fits; the full request and the first installation are
        // only fallbacks for a caller that stopped early.
        let limit = tightest(&next).or_else(|| tightest(asked)).unwrap_or(Limit::Capacity {
            installation: prepared
                .parts(candidate)
                .first()
                .map_or(0, |&(installation, _)| installation),
        });
        if current.iter().all(|&units| units == 0) {
            Decision::Refused(limit)
        } else {
            Decision::Cut(limit)
        }
    }

    fn into_solution(self, prepared: &Prepared<'_>) -> Solution {
        let objective = self.objective(prepared);
        let grants = (0..self.grants.len())
            .map(|candidate| Grant {
                units: self.grants[candidate].clone(),
                decision: self.decision(prepared, candidate),
            })
            .collect();
        Solution { grants, objective }
    }
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

/// The LP relaxation's rows: installations, then the TA-6 budget, then the capped countries.
struct Relaxation<'p, 'a> {
    prepared: &'p Prepared<'a>,
    /// Right-hand side per row; `f64::INFINITY` for the TA-6 row when there is no cap.
    limits: Vec<f64>,
    /// Objective coefficient per candidate.
    values: Vec<f64>,
}

impl<'p, 'a> Relaxation<'p, 'a> {
    /// The relaxation with the true objective, for the bound.
    fn new(prepared: &'p Prepared<'a>) -> Relaxation<'p, 'a> {
        let instance = prepared.instance;
        let mut limits: Vec<f64> = instance.capacity.iter().map(|&units| units as f64).collect();
        limits.push(instance.non_eu_budget.map_or(f64::INFINITY, |units| units as f64));
        limits.extend(instance.country_budget.values().map(|&units| units as f64));
        let values = (0..instance.candidates.len())
            .map(|candidate| prepared.value(candidate))
            .collect();
        Relaxation {
            prepared,
            limits,
            values,
        }
    }

    /// The relaxation with every value raised by up to 10⁻⁷ of itself in ranking order, so that among
    /// equal scores the LP prefers the smaller key (TA-7) instead of whichever column came first.
    fn ranked(prepared: &'p Prepared<'a>) -> Relaxation<'p, 'a> {
        let mut relaxation = Relaxation::new(prepared);
        let count = prepared.ranking.len() as f64;
        for (rank, &candidate) in prepared.ranking.iter().enumerate() {
            relaxation.values[candidate] *= 1.0 + 1e-7 * (count - rank as f64) / count;
        }
        relaxation
    }

    /// The candidate's coefficients (row, units) in the rows it uses.
    fn column(&self, candidate: usize) -> Vec<(usize, f64)> {
        let installations = self.prepared.instance.capacity.len();
        // An installation outside the instance gets a row that does not exist (see `solve`).
        let mut column: Vec<(usize, f64)> = self
            .prepared
            .parts(candidate)
            .iter()
            .map(|&(installation, units)| {
                let row = if installation < installations {
                    installation
                } else {
                    usize::MAX
                };
                (row, units as f64)
            })
            .collect();
        let total = self.prepared.asked[candidate].iter().sum::<u64>() as f64;
        if self.prepared.instance.candidates[candidate].non_eu_majority {
            column.push((installations, total));
        }
        if let Some(slot) = self.prepared.country_slot[candidate] {
            column.push((installations + 1 + slot, total));
        }
        column
    }

    /// The optimal fraction of each of `candidates` when the others get nothing. The answer is a
    /// vertex, so at most as many fractions lie strictly between 0 and 1 as rows bind.
    fn solve(&self, candidates: &[usize]) -> Result<Vec<f64>, SolverError> {
        use good_lp::{Expression, ProblemVariables, Solution as _, SolverModel as _, microlp, variable};

        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut variables = ProblemVariables::new();
        let mut objective = Expression::with_capacity(candidates.len());
        let row_count = self.limits.len();
        let mut rows = vec![Expression::with_capacity(0); row_count];
        let fractions: Vec<_> = candidates
            .iter()
            .map(|&candidate| {
                let column = self.column(candidate);
                // A part on an installation the instance does not have cannot be served.
                let servable = column.iter().all(|&(row, _)| row < row_count);
                let fraction = variables.add(variable().min(0.0).max(if servable { 1.0 } else { 0.0 }));
                objective.add_mul(self.values[candidate], fraction);
                for (row, units) in column.into_iter().filter(|&(row, _)| row < row_count) {
                    rows[row].add_mul(units, fraction);
                }
                fraction
            })
            .collect();
        let mut model = variables.maximise(objective).using(microlp);
        for (row, &limit) in rows.into_iter().zip(&self.limits) {
            if limit.is_finite() {
                model.add_constraint(row.leq(limit));
            }
        }
        let solution = model.solve().map_err(|error| SolverError::Lp {
            reason: error.to_string(),
        })?;
        Ok(fractions
            .iter()
            .map(|&fraction| solution.value(fraction).clamp(0.0, 1.0))
            .collect())
    }

    /// The LP relaxation by column generation: solve it over `initial`, add the candidates whose
    /// reduced cost under the restricted solution's row prices is positive, repeat until none is.
    /// Candidates that are never worth granting are what makes the LP slow: on `synthetic(2_000, 1)`
    /// the full LP took 70–110 ms, the LP over the 1,056 candidates the greedy grants about 1 ms.
    /// Prices from a degenerate vertex are not exact, so the result can fall a little short of the
    /// full LP's optimum; `allocate` only uses it as a guide. Returns the fraction of every candidate
    /// (0 for those never added).
    fn solve_by_columns(&self, initial: Vec<usize>) -> Result<Vec<f64>, SolverError> {
        let count = self.prepared.instance.candidates.len();
        let mut in_problem = vec![false; count];
        let mut subset = initial;
        subset.iter().for_each(|&candidate| in_problem[candidate] = true);
        for _round in 0..MAX_PRICING_ROUNDS {
            let fractions = self.solve(&subset)?;
            let prices = self.row_prices(&subset, &fractions);
            // Reduced cost per unit asked, so that large and small requests compare.
            let mut entering: Vec<(f64, usize)> = (0..count)
                .filter(|&candidate| !in_problem[candidate])
                .filter_map(|candidate| {
                    let cost: f64 = self
                        .column(candidate)
                        .iter()
                        .map(|&(row, units)| prices.get(row).copied().unwrap_or(0.0) * units)
                        .sum();
                    let value = self.values[candidate];
                    let units = self.prepared.asked[candidate].iter().sum::<u64>().max(1) as f64;
                    (value > cost * (1.0 + 1e-9) + 1e-9).then_some(((value - cost) / units, candidate))
                })
                .collect();
            entering.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
            entering.truncate(ENTERING_PER_ROUND);
            let entering: Vec<usize> = entering.into_iter().map(|(_, candidate)| candidate).collect();
            if entering.is_empty() {
                let mut all = vec![0.0; count];
                subset
                    .iter()
                    .zip(&fractions)
                    .for_each(|(&candidate, &fraction)| all[candidate] = fraction);
                return Ok(all);
            }
            entering.iter().for_each(|&candidate| in_problem[candidate] = true);
            subset.extend(entering);
        }
        let everyone: Vec<usize> = (0..count).collect();
        self.solve(&everyone)
    }

    /// Row prices (dual values) of a restricted solution: the fractional candidates have zero reduced
    /// cost, so the prices of the binding rows solve value_p = Σ_r units_pr·price_r over them. Solved
    /// by Gaussian elimination; rows left free (degenerate vertex) get price 0, negative prices 0.
    fn row_prices(&self, subset: &[usize], fractions: &[f64]) -> Vec<f64> {
        let mut used = vec![0.0; self.limits.len()];
        for (&candidate, &fraction) in subset.iter().zip(fractions) {
            for (row, units) in self.column(candidate) {
                if let Some(total) = used.get_mut(row) {
                    *total += units * fraction;
                }
            }
        }
        let binding: Vec<usize> = (0..self.limits.len())
            .filter(|&row| self.limits[row] - used[row] <= 1e-6 * self.limits[row].max(1.0))
            .collect();
        let mut equations: Vec<(Vec<f64>, f64)> = subset
            .iter()
            .zip(fractions)
            .filter(|&(_, &fraction)| fraction > 1e-7 && fraction < 1.0 - 1e-7)
            .map(|(&candidate, _)| {
                let column = self.column(candidate);
                let coefficients = binding
                    .iter()
                    .map(|&row| {
                        column
                            .iter()
                            .filter(|&&(at, _)| at == row)
                            .map(|&(_, units)| units)
                            .sum()
                    })
                    .collect();
                (coefficients, self.values[candidate])
            })
            .collect();
        let mut prices = vec![0.0; self.limits.len()];
        let mut pivots: Vec<(usize, usize)> = Vec::new(); // (equation, binding column)
        for column in 0..binding.len() {
            let pivot = (pivots.len()..equations.len()).max_by(|&left, &right| {
                equations[left].0[column]
                    .abs()
                    .total_cmp(&equations[right].0[column].abs())
            });
            let Some(pivot) = pivot.filter(|&pivot| equations[pivot].0[column].abs() > 1e-9) else {
                continue;
            };
            let rank = pivots.len();
            equations.swap(rank, pivot);
            for other in rank + 1..equations.len() {
                let factor = equations[other].0[column] / equations[rank].0[column];
                if factor != 0.0 {
                    for entry in column..binding.len() {
                        equations[other].0[entry] -= factor * equations[rank].0[entry];
                    }
                    equations[other].1 -= factor * equations[rank].1;
                }
            }
            pivots.push((rank, column));
        }
        let mut solved = vec![0.0; binding.len()];
        for &(equation, column) in pivots.iter().rev() {
            let (coefficients, value) = &equations[equation];
            let known: f64 = (column + 1..binding.len())
                .map(|entry| coefficients[entry] * solved[entry])
                .sum();
            solved[column] = (value - known) / coefficients[column];
        }
        for (&row, &price) in binding.iter().zip(&solved) {
            prices[row] = price.max(0.0);
        }
        prices
    }
}

/// Local search: for granted candidates, lowest score first, try taking their grant away and letting
/// everyone else (then them) grow again in ranking order; keep the change when the objective rises.
/// Stops after about `LOCAL_SEARCH_WORK` candidate moves, so the cost stays linear in the call size.
fn improve_by_dropping(prepared: &Prepared<'_>, ledger: &mut Ledger) {
    let count = prepared.ranking.len().max(1);
    let attempts = LOCAL_SEARCH_WORK / count;
    let mut objective = ledger.objective(prepared);
    let granted: Vec<usize> = prepared
        .ranking
        .iter()
        .rev()
        .copied()
        .filter(|&candidate| ledger.grants[candidate].iter().any(|&units| units > 0))
        .take(attempts)
        .collect();
    for dropped in granted {
        let mut trial = ledger.clone();
        trial.set(prepared, dropped, vec![0; prepared.asked[dropped].len()]);
        // Only what `dropped` held is freed, so only candidates sharing one of its resources can grow.
        for &candidate in &prepared.ranking {
            if candidate != dropped && prepared.share_a_resource(candidate, dropped) {
                trial.grow(prepared, candidate);
            }
        }
        trial.grow(prepared, dropped);
        let trial_objective = trial.objective(prepared);
        if trial_objective > objective * (1.0 + 1e-12) {
            *ledger = trial;
            objective = trial_objective;
        }
    }
}

/// Work budget of [`improve_by_dropping`], in candidate moves.
const LOCAL_SEARCH_WORK: usize = 10_000;

/// Column generation stops adding candidates after this many rounds and solves the full LP.
const MAX_PRICING_ROUNDS: usize = 40;

/// At most this many candidates (the best reduced cost per unit) enter per round: the first prices
/// come from a degenerate vertex and would let hundreds of useless candidates in.
const ENTERING_PER_ROUND: usize = 40;

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

// ---------------------------------------------------------------------------------------------------
// Synthetic calls for the benchmark and the tests.
// ---------------------------------------------------------------------------------------------------

/// Leaders' countries of the synthetic calls with their share of requests (%), and whether their
/// groups count against the TA-6 budget (the generator makes a group's majority work where its
/// leader does).
const SYNTHETIC_COUNTRIES: [(&str, u64, bool); 12] = [
    ("DE", 26, false),
    ("FR", 14, false),
    ("IT", 11, false),
    ("ES", 8, false),
    ("NL", 6, false),
    ("PL", 5, false),
    ("SE", 4, false),
    ("PT", 3, false),
    ("NO", 3, false), // associated country (CTRY-2)
    ("US", 10, true),
    ("CN", 6, true),
    ("IN", 4, true),
];

/// A seeded synthetic call: the generator of the allocation benchmark (`benches/allocation.rs`) and
/// of this module's tests.
///
/// 6–8 installations; 12 leaders' countries, 3 of them outside EU/associated countries (20 % of the
/// requests), one country with 26 %; requests of 1–3 installations asking 2–24 units each; scores
/// 1.0–5.0 in steps of 0.1 (so ties occur) plus a 0.5 priority bonus for first-time users and
/// another for countries without such an infrastructure, a quarter each (TA-7); capacity half the
/// demand of each installation; TA-6 budget 20 % of the capacity minus 8 % already held by non-EU/AC
/// majority groups; every country capped at 20 % of the capacity (binds for the largest);
/// `min_fraction` 0.5.
pub fn synthetic(candidates: usize, seed: u64) -> Instance {
    let mut random = SplitMix64(seed);
    let installations = 6 + (random.next() % 3) as usize;
    let country_weight_total: u64 = SYNTHETIC_COUNTRIES.iter().map(|&(_, weight, _)| weight).sum();
    let mut demand = vec![0u64; installations];
    let candidates: Vec<Candidate> = (0..candidates)
        .map(|index| {
            let mut pick = random.next() % country_weight_total;
            let &(country, _, non_eu_majority) = SYNTHETIC_COUNTRIES
                .iter()
                .find(|&&(_, weight, _)| {
                    let found = pick < weight;
                    pick = pick.saturating_sub(weight);
                    found
                })
                .unwrap_or(&SYNTHETIC_COUNTRIES[0]);
            let wanted_parts = 1 + (random.next() % 3) as usize;
            let mut parts: Vec<(usize, u64)> = Vec::with_capacity(wanted_parts);
            while parts.len() < wanted_parts {
                let installation = (random.next() % installations as u64) as usize;
                if parts.iter().all(|&(taken, _)| taken != installation) {
                    let units = 2 + random.next() % 23;
                    demand[installation] += units;
                    parts.push((installation, units));
                }
            }
            let panel_score = (10 + random.next() % 41) as f64 / 10.0;
            let first_time_bonus = if random.next().is_multiple_of(4) { 0.5 } else { 0.0 };
            let no_infrastructure_bonus = if random.next().is_multiple_of(4) { 0.5 } else { 0.0 };
            Candidate {
                key: format!("req-{seed}-{index:05}"),
                parts,
                score: panel_score + first_time_bonus + no_infrastructure_bonus,
                non_eu_majority,
                country: country.to_string(),
            }
        })
        .collect();
    let capacity: Vec<u64> = demand.iter().map(|&units| (units / 2).max(1)).collect();
    let total_capacity: u64 = capacity.iter().sum();
    Instance {
        capacity,
        candidates,
        non_eu_budget: Some(total_capacity * 20 / 100 - total_capacity * 8 / 100),
        country_budget: SYNTHETIC_COUNTRIES
            .iter()
            .map(|&(country, _, _)| (country.to_string(), total_capacity * 20 / 100))
            .collect(),
        min_fraction: 0.5,
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): enough randomness for reproducible test data, no crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(key: &str, parts: &[(usize, u64)], score: f64, non_eu_majority: bool, country: &str) -> Candidate {
        Candidate {
            key: key.to_string(),
            parts: parts.to_vec(),
            score,
            non_eu_majority,
            country: country.to_string(),
        }
    }

    fn call(capacity: &[u64], candidates: Vec<Candidate>, min_fraction: f64) -> Instance {
        Instance {
            capacity: capacity.to_vec(),
            candidates,
            non_eu_budget: None,
            country_budget: BTreeMap::new(),
            min_fraction,
        }
    }

    /// Both algorithms, checked feasible, so every rule test covers the stored allocation and the baseline.
    fn solve_both(instance: &Instance) -> [Solution; 2] {
        [allocate(instance), score_greedy(instance)].map(|solution| {
            if let Err(breach) = check_feasible(instance, &solution) {
                panic!("infeasible solution: {breach}");
            }
            solution
        })
    }

    fn decisions(solution: &Solution) -> Vec<Decision> {
        solution.grants.iter().map(|grant| grant.decision.clone()).collect()
    }

    #[test]
    fn allocations_are_feasible_on_random_instances() {
        for seed in 0..40 {
            let mut instance = synthetic(20 + (seed as usize * 7) % 130, seed);
            match seed % 4 {
                0 => instance.min_fraction = 1.0,
                1 => instance.min_fraction = 0.3,
                2 => {
                    instance.non_eu_budget = None;
                    instance.country_budget.clear();
                }
                _ => {}
            }
            solve_both(&instance);
        }
    }

    #[test]
    fn non_eu_group_asking_exactly_the_ta6_budget_is_granted() {
        let mut instance = call(
            &[100],
            vec![
                candidate("req-1", &[(0, 20)], 5.0, true, "US"),
                candidate("req-2", &[(0, 1)], 4.0, true, "US"),
            ],
            1.0,
        );
        instance.non_eu_budget = Some(20);
        for solution in solve_both(&instance) {
            assert_eq!(
                decisions(&solution),
                [Decision::Granted, Decision::Refused(Limit::NonEuCap)]
            );
        }
    }

    #[test]
    fn non_eu_group_asking_one_unit_over_the_ta6_budget_is_refused() {
        let mut instance = call(&[100], vec![candidate("req-1", &[(0, 21)], 5.0, true, "US")], 1.0);
        instance.non_eu_budget = Some(20);
        for solution in solve_both(&instance) {
            assert_eq!(decisions(&solution), [Decision::Refused(Limit::NonEuCap)]);
            assert_eq!(solution.objective, 0.0);
        }
    }

    #[test]
    fn eu_group_asking_over_the_ta6_budget_is_granted() {
        let mut instance = call(
            &[100],
            vec![
                candidate("req-1", &[(0, 21)], 5.0, true, "CN"),
                candidate("req-2", &[(0, 21)], 4.0, false, "FR"),
            ],
            1.0,
        );
        instance.non_eu_budget = Some(20);
        for solution in solve_both(&instance) {
            assert_eq!(
                decisions(&solution),
                [Decision::Refused(Limit::NonEuCap), Decision::Granted]
            );
        }
    }

    #[test]
    fn country_cap_limits_units_to_groups_led_from_one_country() {
        let mut instance = call(
            &[100],
            vec![
                candidate("req-1", &[(0, 8)], 5.0, false, "DE"),
                candidate("req-2", &[(0, 5)], 4.0, false, "DE"),
                candidate("req-3", &[(0, 5)], 3.0, false, "FR"),
            ],
            1.0,
        );
        instance.country_budget.insert("DE".to_string(), 10);
        let over_cap = Decision::Refused(Limit::CountryCap {
            country: "DE".to_string(),
        });
        for solution in solve_both(&instance) {
            assert_eq!(
                decisions(&solution),
                [Decision::Granted, over_cap.clone(), Decision::Granted]
            );
        }
        // With partial grants the second German request gets what the cap leaves: ⌊0.4·5⌋ = 2 units.
        instance.min_fraction = 0.4;
        for solution in solve_both(&instance) {
            assert_eq!(solution.grants[1].units, [2]);
            assert_eq!(
                solution.grants[1].decision,
                Decision::Cut(Limit::CountryCap {
                    country: "DE".to_string()
                })
            );
        }
    }

    #[test]
    fn refusal_names_the_exhausted_installation() {
        let instance = call(
            &[10, 3],
            vec![
                candidate("req-1", &[(0, 10)], 5.0, false, "FR"),
                candidate("req-2", &[(1, 2), (0, 4)], 4.0, false, "FR"),
                candidate("req-3", &[(1, 3)], 3.0, false, "FR"),
            ],
            1.0,
        );
        for solution in solve_both(&instance) {
            assert_eq!(
                decisions(&solution),
                [
                    Decision::Granted,
                    Decision::Refused(Limit::Capacity { installation: 0 }),
                    Decision::Granted
                ]
            );
        }
    }

    #[test]
    fn partial_grant_keeps_at_least_min_fraction_of_every_part() {
        // 4 of 8 units left on installation 0 after the better request. f = 9/16 keeps ⌊8f⌋ = 4 and
        // gives ⌊16f⌋ = 9, the most any common fraction allows.
        let instance = call(
            &[10, 20],
            vec![
                candidate("req-1", &[(0, 6)], 5.0, false, "FR"),
                candidate("req-2", &[(0, 8), (1, 16)], 1.0, false, "FR"),
            ],
            0.5,
        );
        for solution in solve_both(&instance) {
            assert_eq!(solution.grants[1].units, [4, 9]);
            assert_eq!(
                solution.grants[1].decision,
                Decision::Cut(Limit::Capacity { installation: 0 })
            );
        }
        // 3 of 8: less than half, so nothing rather than 3 and 6.
        let instance = call(
            &[3, 20],
            vec![candidate("req-2", &[(0, 8), (1, 16)], 1.0, false, "FR")],
            0.5,
        );
        for solution in solve_both(&instance) {
            assert_eq!(solution.grants[0].units, [0, 0]);
            assert_eq!(
                solution.grants[0].decision,
                Decision::Refused(Limit::Capacity { installation: 0 })
            );
        }
    }

    #[test]
    fn every_step_of_the_ladder_is_a_common_fraction_rounded_down() {
        let asked = [3, 7, 10];
        let mut level = vec![0, 0, 0];
        let mut steps = 0;
        while let Some(next) = next_level(&asked, &level, 0.5) {
            assert!(is_level(&asked, &next, 0.5), "{next:?}");
            assert!(next.iter().zip(&level).all(|(new, old)| new >= old) && next != level);
            level = next;
            steps += 1;
        }
        assert_eq!(level, asked);
        // ⌊0.5·a⌋ = (1, 3, 5), then one step per crossing of an integer by f·a_j.
        assert_eq!(lowest_level(&asked, 0.5), [1, 3, 5]);
        assert!(steps > 5);
        assert!(!is_level(&asked, &[1, 3, 4], 0.5), "below half of the third part");
        assert!(!is_level(&asked, &[3, 3, 5], 0.5), "one full part forces f = 1");
        // The largest step under a cap of 12 units in total is f = 2/3; f = 0.7 would give (2, 4, 7).
        let capped = largest_fitting(&asked, 0.5, |units| units.iter().sum::<u64>() <= 12);
        assert_eq!(capped, Some(vec![2, 4, 6]));
    }

    #[test]
    fn equal_scores_are_ranked_by_key_whatever_the_input_order() {
        let first = candidate("req-a", &[(0, 10)], 3.0, false, "FR");
        let second = candidate("req-b", &[(0, 10)], 3.0, false, "IT");
        let forward = call(&[10], vec![first.clone(), second.clone()], 1.0);
        let backward = call(&[10], vec![second, first], 1.0);
        for solution in solve_both(&forward) {
            assert_eq!(solution.grants[0].decision, Decision::Granted);
        }
        for solution in solve_both(&backward) {
            assert_eq!(solution.grants[1].decision, Decision::Granted);
        }
    }

    #[test]
    fn same_instance_gives_same_allocation() {
        let instance = synthetic(300, 7);
        assert_eq!(allocate(&instance), allocate(&instance.clone()));
        assert_eq!(score_greedy(&instance), score_greedy(&instance));
    }

    #[test]
    fn allocate_reaches_995_thousandths_of_the_lp_bound_on_400_candidates() {
        let instance = synthetic(400, 1);
        let bound = lp_bound(&instance).expect("the synthetic instance is valid");
        let [allocated, greedy] = solve_both(&instance);
        assert!(
            allocated.objective >= 0.995 * bound,
            "{} of {bound}",
            allocated.objective
        );
        assert!(allocated.objective <= bound * (1.0 + 1e-9));
        // The synthetic call must be hard enough for the target to mean something.
        assert!(
            greedy.objective < 0.995 * bound,
            "greedy already reaches {} of {bound}",
            greedy.objective
        );
    }

    #[test]
    fn allocate_never_scores_below_the_greedy_baseline() {
        for seed in 0..30 {
            let instance = synthetic(10 + (seed as usize * 13) % 200, 100 + seed);
            let [allocated, greedy] = solve_both(&instance);
            assert!(allocated.objective >= greedy.objective, "seed {seed}");
        }
    }

    #[test]
    fn synthetic_calls_make_every_cap_bind() {
        let instance = synthetic(400, 2);
        assert!((6..=8).contains(&instance.capacity.len()));
        let allocated = allocate(&instance);
        let usage = Usage::of(&instance, &allocated);
        assert_eq!(Some(usage.non_eu), instance.non_eu_budget, "TA-6 budget binds");
        assert!(
            instance
                .country_budget
                .iter()
                .any(|(country, budget)| usage.per_country.get(country) == Some(budget)),
            "some country cap binds"
        );
    }

    #[test]
    fn check_feasible_rejects_what_breaks_a_cap() {
        let mut instance = call(&[10], vec![candidate("req-1", &[(0, 10)], 1.0, true, "US")], 1.0);
        instance.non_eu_budget = Some(10);
        let [mut solution, _] = solve_both(&instance);
        instance.non_eu_budget = Some(9);
        assert!(
            check_feasible(&instance, &solution)
                .expect_err("over the TA-6 budget")
                .contains("TA-6")
        );
        instance.capacity = vec![9];
        instance.non_eu_budget = None;
        assert!(check_feasible(&instance, &solution).is_err());
        instance.capacity = vec![10];
        solution.grants[0].units = vec![4];
        assert!(
            check_feasible(&instance, &solution).is_err(),
            "a partial grant with min_fraction 1.0"
        );
    }

    #[test]
    fn validate_reports_every_violation() {
        assert_eq!(synthetic(50, 3).validate(), Ok(()));
        let instance = call(
            &[10],
            vec![
                candidate("req-1", &[(1, 5)], f64::NAN, false, "FR"),
                candidate("req-2", &[(0, 0), (0, 2)], -1.0, false, "FR"),
            ],
            0.0,
        );
        let Err(SolverError::InvalidInstance { violations }) = instance.validate() else {
            panic!("the instance is invalid");
        };
        assert_eq!(violations.len(), 6, "{violations:?}");
        assert!(violations[0].starts_with("min_fraction"));
        assert!(
            violations
                .iter()
                .any(|violation| violation.starts_with("candidates[0].parts[0].installation"))
        );
        assert!(
            violations
                .iter()
                .any(|violation| violation.starts_with("candidates[1].parts[1].installation"))
        );
        assert!(matches!(lp_bound(&instance), Err(SolverError::InvalidInstance { .. })));
    }
}
