//! The noise of the cell key method: the count p-table looked up by the cell key [H5.4], and the
//! magnitude factors of the CoE variant x̂ = x + δ·x₁·v [H4.6]. Both are fixed functions of the
//! cell, so the same cell always gets the same noise [CG-2].

use sha2::{Digest, Sha256};

use super::CellKey;

/// The largest D that `DisclosureRules::validate` accepts; unvalidated rules are clamped to it so
/// that no value can make a lookup slow.
pub(super) const MAX_COUNT_NOISE_LIMIT: i64 = 100;

/// The count p-table [unsourced design]: for a count n ≥ 1 the noise v runs over −d..=d with
/// d = min(D, n − 1), weighted d + 1 − |v| (triangular: for D = 2, 1/9 2/9 3/9 2/9 1/9).
///
/// - Symmetric, so the mean is zero in every row [H5.4][PT].
/// - One row per small count so that no count goes negative, as in the Handbook's example
///   p-table [H5.4]; d ≤ n − 1 also keeps a count that is not zero from being shown as 0, so a
///   published 0 is a true 0 and no sum or mean has to be concealed beside it [SS-conceal].
/// - Variance d(d + 2)/6 (4/3 for D = 2) grows with D, so raising D buys protection; P(v = 0) is
///   1/(d + 1), and two independent draws agree with probability Σp² (19/81 ≈ 23 % for D = 2):
///   how often a difference of two cells is exact.
///
/// The lookup takes the cell key as a fraction f in [0, 1) and returns the v whose cumulative
/// interval [lower, upper) holds f [H5.4] (the Handbook writes lower < f ≤ upper for keys in
/// (0, 1]); it is done in integers, so the probabilities are exact to 2^−32.
pub(super) fn count_noise(max_noise: i64, count: u64, key: CellKey) -> i64 {
    let below = i64::try_from(count.saturating_sub(1)).unwrap_or(i64::MAX);
    let spread = max_noise.clamp(0, MAX_COUNT_NOISE_LIMIT).min(below);
    let weight = |noise: i64| (spread + 1 - noise.abs()).unsigned_abs();
    let total = weight(0) * weight(0);
    let position = (u64::from(key.bits()) * total) >> 32;
    let mut upper = 0;
    for noise in -spread..=spread {
        upper += weight(noise);
        if position < upper {
            return noise;
        }
    }
    spread
}

/// The magnitude factors v: never 0, so every magnitude moves, and of zero mean; each drawn with
/// probability 1/4 [unsourced design after H4.6].
pub(super) const MAGNITUDE_FACTORS: [f64; 4] = [-1.0, -0.5, 0.5, 1.0];

/// The factor v of a magnitude cell. The draw depends on the cell key and on the cell's total and
/// largest contribution [unsourced]: magnitude cells are keyed by their contributing organisations,
/// and two cells of the same organisations (a year and one quarter of it) would otherwise share
/// one v, so that their noises nearly cancel in a difference. With the values mixed in, the same
/// cell still always gets the same v, and any other cell an independent one. The CoE variant also
/// picks the noise by both the cell key and the value (via x/(δ·x₁)) [H4.6].
pub(super) fn magnitude_factor(key: CellKey, total: i64, largest: i64) -> f64 {
    let digest = Sha256::new()
        .chain_update(b"rti-access magnitude noise\x1f")
        .chain_update(key.bits().to_be_bytes())
        .chain_update(total.to_be_bytes())
        .chain_update(largest.to_be_bytes())
        .finalize();
    MAGNITUDE_FACTORS[usize::from(digest[0] >> 6)]
}

/// The noise δ·x₁·v in whole units: v·2h with the step h = ⌈δ·x₁/2⌉, so every noise is a non-zero
/// multiple of h. With δ ≥ 2·p/100 the smallest move h is at least p % of the largest contribution,
/// and so is any non-zero difference of two noises with the same x₁: an attacker who isolates one
/// organisation (never larger than x₁) by differencing is either exactly right or off by at least
/// p % of it [H4.2 for the p% bound; the construction is ours]. |noise| ≤ 2h < δ·x₁ + 2.
pub(super) fn magnitude_noise(delta: f64, largest: i64, factor: f64) -> i64 {
    if delta.is_nan() || delta <= 0.0 || largest <= 0 {
        return 0;
    }
    // Float to integer casts saturate; the step is at least 1.
    let step = (delta * largest as f64 / 2.0).ceil().max(1.0) as i64;
    let noise = (factor * 2.0).round() as i64;
    noise.saturating_mul(step)
}

#[cfg(test)]
mod tests {
    use super::super::pseudo_random;
    use super::*;

    fn key(bits: u32) -> CellKey {
        CellKey::of([bits])
    }

    /// The middles of `strata` equal slices of the key space: with a multiple of the table's total
    /// weight, each interval gets exactly its share and no key sits on an interval's edge.
    fn evenly_spread(strata: u64) -> impl Iterator<Item = u32> {
        (0..strata).map(move |index| u32::try_from(((2 * index + 1) << 32) / (2 * strata)).unwrap_or(u32::MAX))
    }

