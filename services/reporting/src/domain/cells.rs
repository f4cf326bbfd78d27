//! The cells of a statistics result: what the store's rows add up to per group, and each
//! measure's published value once the disclosure control has seen it (docs/disclosure.md).
//! Counts and sums are protected from their own records; rates and means are computed from the
//! protected counts [H5.7]; medians are withheld when their cell fails the threshold.

use std::collections::{BTreeMap, BTreeSet};

use super::Measure;
use super::disclosure::{CellKey, CountCell, DisclosureRules, MagnitudeCell, Withheld};
use super::researchers::{ResearcherCount, per_thousand};

/// Distinct units (users, requests, …) counted in a cell: how many, the sum of their record
/// keys, and how many organisations stand behind them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub count: u64,
    pub key_sum: u64,
    pub organisations: u64,
}

impl Counted {
    /// The count as published: protected, or withheld.
    pub fn value(&self, rules: &DisclosureRules, users: u64) -> Value {
        match self.protect(rules, users) {
            Ok(count) => Value::Integer(i64::try_from(count).unwrap_or(i64::MAX)),
            Err(withheld) => Value::Withheld(withheld),
        }
    }

    fn protect(&self, rules: &DisclosureRules, users: u64) -> Result<u64, Withheld> {
        if self.count == 0 {
            // Nothing to protect: no unit, no organisation [H5.4: zeros stay zero].
            return Ok(0);
        }
        rules.protect_count(&CountCell {
            count: self.count,
            organisations: self.organisations,
            users,
            key: CellKey::from_sum(self.key_sum),
        })
    }
}

/// Units summed in a cell, grouped by organisation first: the contributor of the dominance
/// rules is the organisation, whatever the number of its users [H4.2]. Only organisations with
/// units count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summed {
    pub total: i64,
    /// The largest and second-largest organisation's units.
    pub largest: i64,
    pub second: i64,
    pub organisations: u64,
    /// The sum of the contributing organisations' record keys.
    pub key_sum: u64,
}

impl Summed {
    /// The cell of organisations' contributions (units, record key), each with units.
    pub fn of(contributions: &mut [(i64, u32)]) -> Summed {
        contributions.sort_unstable_by_key(|(units, _)| std::cmp::Reverse(*units));
        Summed {
            total: contributions
                .iter()
                .fold(0_i64, |sum, (units, _)| sum.saturating_add(*units)),
            largest: contributions.first().map_or(0, |(units, _)| *units),
            second: contributions.get(1).map_or(0, |(units, _)| *units),
            organisations: contributions.len() as u64,
            key_sum: contributions
                .iter()
                .fold(0u64, |sum, (_, key)| sum.wrapping_add(u64::from(*key))),
        }
    }

    fn protect(&self, rules: &DisclosureRules, users: u64) -> Result<i64, Withheld> {
        if self.organisations == 0 {
            return Ok(0);
        }
        rules.protect_magnitude(&MagnitudeCell {
            total: self.total,
            largest: self.largest,
            second: self.second,
            organisations: self.organisations,
            users,
            key: CellKey::from_sum(self.key_sum),
        })
    }
}

/// Adds up distinct units row by row, where the store returns one row per unit.
#[derive(Debug, Clone, Default)]
pub struct CountedSet {
    count: u64,
    key_sum: u64,
    organisations: BTreeSet<String>,
}

impl CountedSet {
    pub fn add(&mut self, record_key: u32, organisation: &str) {
        self.count += 1;
        self.key_sum = self.key_sum.wrapping_add(u64::from(record_key));
        if !self.organisations.contains(organisation) {
            self.organisations.insert(organisation.to_owned());
        }
    }

    pub fn finish(&self) -> Counted {
        Counted {
            count: self.count,
            key_sum: self.key_sum,
            organisations: self.organisations.len() as u64,
        }
    }
}

/// Adds up units per organisation row by row.
#[derive(Debug, Clone, Default)]
pub struct SummedMap {
    by_organisation: BTreeMap<String, (i64, u32)>,
}

impl SummedMap {
    pub fn add(&mut self, organisation: &str, record_key: u32, units: i64) {
        let entry = self
            .by_organisation
            .entry(organisation.to_owned())
            .or_insert((0, record_key));
        entry.0 = entry.0.saturating_add(units);
    }

    pub fn finish(&self) -> Summed {
        let mut contributions: Vec<(i64, u32)> = self
            .by_organisation
            .values()
            .copied()
            .filter(|(units, _)| *units > 0)
            .collect();
        Summed::of(&mut contributions)
    }
}

