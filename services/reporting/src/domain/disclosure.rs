//! Statistical disclosure control of every published figure (docs/disclosure.md): a threshold on the
//! organisations and users behind a cell [H4.2], the p% dominance rule on magnitudes whose
//! contributions are grouped by organisation [H4.2], and the cell key method on everything that
//! passes [H4.6][H5.4]. Bracketed keys point to the sources listed in docs/disclosure.md.
//!
//! Every counted unit has a secret record key, a cell's key is the sum of its units' keys, and the
//! cell key picks the cell's noise from a fixed table. The same units always get the same noise, in
//! any query [CG-2], so repeating or rephrasing a query averages nothing away [CANT]; cells that
//! differ by one unit get independent noise, so subtracting one published cell from another leaves
//! an estimate blurred by two draws. Pure: no I/O, no clock, no randomness of its own.

mod keys;
mod noise;

pub use keys::{CellKey, KeySecret, UnitKind, record_key};

/// The rules and their parameters; the parameters are kept confidential [H4.2][H5.4]: publish the
/// method, never D, δ or the keys. Defaults: threshold 5, p = 10 %, D = 2, δ = 0.2.
#[derive(Clone, Debug, PartialEq)]
pub struct DisclosureRules {
    /// k: a cell needs at least k distinct organisations, and k distinct users where people are
    /// counted. "Fewer than k" is withheld, as the Handbook words it [H4.2] (sdcTable's "≤ maxN"
    /// [SDCT] would be k − 1 here). k = 5 stands against coalitions of 3 [H4.2].
    pub threshold: u64,
    /// p of the p% rule: what a cell holds beyond its two largest organisations must be at least
    /// p % of the largest [H4.2].
    pub dominance_percent: f64,
    /// D: a published count is at most D away from the true one.
    pub max_count_noise: i64,
    /// δ: a magnitude moves by δ·x₁·v, v ∈ {±½, ±1}, x₁ its largest organisation [H4.6]. Must be
    /// at least p/50, so that the smallest move, δ·x₁/2, is at least p % of x₁.
    pub magnitude_noise: f64,
    /// Off: everything published exactly and nothing withheld.
    pub enabled: bool,
}

impl Default for DisclosureRules {
    fn default() -> Self {
        Self {
            threshold: 5,
            dominance_percent: 10.0,
            max_count_noise: 2,
            magnitude_noise: 0.2,
            enabled: true,
        }
    }
}

/// Why a value is not shown. It never carries the value [disclosure-notes §4.6].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Withheld {
    /// Fewer than k distinct organisations or users [H4.2].
    Threshold,
    /// One or two organisations hold nearly all of the value: the p% rule [H4.2].
    Dominance,
}

/// A frequency cell: `count` distinct units (users, requests, …), the distinct organisations and
/// users behind them (`users` 0 when the units are not people: then only organisations are
/// checked), and the cell key of the counted units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountCell {
    pub count: u64,
    pub organisations: u64,
    pub users: u64,
    pub key: CellKey,
}

/// A magnitude cell: units of access summed, with contributions grouped by organisation first
/// ("holdings" [H4.2]): `largest` and `second` are the two largest organisations' sums. `key` is the
/// cell key of the contributing organisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MagnitudeCell {
    pub total: i64,
    pub largest: i64,
    pub second: i64,
    pub organisations: u64,
    pub users: u64,
    pub key: CellKey,
}