    #[test]
    fn the_count_p_table_gives_each_noise_its_triangular_share_of_the_cell_keys() {
        // Evenly spread keys hit each interval in proportion to its width: 1 2 3 2 1 ninths.
        let keys = 90_000;
        let mut histogram = [0u64; 5];
        for bits in evenly_spread(keys) {
            let noise = count_noise(2, 100, key(bits));
            histogram[usize::try_from(noise + 2).unwrap_or(0)] += 1;
        }
        assert_eq!(histogram, [10_000, 20_000, 30_000, 20_000, 10_000]);
    }

    #[test]
    fn small_counts_have_their_own_rows_that_never_reach_zero() {
        for count in 1..=4u64 {
            let mut seen = std::collections::BTreeSet::new();
            let mut sum = 0i64;
            for bits in evenly_spread(36_000) {
                let noise = count_noise(2, count, key(bits));
                assert!(count.checked_add_signed(noise).is_some_and(|shown| shown >= 1));
                seen.insert(noise);
                sum += noise;
            }
            assert_eq!(sum, 0, "zero mean in the row of {count}");
            let spread = 2.min(i64::try_from(count).unwrap_or(0) - 1);
            assert_eq!(seen, (-spread..=spread).collect(), "row of {count}");
        }
    }

    #[test]
    fn the_count_p_table_widens_with_d_and_is_clamped_for_unvalidated_values() {
        let keys: Vec<CellKey> = pseudo_random(5).take(5_000).map(|value| key(value as u32)).collect();
        for max_noise in [0, 1, 3, 7] {
            let noises: Vec<i64> = keys
                .iter()
                .map(|cell_key| count_noise(max_noise, 1_000, *cell_key))
                .collect();
            assert_eq!(noises.iter().map(|noise| noise.abs()).max(), Some(max_noise));
        }
        let widest = count_noise(i64::MAX, u64::MAX, key(u32::MAX));
        assert_eq!(widest, MAX_COUNT_NOISE_LIMIT);
        assert_eq!(count_noise(-3, 1_000, key(u32::MAX)), 0);
    }

    #[test]
    fn each_magnitude_factor_is_drawn_a_quarter_of_the_time_and_never_zero() {
        let mut histogram = [0u32; 4];
        let draws = 20_000;
        for value in pseudo_random(6).take(draws) {
            let factor = magnitude_factor(key(value as u32), 1_000, 300);
            let index = MAGNITUDE_FACTORS.iter().position(|known| *known == factor);
            histogram[index.unwrap_or(0)] += 1;
        }
        assert!(
            histogram.iter().all(|count| (4_500..=5_500).contains(count)),
            "{histogram:?}"
        );
    }

    #[test]
    fn the_same_contributors_with_other_values_get_an_independent_factor() {
        // One cell key, as for a year and a quarter of it with the same organisations.
        let cell_key = key(987_654_321);
        let mut histogram = [0u32; 4];
        for total in 1_000..5_000 {
            let factor = magnitude_factor(cell_key, total, 400);
            let index = MAGNITUDE_FACTORS.iter().position(|known| *known == factor);
            histogram[index.unwrap_or(0)] += 1;
        }
        assert!(
            histogram.iter().all(|count| (850..=1_150).contains(count)),
            "{histogram:?}"
        );
        assert_eq!(
            magnitude_factor(cell_key, 1_234, 400),
            magnitude_factor(cell_key, 1_234, 400)
        );
    }

    #[test]
    fn magnitude_noise_is_a_non_zero_multiple_of_a_step_covering_p_percent() {
        // δ = 0.2, x₁ = 50: step 5, the noises ±5 and ±10.
        let noises: Vec<i64> = MAGNITUDE_FACTORS
            .iter()
            .map(|factor| magnitude_noise(0.2, 50, *factor))
            .collect();
        assert_eq!(noises, [-10, -5, 5, 10]);
        // x₁ = 55: δ·x₁/2 = 5.5, so the step is 6 ≥ 10 % of 55, and ±6 ±12.
        let noises: Vec<i64> = MAGNITUDE_FACTORS
            .iter()
            .map(|factor| magnitude_noise(0.2, 55, *factor))
            .collect();
        assert_eq!(noises, [-12, -6, 6, 12]);
        // With the defaults the smallest move covers p = 10 % of x₁ whatever x₁ (rounding the step
        // to nearest instead would give 5 < 5.2 for x₁ = 52).
        for largest in 1..=5_000 {
            assert!(
                magnitude_noise(0.2, largest, 0.5) as f64 >= 0.1 * largest as f64,
                "x₁ = {largest}"
            );
        }
        // Tiny contributions still move by at least one unit.
        assert_eq!(magnitude_noise(0.2, 1, 0.5), 1);
        assert_eq!(magnitude_noise(0.0, 50, 1.0), 0);
        assert_eq!(magnitude_noise(f64::NAN, 50, 1.0), 0);
    }
}