/// Everything the store's rows say about one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub units_used: Summed,
    pub users: Counted,
    pub new_users: Counted,
    pub user_groups: Counted,
    pub requests_received: Counted,
    pub requests_accepted: Counted,
    pub requests_declined: Counted,
    /// Days from submission to decision of each decided request, and their organisations.
    pub decision_days: Vec<f64>,
    pub decided: Counted,
    /// Days from decision to the first slot offered, of each request that has one.
    pub first_slot_days: Vec<f64>,
    pub slotted: Counted,
    /// Units the calls offered at the cell's installations (public in each call).
    pub units_offered: i64,
    /// Units the calls' proposals asked for, by organisation.
    pub units_requested: Summed,
    pub units_granted: Summed,
    pub units_granted_non_eu: Summed,
    pub units_delivered: Summed,
    pub units_lost: Summed,
    pub clock_breaches: Counted,
}

/// A measure's value as published.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Decimal(f64),
    Withheld(Withheld),
    /// No researcher count for the country and year (NORM-1): never an invented one.
    NoDenominator,
    /// Nothing to compute from (a rate over no decided request).
    Empty,
}

/// Where the cell stands for normalisation: its denominator, when one is sourced.
pub type DenominatorFor<'table> = Option<&'table ResearcherCount>;

impl Cell {
    /// The published value of `measure` in this cell.
    pub fn value(&self, measure: Measure, rules: &DisclosureRules, denominator: DenominatorFor<'_>) -> Value {
        let users = self.users.count;
        let count = |counted: &Counted, users: u64| counted.value(rules, users);
        let sum = |summed: &Summed, users: u64| match summed.protect(rules, users) {
            Ok(total) => Value::Integer(total),
            Err(withheld) => Value::Withheld(withheld),
        };
        match measure {
            Measure::UnitsUsed => sum(&self.units_used, users),
            Measure::Users => count(&self.users, users),
            Measure::NewUsers => count(&self.new_users, self.new_users.count),
            Measure::UserGroups => count(&self.user_groups, 0),
            Measure::UsersPer1000Researchers => match (self.users.protect(rules, users), denominator) {
                (Err(withheld), _) => Value::Withheld(withheld),
                (Ok(_), None) => Value::NoDenominator,
                (Ok(protected), Some(denominator)) => Value::Decimal(per_thousand(protected, denominator)),
            },
            Measure::RequestsReceived => count(&self.requests_received, 0),
            Measure::RequestsAccepted => count(&self.requests_accepted, 0),
            Measure::RequestsDeclined => count(&self.requests_declined, 0),
            Measure::AcceptanceRate => {
                match (
                    self.requests_accepted.protect(rules, 0),
                    self.requests_declined.protect(rules, 0),
                ) {
                    (Err(withheld), _) | (_, Err(withheld)) => Value::Withheld(withheld),
                    (Ok(0), Ok(0)) => Value::Empty,
                    (Ok(accepted), Ok(declined)) => {
                        Value::Decimal(round(100.0 * accepted as f64 / (accepted + declined) as f64, 1))
                    }
                }
            }
            Measure::DecisionDaysMedian => quantile(&self.decision_days, &self.decided, rules, 0.5),
            Measure::DecisionDaysP90 => quantile(&self.decision_days, &self.decided, rules, 0.9),
            Measure::FirstSlotDaysMedian => quantile(&self.first_slot_days, &self.slotted, rules, 0.5),
            Measure::Oversubscription => {
                let offered = self.units_offered;
                if offered == 0 {
                    return Value::Empty;
                }
                // What the call offered is public; what its proposals asked for is protected.
                match self.units_requested.protect(rules, 0) {
                    Ok(requested) => Value::Decimal(round(requested as f64 / offered as f64, 2)),
                    Err(withheld) => Value::Withheld(withheld),
                }
            }
            Measure::UnitsGranted => sum(&self.units_granted, 0),
            Measure::NonEuShare => {
                if self.units_granted.total == 0 {
                    return Value::Empty;
                }
                match (
                    self.units_granted_non_eu.protect(rules, 0),
                    self.units_granted.protect(rules, 0),
                ) {
                    (Err(withheld), _) | (_, Err(withheld)) => Value::Withheld(withheld),
                    (Ok(_), Ok(0)) => Value::Empty,
                    (Ok(non_eu), Ok(all)) => Value::Decimal(round(100.0 * non_eu as f64 / all as f64, 1)),
                }
            }
            Measure::UnitsDelivered => sum(&self.units_delivered, 0),
            Measure::UnitsLost => sum(&self.units_lost, 0),
            Measure::ClockBreaches => count(&self.clock_breaches, 0),
        }
    }
}

/// A quantile of days, withheld when the units behind it fail the threshold.
pub fn quantile(days: &[f64], units: &Counted, rules: &DisclosureRules, quantile: f64) -> Value {
    if days.is_empty() {
        return Value::Empty;
    }
    if !rules.passes_threshold(units.organisations, 0) {
        return Value::Withheld(Withheld::Threshold);
    }
    Value::Decimal(round(nearest_rank(days, quantile), 1))
}

