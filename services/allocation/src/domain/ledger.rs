//! The unit ledger of a call (granted, delivered, lost) and TA-6's measure of it: the share of
//! units that went to groups whose majority works outside EU/associated countries.

/// Units of a call as the store counts them, split by TA-6 class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerUnits {
    pub granted: i64,
    pub non_eu_granted: i64,
    pub delivered: i64,
    pub lost: i64,
    pub non_eu_delivered: i64,
}

/// A call's ledger against TA-6's denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub call_id: String,
    pub planned_units: i64,
    pub units: LedgerUnits,
    pub non_eu_granted_share: f64,
    pub non_eu_delivered_share: f64,
    pub cap_percent: i32,
}

/// TA-6's denominator: the grant's planned units, or the units the call offers when unset.
pub fn planned_units(grant_planned_units: i64, offered_units: impl IntoIterator<Item = i64>) -> i64 {
    if grant_planned_units > 0 {
        grant_planned_units
    } else {
        offered_units.into_iter().fold(0, i64::saturating_add)
    }
}

/// `units` as a share of the planned units (0 when nothing is planned).
pub fn share(units: i64, planned_units: i64) -> f64 {
    if planned_units > 0 {
        units as f64 / planned_units as f64
    } else {
        0.0
    }
}

impl Ledger {
    /// TA-6: the ledger of `call_id` measured against `planned_units`, under a cap of `cap_percent`.
    pub fn measure(call_id: &str, planned_units: i64, units: LedgerUnits, cap_percent: i32) -> Self {
        Self {
            call_id: call_id.to_owned(),
            planned_units,
            units,
            non_eu_granted_share: share(units.non_eu_granted, planned_units),
            non_eu_delivered_share: share(units.non_eu_delivered, planned_units),
            cap_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_denominator_is_the_grants_planned_units_when_set() {
        assert_eq!(planned_units(1_000, [10, 20]), 1_000);
    }

    #[test]
    fn the_denominator_falls_back_to_the_units_the_call_offers() {
        assert_eq!(planned_units(0, [10, 20]), 30);
    }

    #[test]
    fn shares_are_of_the_planned_units_and_zero_without_any() {
        let units = LedgerUnits {
            non_eu_granted: 25,
            non_eu_delivered: 10,
            ..LedgerUnits::default()
        };
        let ledger = Ledger::measure("c", 100, units, 20);
        assert!((ledger.non_eu_granted_share - 0.25).abs() < 1e-9);
        assert!((ledger.non_eu_delivered_share - 0.10).abs() < 1e-9);
        assert!(share(5, 0).abs() < f64::EPSILON);
    }

    #[test]
    fn offered_units_that_overflow_saturate_rather_than_wrap() {
        assert_eq!(planned_units(0, [i64::MAX, 5]), i64::MAX);
        assert_eq!(planned_units(0, [3, 5]), 8);
        assert_eq!(planned_units(7, [i64::MAX, 5]), 7);
    }
}
