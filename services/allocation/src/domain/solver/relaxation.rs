//! The LP relaxation (good_lp + microlp), solved whole for the bound or by column generation for
//! the allocation.

use super::*;

/// Column generation stops adding candidates after this many rounds and solves the full LP.
pub(super) const MAX_PRICING_ROUNDS: usize = 40;

/// At most this many candidates (the best reduced cost per unit) enter per round: the first prices
/// come from a degenerate vertex and would let hundreds of useless candidates in.
pub(super) const ENTERING_PER_ROUND: usize = 40;

/// The LP relaxation's rows: installations, then the TA-6 budget, then the capped countries.
pub(super) struct Relaxation<'p, 'a> {
    pub(super) prepared: &'p Prepared<'a>,
    /// Right-hand side per row; `f64::INFINITY` for the TA-6 row when there is no cap.
    pub(super) limits: Vec<f64>,
    /// Objective coefficient per candidate.
    pub(super) values: Vec<f64>,
}

impl<'p, 'a> Relaxation<'p, 'a> {
    /// The relaxation with the true objective, for the bound.
    pub(super) fn new(prepared: &'p Prepared<'a>) -> Relaxation<'p, 'a> {
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
    pub(super) fn ranked(prepared: &'p Prepared<'a>) -> Relaxation<'p, 'a> {
        let mut relaxation = Relaxation::new(prepared);
        let count = prepared.ranking.len() as f64;
        for (rank, &candidate) in prepared.ranking.iter().enumerate() {
            relaxation.values[candidate] *= 1.0 + 1e-7 * (count - rank as f64) / count;
        }
        relaxation
    }

    /// The candidate's coefficients (row, units) in the rows it uses.
    pub(super) fn column(&self, candidate: usize) -> Vec<(usize, f64)> {
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
    pub(super) fn solve(&self, candidates: &[usize]) -> Result<Vec<f64>, SolverError> {
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
    pub(super) fn solve_by_columns(&self, initial: Vec<usize>) -> Result<Vec<f64>, SolverError> {
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
    pub(super) fn row_prices(&self, subset: &[usize], fractions: &[f64]) -> Vec<f64> {
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
