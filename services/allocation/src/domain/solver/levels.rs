//! The ladder of partial grants a candidate can be given: levels that keep its parts in the
//! proportions it asked for, down to `min_fraction`.

/// `Instance::min_fraction` as the algorithms use it: values outside (0, 1] (which
/// [`Instance::validate`] rejects) mean all or nothing.
pub(super) fn effective_min_fraction(min_fraction: f64) -> f64 {
    if min_fraction > 0.0 && min_fraction <= 1.0 {
        min_fraction
    } else {
        1.0
    }
}

/// Whether `units` is nothing, everything, or ⌊f·asked⌋ for one f ≥ `min_fraction` with every part ≥ 1.
pub(super) fn is_level(asked: &[u64], units: &[u64], min_fraction: f64) -> bool {
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
pub(super) fn units_at_ratio(asked: &[u64], numerator: u64, denominator: u64) -> Vec<u64> {
    asked
        .iter()
        .map(|&a| {
            let units = u128::from(numerator) * u128::from(a) / u128::from(denominator.max(1));
            u64::try_from(units).unwrap_or(a).min(a)
        })
        .collect()
}

/// The smallest non-empty grant: ⌊min_fraction·a_i⌋, raised to the first fraction giving every part ≥ 1.
pub(super) fn lowest_level(asked: &[u64], min_fraction: f64) -> Vec<u64> {
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
pub(super) fn next_level(asked: &[u64], current: &[u64], min_fraction: f64) -> Option<Vec<u64>> {
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
pub(super) fn largest_fitting(asked: &[u64], min_fraction: f64, fits: impl Fn(&[u64]) -> bool) -> Option<Vec<u64>> {
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