impl DisclosureRules {
    /// No protection at all (tests of the measures' arithmetic, and admins' own checks).
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Checks every parameter and names each one out of bounds (the values are not repeated: they
    /// are confidential). Beyond the bounds, δ must be at least p/50 (see `magnitude_noise`).
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.threshold < 1 {
            problems.push("threshold must be at least 1".to_owned());
        }
        if !(0.0..=100.0).contains(&self.dominance_percent) {
            problems.push("dominance_percent must be between 0 and 100".to_owned());
        }
        if !(0..=noise::MAX_COUNT_NOISE_LIMIT).contains(&self.max_count_noise) {
            problems.push(format!(
                "max_count_noise must be between 0 and {}",
                noise::MAX_COUNT_NOISE_LIMIT
            ));
        }
        if !(0.0..=1.0).contains(&self.magnitude_noise) {
            problems.push("magnitude_noise must be between 0 and 1".to_owned());
        } else if self.magnitude_noise < self.dominance_percent / 50.0 {
            problems.push(
                "magnitude_noise must be at least dominance_percent / 50, so that the smallest move covers the p% rule"
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Whether a cell passes the threshold: at least k organisations, and at least k users when
    /// users are counted (`users` > 0). Medians, rates and other derived values are withheld when
    /// their cell fails [disclosure-notes §4.1, unsourced].
    pub fn passes_threshold(&self, organisations: u64, users: u64) -> bool {
        !self.enabled || (organisations >= self.threshold && (users == 0 || users >= self.threshold))
    }

    /// The threshold, then n̂ = n + v with v drawn by the cell key from the count p-table [H5.4]
    /// (noise.rs: v ∈ −D..=D, triangular, zero mean). Zero stays zero [H5.4]; a count that is not
    /// zero is never shown as 0 or less.
    pub fn protect_count(&self, cell: &CountCell) -> Result<u64, Withheld> {
        if !self.enabled || cell.count == 0 {
            return Ok(cell.count);
        }
        if !self.passes_threshold(cell.organisations, cell.users) {
            return Err(Withheld::Threshold);
        }
        let noise = noise::count_noise(self.max_count_noise, cell.count, cell.key);
        Ok(cell.count.saturating_add_signed(noise).max(1))
    }

    /// The threshold, the p% rule on organisation-grouped contributions (X − x₁ − x₂ < p/100·x₁ is
    /// withheld [H4.2]), then x̂ = x + δ·x₁·v with v ∈ {±½, ±1} drawn by the cell key [H4.6]
    /// (noise.rs): never left unmoved, in whole units, never negative (clamped at 0, which valid
    /// rules reach only when p = 0 lets one organisation hold nearly everything). A cell without
    /// contributors is 0.
    pub fn protect_magnitude(&self, cell: &MagnitudeCell) -> Result<i64, Withheld> {
        if !self.enabled || (cell.total == 0 && cell.organisations == 0) {
            return Ok(cell.total);
        }
        if !self.passes_threshold(cell.organisations, cell.users) {
            return Err(Withheld::Threshold);
        }
        if self.is_dominated(cell) {
            return Err(Withheld::Dominance);
        }
        let factor = noise::magnitude_factor(cell.key, cell.total, cell.largest);
        let noise = noise::magnitude_noise(self.magnitude_noise, cell.largest, factor);
        Ok(cell.total.saturating_add(noise).max(0))
    }

    /// The p% rule [H4.2]. The rules assume non-negative contributions that add up [H4.2]; a cell
    /// whose figures do not is withheld, since the rule cannot vouch for it.
    fn is_dominated(&self, cell: &MagnitudeCell) -> bool {
        let (total, largest, second) = (
            i128::from(cell.total),
            i128::from(cell.largest),
            i128::from(cell.second),
        );
        if second < 0 || largest < second || largest + second > total {
            return true;
        }
        let rest = (total - largest - second) as f64;
        let needed = self.dominance_percent / 100.0 * largest as f64;
        needed.is_nan() || rest < needed
    }
}

/// A deterministic stream of pseudo-random numbers (SplitMix64) for the simulations in the tests.
#[cfg(test)]
fn pseudo_random(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed;
    std::iter::repeat_with(move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    })
}

#[cfg(test)]
mod attacks;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn count_cell(count: u64, organisations: u64, users: u64, key: u32) -> CountCell {
        CountCell {
            count,
            organisations,
            users,
            key: CellKey::of([key]),
        }
    }

    /// A magnitude cell of one contribution per organisation, keyed by the organisations' keys.
    pub(super) fn magnitude_cell(contributions: &[i64], organisation_keys: &[u32]) -> MagnitudeCell {
        let mut sorted = contributions.to_vec();
        sorted.sort_unstable_by(|left, right| right.cmp(left));
        MagnitudeCell {
            total: sorted.iter().sum(),
            largest: sorted.first().copied().unwrap_or(0),
            second: sorted.get(1).copied().unwrap_or(0),
            organisations: sorted.len() as u64,
            users: 0,
            key: CellKey::of(organisation_keys.iter().copied()),
        }
    }

    pub(super) fn noise_of(shown: u64, count: u64) -> i64 {
        i64::try_from(shown).unwrap_or(i64::MAX) - i64::try_from(count).unwrap_or(0)
    }

    #[test]
    fn counts_behind_fewer_than_k_organisations_are_withheld() {
        let rules = DisclosureRules::default();
        assert_eq!(rules.protect_count(&count_cell(40, 4, 40, 1)), Err(Withheld::Threshold));
        assert_eq!(rules.protect_count(&count_cell(40, 4, 0, 1)), Err(Withheld::Threshold));
        assert!(!rules.passes_threshold(4, 40));
    }

    #[test]
    fn counts_of_fewer_than_k_users_are_withheld_even_behind_many_organisations() {
        let rules = DisclosureRules::default();
        assert_eq!(rules.protect_count(&count_cell(4, 6, 4, 1)), Err(Withheld::Threshold));
        assert!(!rules.passes_threshold(6, 4));
    }

    #[test]
    fn a_count_at_the_threshold_is_published_and_users_are_checked_only_when_counted() {
        let rules = DisclosureRules::default();
        assert!(rules.protect_count(&count_cell(5, 5, 5, 1)).is_ok());
        assert!(
            rules.protect_count(&count_cell(5, 5, 0, 1)).is_ok(),
            "not a count of people"
        );
        assert!(rules.passes_threshold(5, 5) && rules.passes_threshold(5, 0));
        let stricter = DisclosureRules {
            threshold: 6,
            ..DisclosureRules::default()
        };
        assert_eq!(
            stricter.protect_count(&count_cell(5, 5, 5, 1)),
            Err(Withheld::Threshold)
        );
    }

    #[test]
    fn zero_stays_zero_and_other_counts_never_show_as_zero() {
        let rules = DisclosureRules::default();
        assert_eq!(rules.protect_count(&count_cell(0, 0, 0, 12_345)), Ok(0));
        // One user group of six organisations: n = 1 < D, its own p-table row.
        for key in pseudo_random(21).take(2_000) {
            for count in 1..=3 {
                let shown = rules.protect_count(&count_cell(count, 6, 0, key as u32));
                assert!(shown.is_ok_and(|shown| shown >= 1), "{count} shown as {shown:?}");
            }
        }
    }

    #[test]
    fn count_noise_stays_within_d_averages_zero_and_follows_the_p_table() {
        let rules = DisclosureRules::default();
        let draws = 20_000;
        let mut histogram = [0u32; 5];
        let mut sum = 0i64;
        for key in pseudo_random(1).take(draws) {
            let shown = rules.protect_count(&count_cell(100, 10, 100, key as u32));
            let noise = noise_of(shown.unwrap_or(0), 100);
            assert!((-2..=2).contains(&noise), "noise {noise}");
            histogram[usize::try_from(noise + 2).unwrap_or(0)] += 1;
            sum += noise;
        }
        let mean = sum as f64 / draws as f64;
        assert!(mean.abs() < 0.05, "mean noise {mean}");
        for (count, ninths) in histogram.iter().zip([1.0, 2.0, 3.0, 2.0, 1.0]) {
            let expected = ninths / 9.0 * draws as f64;
            assert!((f64::from(*count) - expected).abs() < 0.1 * expected, "{histogram:?}");
        }
    }

    #[test]
    fn the_same_count_cell_gets_the_same_value_in_any_query() {
        let rules = DisclosureRules::default();
        let units: Vec<u32> = pseudo_random(4).take(37).map(|value| value as u32).collect();
        let cell = |keys: &[u32]| CountCell {
            count: keys.len() as u64,
            organisations: 12,
            users: keys.len() as u64,
            key: CellKey::of(keys.iter().copied()),
        };
        let first = rules.protect_count(&cell(&units));
        // Reached through another group-by, the same units come in another order [CG-2].
        let mut reordered = units.clone();
        reordered.reverse();
        assert_eq!(rules.protect_count(&cell(&reordered)), first);
        assert!((0..100).all(|_| rules.protect_count(&cell(&units)) == first));
    }

    #[test]
    fn one_organisation_holding_95_percent_passes_k_but_fails_the_p_percent_rule() {
        // [H4.2]: six organisations, one with 95 %. X − x₁ − x₂ = 4 < p/100 · 95 for any p > 4.2,
        // so for p = 10 and for the notes' p ≥ 5.3; a p below that lets it through.
        let cell = magnitude_cell(&[95, 1, 1, 1, 1, 1], &[1, 2, 3, 4, 5, 6]);
        assert!(DisclosureRules::default().passes_threshold(cell.organisations, cell.users));
        assert_eq!(
            DisclosureRules::default().protect_magnitude(&cell),
            Err(Withheld::Dominance)
        );
        let rules_with = |percent: f64| DisclosureRules {
            dominance_percent: percent,
            ..DisclosureRules::default()
        };
        assert_eq!(rules_with(5.3).protect_magnitude(&cell), Err(Withheld::Dominance));
        assert!(rules_with(4.0).protect_magnitude(&cell).is_ok());
    }

    #[test]
    fn two_organisations_holding_99_percent_fail_for_any_p_above_2() {
        // [H4.2]: 50,000 + 49,000 of 100,000: x₂ estimates x₁ to within 2 %.
        let cell = magnitude_cell(&[50_000, 49_000, 250, 250, 250, 250], &[1, 2, 3, 4, 5, 6]);
        let rules_with = |percent: f64| DisclosureRules {
            dominance_percent: percent,
            ..DisclosureRules::default()
        };
        assert_eq!(rules_with(2.01).protect_magnitude(&cell), Err(Withheld::Dominance));
        assert_eq!(rules_with(10.0).protect_magnitude(&cell), Err(Withheld::Dominance));
        assert!(rules_with(2.0).protect_magnitude(&cell).is_ok());
    }

    #[test]
    fn an_even_magnitude_cell_is_published_and_one_of_too_few_organisations_is_not() {
        let rules = DisclosureRules::default();
        let even = magnitude_cell(&[20, 20, 20, 20, 20], &[1, 2, 3, 4, 5]);
        assert!(rules.protect_magnitude(&even).is_ok());
        let four = magnitude_cell(&[20, 20, 20, 20], &[1, 2, 3, 4]);
        assert_eq!(rules.protect_magnitude(&four), Err(Withheld::Threshold));
        let few_users = MagnitudeCell { users: 3, ..even };
        assert_eq!(rules.protect_magnitude(&few_users), Err(Withheld::Threshold));
        let nobody = MagnitudeCell {
            total: 0,
            largest: 0,
            second: 0,
            organisations: 0,
            users: 0,
            key: CellKey::of([9]),
        };
        assert_eq!(rules.protect_magnitude(&nobody), Ok(0));
    }

    #[test]
    fn magnitudes_whose_contributions_do_not_add_up_are_withheld() {
        let rules = DisclosureRules::default();
        let even = magnitude_cell(&[20, 20, 20, 20, 20], &[1, 2, 3, 4, 5]);
        for broken in [
            MagnitudeCell { second: 30, ..even },
            MagnitudeCell { largest: 90, ..even },
            MagnitudeCell { second: -5, ..even },
        ] {
            assert_eq!(rules.protect_magnitude(&broken), Err(Withheld::Dominance), "{broken:?}");
        }
    }

    #[test]
    fn magnitude_noise_is_never_zero_stays_within_delta_times_the_largest_and_averages_zero() {
        let rules = DisclosureRules::default();
        let draws = 20_000;
        let mut sum = 0i64;
        for key in pseudo_random(2).take(draws) {
            let cell = magnitude_cell(&[50, 40, 30, 20, 10], &[key as u32]);
            let noise = rules.protect_magnitude(&cell).unwrap_or(0) - 150;
            // δ·x₁ = 10, and the smallest move δ·x₁/2 = 5 is p = 10 % of x₁ = 50.
            assert!([-10, -5, 5, 10].contains(&noise), "noise {noise}");
            sum += noise;
        }
        let mean = sum as f64 / draws as f64;
        assert!(mean.abs() < 0.2, "mean noise {mean}, standard error ≈ 0.06");
        let rules = DisclosureRules::default();
        assert!(rules.magnitude_noise * 0.5 >= rules.dominance_percent / 100.0);
    }

    #[test]
    fn magnitudes_are_never_published_negative() {
        let cell = magnitude_cell(&[10, 10, 10, 10, 10], &[3]);
        for delta in [1.0, 10.0] {
            let rules = DisclosureRules {
                magnitude_noise: delta,
                ..DisclosureRules::default()
            };
            for key in pseudo_random(8).take(200) {
                let shown = rules.protect_magnitude(&MagnitudeCell {
                    key: CellKey::of([key as u32]),
                    ..cell
                });
                assert!(shown.is_ok_and(|shown| shown >= 0), "δ = {delta}: {shown:?}");
            }
        }
    }

    #[test]
    fn switched_off_everything_is_published_exactly() {
        let rules = DisclosureRules::off();
        assert_eq!(rules.protect_count(&count_cell(3, 1, 3, 9)), Ok(3));
        assert_eq!(rules.protect_count(&count_cell(100, 10, 100, 9)), Ok(100));
        let dominated = magnitude_cell(&[95, 1], &[9]);
        assert_eq!(rules.protect_magnitude(&dominated), Ok(96));
        for key in pseudo_random(23).take(100) {
            let even = magnitude_cell(&[20, 20, 20, 20, 20], &[key as u32]);
            assert_eq!(rules.protect_magnitude(&even), Ok(100));
            assert_eq!(rules.protect_count(&count_cell(50, 9, 50, key as u32)), Ok(50));
        }
        assert!(rules.passes_threshold(1, 1));
    }

    #[test]
    fn validation_names_every_parameter_out_of_bounds() {
        assert_eq!(DisclosureRules::default().validate(), Ok(()));
        assert_eq!(DisclosureRules::off().validate(), Ok(()));
        let broken = DisclosureRules {
            threshold: 0,
            dominance_percent: f64::NAN,
            max_count_noise: -1,
            magnitude_noise: 1.5,
            enabled: true,
        };
        let message = broken.validate().expect_err("every field is out of bounds");
        for field in ["threshold", "dominance_percent", "max_count_noise", "magnitude_noise"] {
            assert!(message.contains(field), "{field} missing from: {message}");
        }
        let too_little_noise = DisclosureRules {
            magnitude_noise: 0.1,
            ..DisclosureRules::default()
        };
        assert!(
            too_little_noise
                .validate()
                .expect_err("δ below p/50")
                .contains("magnitude_noise")
        );
        let too_much_count_noise = DisclosureRules {
            max_count_noise: 101,
            ..DisclosureRules::default()
        };
        assert!(
            too_much_count_noise
                .validate()
                .expect_err("D above the limit")
                .contains("max_count_noise")
        );
    }
}
