//! Shared state of the algorithms: an instance resolved once per call, what is left of every
//! resource, each candidate's grant, and the local search that improves a set of grants.

use super::levels::next_level;
use super::*;

/// An instance resolved once per call: asks as plain vectors, capped countries as slots, the ranking.
pub(super) struct Prepared<'a> {
    pub(super) instance: &'a Instance,
    pub(super) min_fraction: f64,
    pub(super) asked: Vec<Vec<u64>>,
    /// The slot in `country_names` of the candidate's country, when that country is capped.
    pub(super) country_slot: Vec<Option<usize>>,
    pub(super) country_names: Vec<&'a str>,
    /// Candidate indices, best score first, ties by key then position (TA-7).
    pub(super) ranking: Vec<usize>,
}

impl<'a> Prepared<'a> {
    pub(super) fn new(instance: &'a Instance) -> Prepared<'a> {
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

    pub(super) fn parts(&self, candidate: usize) -> &[(usize, u64)] {
        &self.instance.candidates[candidate].parts
    }

    pub(super) fn score(&self, candidate: usize) -> f64 {
        self.instance.candidates[candidate].score
    }

    /// Whether the two candidates draw on a common installation, the TA-6 budget or a country cap.
    pub(super) fn share_a_resource(&self, one: usize, other: usize) -> bool {
        let (first, second) = (&self.instance.candidates[one], &self.instance.candidates[other]);
        (first.non_eu_majority && second.non_eu_majority && self.instance.non_eu_budget.is_some())
            || (self.country_slot[one].is_some() && self.country_slot[one] == self.country_slot[other])
            || first
                .parts
                .iter()
                .any(|&(installation, _)| second.parts.iter().any(|&(at, _)| at == installation))
    }

    /// Score × units asked: what granting the whole request adds to the objective.
    pub(super) fn value(&self, candidate: usize) -> f64 {
        self.score(candidate) * self.asked[candidate].iter().sum::<u64>() as f64
    }
}

/// TA-7: higher score first; equal scores by key, so the outcome does not depend on input order.
pub(super) fn ranking_order(left: &Candidate, right: &Candidate) -> Ordering {
    right
        .score
        .total_cmp(&left.score)
        .then_with(|| left.key.cmp(&right.key))
}

/// What is left of every resource, and the grant each candidate holds.
#[derive(Clone)]
pub(super) struct Ledger {
    pub(super) capacity_left: Vec<u64>,
    pub(super) non_eu_left: Option<u64>,
    pub(super) country_left: Vec<u64>,
    pub(super) grants: Vec<Vec<u64>>,
}

impl Ledger {
    pub(super) fn new(prepared: &Prepared<'_>) -> Ledger {
        Ledger {
            capacity_left: prepared.instance.capacity.clone(),
            non_eu_left: prepared.instance.non_eu_budget,
            country_left: prepared.instance.country_budget.values().copied().collect(),
            grants: prepared.asked.iter().map(|asked| vec![0; asked.len()]).collect(),
        }
    }

    /// Units of `grant` on `installation` (a request may, unvalidated, name an installation twice).
    pub(super) fn on_installation(parts: &[(usize, u64)], grant: &[u64], installation: usize) -> u64 {
        parts
            .iter()
            .zip(grant)
            .filter(|&(&(at, _), _)| at == installation)
            .map(|(_, &units)| units)
            .sum()
    }

    /// Whether `candidate` could hold `units` instead of its current grant.
    pub(super) fn fits(&self, prepared: &Prepared<'_>, candidate: usize, units: &[u64]) -> bool {
        self.shortfalls(prepared, candidate, units).next().is_none()
    }

    /// The resources `candidate` would overdraw by holding `units` instead of its current grant, in
    /// the order parts, TA-6 budget, country budget, each with the units missing.
    pub(super) fn shortfalls<'s>(
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
    pub(super) fn set(&mut self, prepared: &Prepared<'_>, candidate: usize, units: Vec<u64>) {
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
    pub(super) fn grow(&mut self, prepared: &Prepared<'_>, candidate: usize) {
        self.grow_within(prepared, candidate, |_| true);
    }

    /// As [`Ledger::grow`], among the grants `allowed` accepts (monotone).
    pub(super) fn grow_within(&mut self, prepared: &Prepared<'_>, candidate: usize, allowed: impl Fn(&[u64]) -> bool) {
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

    pub(super) fn objective(&self, prepared: &Prepared<'_>) -> f64 {
        self.grants
            .iter()
            .enumerate()
            .map(|(candidate, units)| prepared.score(candidate) * units.iter().sum::<u64>() as f64)
            .sum()
    }

    /// The decision on `candidate`: what stops its next step up the ladder is the resource short by
    /// the most units (ties: its parts in order, then TA-6, then its country).
    pub(super) fn decision(&self, prepared: &Prepared<'_>, candidate: usize) -> Decision {
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

    pub(super) fn into_solution(self, prepared: &Prepared<'_>) -> Solution {
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

/// Local search: for granted candidates, lowest score first, try taking their grant away and letting
/// everyone else (then them) grow again in ranking order; keep the change when the objective rises.
/// Stops after about `LOCAL_SEARCH_WORK` candidate moves, so the cost stays linear in the call size.
pub(super) fn improve_by_dropping(prepared: &Prepared<'_>, ledger: &mut Ledger) {
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
pub(super) const LOCAL_SEARCH_WORK: usize = 10_000;
