//! The attacks of disclosure-notes §5 run against the protected figures: differencing overlapping
//! queries [H5.2] and averaging by repetition [CANT]. Simulations over fixed pseudo-random scenarios,
//! so a run is reproducible; each would pass nearly always if the noise were removed or redrawn.

use super::tests::{count_cell, magnitude_cell, noise_of};
use super::{DisclosureRules, Withheld, pseudo_random};

/// Organisations' units and record keys for one differencing scenario.
struct Scenario {
    units: Vec<i64>,
    keys: Vec<u32>,
}

impl Scenario {
    fn random(random: &mut impl Iterator<Item = u64>, organisations: usize) -> Self {
        let mut next = || random.next().unwrap_or(0);
        let units = (0..organisations).map(|_| 1 + (next() % 1_000) as i64).collect();
        let keys = (0..organisations).map(|_| next() as u32).collect();
        Self { units, keys }
    }

    /// The published cell of every organisation but `left_out`.
    fn published_without(&self, rules: &DisclosureRules, left_out: Option<usize>) -> Result<i64, Withheld> {
        let members: Vec<usize> = (0..self.units.len())
            .filter(|member| Some(*member) != left_out)
            .collect();
        let units: Vec<i64> = members.iter().map(|member| self.units[*member]).collect();
        let keys: Vec<u32> = members.iter().map(|member| self.keys[*member]).collect();
        rules.protect_magnitude(&magnitude_cell(&units, &keys))
    }
}

#[test]
fn differencing_out_one_organisation_rarely_recovers_its_units() {
    // [H5.2][H4.2]: Q1 (all) − Q2 (a filter that drops one organisation).
    let rules = DisclosureRules::default();
    let mut random = pseudo_random(3);
    let (mut evaluated, mut exact, mut far) = (0, 0, 0);
    for _ in 0..2_000 {
        let organisations = 5 + (random.next().unwrap_or(0) % 26) as usize;
        let isolated = (random.next().unwrap_or(0) % organisations as u64) as usize;
        let scenario = Scenario::random(&mut random, organisations);
        let (Ok(all), Ok(rest)) = (
            scenario.published_without(&rules, None),
            scenario.published_without(&rules, Some(isolated)),
        ) else {
            continue;
        };
        evaluated += 1;
        let units = scenario.units[isolated];
        let error = (all - rest - units).abs();
        exact += usize::from(error == 0);
        far += usize::from(error as f64 >= rules.dominance_percent / 100.0 * units as f64);
    }
    assert!(evaluated >= 1_500, "only {evaluated} scenarios published both cells");
    assert!(exact * 100 <= evaluated * 30, "{exact} of {evaluated} exact");
    assert!(far * 100 >= evaluated * 65, "{far} of {evaluated} off by p % or more");
}

#[test]
fn differencing_out_an_organisation_smaller_than_the_largest_misses_by_p_percent_or_not_at_all() {
    // Both cells share x₁, so both noises are multiples of one step ≥ p % of x₁ (noise.rs).
    let rules = DisclosureRules::default();
    let mut random = pseudo_random(13);
    let (mut evaluated, mut exact) = (0, 0);
    for _ in 0..2_000 {
        let organisations = 6 + (random.next().unwrap_or(0) % 25) as usize;
        let scenario = Scenario::random(&mut random, organisations);
        let largest = scenario.units.iter().copied().max().unwrap_or(0);
        let Some(isolated) = scenario.units.iter().position(|units| *units < largest) else {
            continue;
        };
        let (Ok(all), Ok(rest)) = (
            scenario.published_without(&rules, None),
            scenario.published_without(&rules, Some(isolated)),
        ) else {
            continue;
        };
        evaluated += 1;
        let units = scenario.units[isolated];
        let error = (all - rest - units).abs();
        exact += usize::from(error == 0);
        assert!(
            error == 0 || error as f64 >= rules.dominance_percent / 100.0 * units as f64,
            "{units} units recovered within {error}"
        );
    }
    assert!(evaluated >= 1_500, "only {evaluated} scenarios published both cells");
    // Two independent draws of four factors agree a quarter of the time.
    assert!(
        (evaluated * 18..=evaluated * 32).contains(&(exact * 100)),
        "{exact} of {evaluated}"
    );
}

#[test]
fn differencing_two_cells_of_the_same_organisations_does_not_cancel_their_noise() {
    // A year and one quarter of it, same organisations, so the same cell key; the largest
    // organisation used everything within the quarter, so x₁ is the same in both.
    let rules = DisclosureRules::default();
    let mut random = pseudo_random(17);
    let (mut evaluated, mut exact) = (0, 0);
    for _ in 0..2_000 {
        let organisations = 6 + (random.next().unwrap_or(0) % 25) as usize;
        let year = Scenario::random(&mut random, organisations);
        let largest = year.units.iter().copied().max().unwrap_or(0);
        let quarter: Vec<i64> = year
            .units
            .iter()
            .map(|units| if *units == largest { *units } else { 1 + units / 2 })
            .collect();
        let (Ok(year_shown), Ok(quarter_shown)) = (
            rules.protect_magnitude(&magnitude_cell(&year.units, &year.keys)),
            rules.protect_magnitude(&magnitude_cell(&quarter, &year.keys)),
        ) else {
            continue;
        };
        evaluated += 1;
        let outside_the_quarter: i64 = year.units.iter().sum::<i64>() - quarter.iter().sum::<i64>();
        exact += usize::from(year_shown - quarter_shown == outside_the_quarter);
    }
    assert!(evaluated >= 1_500, "only {evaluated} scenarios published both cells");
    assert!(exact * 100 <= evaluated * 30, "{exact} of {evaluated} exact");
}

#[test]
fn differencing_out_one_user_is_exact_in_under_a_third_of_cases() {
    let rules = DisclosureRules::default();
    let mut random = pseudo_random(19);
    let scenarios = 2_000;
    let mut exact = 0;
    for _ in 0..scenarios {
        let count = 10 + random.next().unwrap_or(0) % 490;
        let (rest_key, user_key) = (random.next().unwrap_or(0) as u32, random.next().unwrap_or(0) as u32);
        let rest = rules.protect_count(&count_cell(count - 1, 10, count - 1, rest_key));
        let all = rules.protect_count(&count_cell(count, 10, count, rest_key.wrapping_add(user_key)));
        exact += usize::from(noise_of(all.unwrap_or(0), 0) - noise_of(rest.unwrap_or(0), 0) == 1);
    }
    // Σp² = 19/81 ≈ 23 % for the D = 2 table.
    assert!(exact * 100 <= scenarios * 30, "{exact} of {scenarios} exact");
}

#[test]
fn asking_the_same_cell_a_hundred_times_gives_one_value() {
    let rules = DisclosureRules::default();
    let count = count_cell(37, 12, 37, 123_456_789);
    let magnitude = magnitude_cell(&[50, 40, 30, 20, 10], &[1, 2, 3, 4, 5]);
    let counts: Vec<_> = (0..100).map(|_| rules.protect_count(&count)).collect();
    let magnitudes: Vec<_> = (0..100).map(|_| rules.protect_magnitude(&magnitude)).collect();
    assert!(counts.iter().all(|shown| *shown == counts[0]), "{counts:?}");
    assert!(magnitudes.iter().all(|shown| *shown == magnitudes[0]), "{magnitudes:?}");
    // The mean of the answers is the one answer, and that is not the true value.
    assert_ne!(magnitudes[0], Ok(150), "a magnitude is always moved");
}