/// The nearest-rank quantile of a non-empty list.
fn nearest_rank(values: &[f64], quantile: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(organisations: &[&str]) -> Counted {
        let mut counted = CountedSet::default();
        for (index, organisation) in organisations.iter().enumerate() {
            counted.add(u32::try_from(index).expect("small") * 7919, organisation);
        }
        counted.finish()
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let days = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(nearest_rank(&days, 0.5), 5.0);
        assert_eq!(nearest_rank(&days, 0.9), 9.0);
        assert_eq!(nearest_rank(&[4.0], 0.9), 4.0);
    }

    #[test]
    fn contributions_are_summed_per_organisation_and_ranked() {
        let mut summed = SummedMap::default();
        summed.add("a", 1, 30);
        summed.add("b", 2, 60);
        summed.add("a", 1, 10);
        summed.add("c", 4, 0);
        assert_eq!(
            summed.finish(),
            Summed {
                total: 100,
                largest: 60,
                second: 40,
                organisations: 2,
                key_sum: 3,
            }
        );
        // Units past the largest value saturate, within an organisation and across them.
        let mut huge = SummedMap::default();
        huge.add("a", 1, i64::MAX);
        huge.add("a", 1, 1);
        huge.add("b", 2, i64::MAX);
        let huge = huge.finish();
        assert_eq!((huge.total, huge.largest), (i64::MAX, i64::MAX));
        let mut set = CountedSet::default();
        set.add(5, "a");
        set.add(6, "a");
        assert_eq!(
            set.finish(),
            Counted {
                count: 2,
                key_sum: 11,
                organisations: 1,
            }
        );
    }

    #[test]
    fn with_protection_off_values_are_exact() {
        let rules = DisclosureRules::off();
        let mut granted = SummedMap::default();
        granted.add("a", 1, 40);
        granted.add("b", 2, 60);
        let mut non_eu = SummedMap::default();
        non_eu.add("b", 2, 60);
        let cell = Cell {
            requests_accepted: counted(&["a", "b", "c"]),
            requests_declined: counted(&["d"]),
            units_granted: granted.finish(),
            units_granted_non_eu: non_eu.finish(),
            decision_days: vec![10.0, 2.0, 30.0],
            decided: counted(&["a", "b", "c"]),
            ..Cell::default()
        };
        assert_eq!(cell.value(Measure::AcceptanceRate, &rules, None), Value::Decimal(75.0));
        assert_eq!(cell.value(Measure::UnitsGranted, &rules, None), Value::Integer(100));
        assert_eq!(cell.value(Measure::NonEuShare, &rules, None), Value::Decimal(60.0));
        assert_eq!(
            cell.value(Measure::DecisionDaysMedian, &rules, None),
            Value::Decimal(10.0)
        );
        assert_eq!(cell.value(Measure::ClockBreaches, &rules, None), Value::Integer(0));
        assert_eq!(cell.value(Measure::UnitsUsed, &rules, None), Value::Integer(0));
        assert_eq!(cell.value(Measure::Oversubscription, &rules, None), Value::Empty);
    }

    #[test]
    fn a_small_cell_is_withheld_and_its_rate_and_median_with_it() {
        let rules = DisclosureRules::default();
        let cell = Cell {
            requests_accepted: counted(&["a", "b"]),
            requests_declined: counted(&["c"]),
            decided: counted(&["a", "b", "c"]),
            decision_days: vec![1.0, 2.0, 3.0],
            ..Cell::default()
        };
        assert_eq!(
            cell.value(Measure::RequestsAccepted, &rules, None),
            Value::Withheld(Withheld::Threshold)
        );
        assert_eq!(
            cell.value(Measure::AcceptanceRate, &rules, None),
            Value::Withheld(Withheld::Threshold)
        );
        assert_eq!(
            cell.value(Measure::DecisionDaysMedian, &rules, None),
            Value::Withheld(Withheld::Threshold)
        );
    }

    #[test]
    fn normalisation_without_a_sourced_denominator_has_no_value() {
        let rules = DisclosureRules::off();
        let cell = Cell {
            users: counted(&["a"]),
            ..Cell::default()
        };
        assert_eq!(
            cell.value(Measure::UsersPer1000Researchers, &rules, None),
            Value::NoDenominator
        );
        let denominator = ResearcherCount {
            country: "DE".into(),
            year: 2024,
            researchers_fte: 500.0,
            flag: "p".into(),
            dataset: "rd_p_persocc".into(),
            source: "test".into(),
        };
        assert_eq!(
            cell.value(Measure::UsersPer1000Researchers, &rules, Some(&denominator)),
            Value::Decimal(2.0)
        );
    }
}
