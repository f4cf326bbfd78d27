//! Usage records (TA-10, data model I.4) and the checks each one passes against what intake,
//! allocation and the registry said about its request: the request is known and was accepted or
//! granted units at the installation, the units stay within what was granted or delivered, and
//! the period lies within the slot.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// One person's use of one installation over one period, as recorded by its operator. The
/// person and the organisation are pseudonymous ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    pub record_id: String,
    pub request_id: String,
    pub installation_id: String,
    /// Empty when the recorder did not name the slot.
    pub slot_id: String,
    pub user_id: String,
    pub organisation_id: String,
    /// One of [`crate::domain::requester_type::ALL`].
    pub organisation_type: &'static str,
    pub home_country: String,
    pub period_start: i64,
    pub period_end: i64,
    pub units_used: i64,
    pub days_on_site: i32,
    /// One of [`crate::domain::access_mode::ALL`].
    pub access_mode: &'static str,
    pub eu_funded: bool,
    pub new_user: bool,
}

impl UsageRecord {
    /// A digest of every value: the same record sent again is recognised as a retry, and other
    /// values under a known id are refused.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut hasher = Sha256::new();
        // The numbers as decimal text, written into one buffer rather than a string each.
        let mut numbers = String::with_capacity(80);
        let mut ends = [0usize; 4];
        for (end, number) in ends.iter_mut().zip([
            self.period_start,
            self.period_end,
            self.units_used,
            i64::from(self.days_on_site),
        ]) {
            let _ = write!(numbers, "{number}");
            *end = numbers.len();
        }
        for part in [
            self.record_id.as_str(),
            &self.request_id,
            &self.installation_id,
            &self.slot_id,
            &self.user_id,
            &self.organisation_id,
            self.organisation_type,
            &self.home_country,
            &numbers[..ends[0]],
            &numbers[ends[0]..ends[1]],
            &numbers[ends[1]..ends[2]],
            &numbers[ends[2]..ends[3]],
            self.access_mode,
            if self.eu_funded { "1" } else { "0" },
            if self.new_user { "1" } else { "0" },
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0x1f]);
        }
        Fingerprint(hasher.finalize().into())
    }

    /// The record id's digest: how the facts find a record (128 bits: two ids share one with a
    /// chance of about 10^-26 among a billion records).
    pub fn id_digest(&self) -> u128 {
        id_digest(&self.record_id)
    }
}

/// The SHA-256 digest of a record's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Lower-case hex, as stored with the record.
    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Its first 128 bits, as the facts remember it.
    pub fn leading(&self) -> u128 {
        leading_u128(&self.0)
    }

    /// The first 128 bits of a stored fingerprint's `hex` (`None` when it is not hex).
    pub fn leading_of_hex(hex: &str) -> Option<u128> {
        hex.get(..32).and_then(|digits| u128::from_str_radix(digits, 16).ok())
    }
}

/// The digest of a record id: how the facts find a record.
pub fn id_digest(record_id: &str) -> u128 {
    leading_u128(&Sha256::digest(record_id.as_bytes()).into())
}

fn leading_u128(digest: &[u8; 32]) -> u128 {
    let mut leading = [0u8; 16];
    leading.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(leading)
}

/// A capacity window that a slot of the request holds at the installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPeriod {
    pub slot_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// What the projections know of a request at one installation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entitlement {
    pub lane: String,
    /// The request asked for this installation.
    pub requested_here: bool,
    /// Units granted here: an allocation line, or the units of an accepted industrial request.
    pub granted_units: i64,
    /// Units the operator recorded as delivered on the request's slots here.
    pub delivered_units: i64,
    /// Units already recorded as used here, by earlier records.
    pub used_units: i64,
    pub slots: Vec<SlotPeriod>,
    /// The infrastructure the installation belongs to, when the registry told.
    pub infrastructure_id: Option<String>,
}

/// Why a record is refused: the field at fault and a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub reason: String,
}

impl Refusal {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The calendar days a period spans, a part day counting as one (at least one); `None` when the
/// span cannot be counted (its length overflows), which is refused rather than wrapped.
pub fn period_days(start: i64, end: i64) -> Option<i64> {
    let length = end.checked_sub(start)?;
    let days = length.checked_add(MICROS_PER_DAY - 1)? / MICROS_PER_DAY;
    Some(days.max(1))
}

/// Checks a well-formed record against its request's entitlement (`None`: the request is not
/// known here). `used_units` of the entitlement must include the records accepted before it.
/// Returns the use recorded with this record, checked: the new `used_units`.
pub fn check(record: &UsageRecord, entitlement: Option<&Entitlement>) -> Result<i64, Refusal> {
    let Some(entitlement) = entitlement else {
        return Err(Refusal::new(
            "access_request_id",
            format!(
                "access request {} is not known to reporting (not accepted, not allocated, or not yet reported by intake)",
                record.request_id
            ),
        ));
    };
    if !entitlement.requested_here {
        return Err(Refusal::new(
            "installation_id",
            format!(
                "access request {} did not ask for installation {}",
                record.request_id, record.installation_id
            ),
        ));
    }
    // TA-4/TA-10: usage is reported for units granted (or, beyond them, delivered).
    let allowed = entitlement.granted_units.max(entitlement.delivered_units);
    if allowed == 0 {
        return Err(Refusal::new(
            "access_request_id",
            format!(
                "access request {} has no units granted at installation {}",
                record.request_id, record.installation_id
            ),
        ));
    }
    let Some(total) = entitlement.used_units.checked_add(record.units_used) else {
        return Err(Refusal::new(
            "units_used",
            format!(
                "{} units added to the {} recorded overflow the use recorded",
                record.units_used, entitlement.used_units
            ),
        ));
    };
    if total > allowed {
        return Err(Refusal::new(
            "units_used",
            format!(
                "{} units would bring the use recorded to {total}, beyond the {allowed} granted or delivered",
                record.units_used
            ),
        ));
    }
    if !record.slot_id.is_empty() {
        let Some(slot) = entitlement.slots.iter().find(|slot| slot.slot_id == record.slot_id) else {
            return Err(Refusal::new(
                "slot_id",
                format!(
                    "slot {} is not a slot of request {} at installation {}",
                    record.slot_id, record.request_id, record.installation_id
                ),
            ));
        };
        if !within(record, slot) {
            return Err(Refusal::new(
                "period_start",
                "the period lies outside the slot's window",
            ));
        }
    } else if !entitlement.slots.is_empty() && !entitlement.slots.iter().any(|slot| within(record, slot)) {
        return Err(Refusal::new(
            "period_start",
            "the period lies outside every slot of the request at this installation",
        ));
    }
    Ok(total)
}

fn within(record: &UsageRecord, slot: &SlotPeriod) -> bool {
    record.period_start >= slot.starts_at && record.period_end <= slot.ends_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(units: i64) -> UsageRecord {
        UsageRecord {
            record_id: "r-1".into(),
            request_id: "req-1".into(),
            installation_id: "inst-1".into(),
            slot_id: String::new(),
            user_id: "u-1".into(),
            organisation_id: "org-1".into(),
            organisation_type: "sme",
            home_country: "DE".into(),
            period_start: 100,
            period_end: 200,
            units_used: units,
            days_on_site: 1,
            access_mode: "physical",
            eu_funded: false,
            new_user: true,
        }
    }

    fn granted(units: i64) -> Entitlement {
        Entitlement {
            lane: "industrial".into(),
            requested_here: true,
            granted_units: units,
            ..Entitlement::default()
        }
    }

    #[test]
    fn refuses_a_request_reporting_does_not_know() {
        assert_eq!(check(&record(1), None).expect_err("unknown").field, "access_request_id");
    }

    #[test]
    fn refuses_an_installation_the_request_did_not_ask_for() {
        let entitlement = Entitlement {
            requested_here: false,
            ..granted(5)
        };
        assert_eq!(
            check(&record(1), Some(&entitlement)).expect_err("elsewhere").field,
            "installation_id"
        );
    }

    #[test]
    fn refuses_units_beyond_what_was_granted_counting_earlier_records() {
        assert_eq!(check(&record(5), Some(&granted(5))), Ok(5));
        let mut entitlement = granted(5);
        entitlement.used_units = 3;
        assert_eq!(
            check(&record(3), Some(&entitlement)).expect_err("beyond").field,
            "units_used"
        );
    }

    #[test]
    fn a_use_whose_sum_would_overflow_is_refused_not_wrapped_or_saturated() {
        let mut entitlement = granted(i64::MAX);
        entitlement.used_units = i64::MAX - 1;
        assert_eq!(check(&record(1), Some(&entitlement)), Ok(i64::MAX));
        let refused = check(&record(2), Some(&entitlement)).expect_err("overflows");
        assert_eq!(refused.field, "units_used");
        assert!(refused.reason.contains("overflow"), "{}", refused.reason);
    }

    #[test]
    fn the_days_of_a_period_are_counted_or_refused_when_they_overflow() {
        assert_eq!(period_days(0, 1), Some(1));
        assert_eq!(period_days(0, MICROS_PER_DAY), Some(1));
        assert_eq!(period_days(0, MICROS_PER_DAY + 1), Some(2));
        assert_eq!(period_days(i64::MIN, i64::MAX), None, "the length overflows");
        assert_eq!(period_days(0, i64::MAX), None, "rounding up overflows");
    }

    #[test]
    fn delivered_units_beyond_the_grant_may_be_reported() {
        let mut entitlement = granted(5);
        entitlement.delivered_units = 7;
        assert!(check(&record(7), Some(&entitlement)).is_ok());
    }

    #[test]
    fn refuses_a_request_with_nothing_granted_here() {
        assert_eq!(
            check(&record(1), Some(&granted(0))).expect_err("nothing").field,
            "access_request_id"
        );
    }

    #[test]
    fn the_period_must_lie_within_the_named_slot_or_any_slot() {
        let mut entitlement = granted(5);
        entitlement.slots = vec![SlotPeriod {
            slot_id: "s-1".into(),
            starts_at: 50,
            ends_at: 150,
        }];
        assert_eq!(
            check(&record(1), Some(&entitlement)).expect_err("outside").field,
            "period_start"
        );
        entitlement.slots[0].ends_at = 250;
        assert!(check(&record(1), Some(&entitlement)).is_ok());
        let mut named = record(1);
        named.slot_id = "s-2".into();
        assert_eq!(
            check(&named, Some(&entitlement)).expect_err("other slot").field,
            "slot_id"
        );
        named.slot_id = "s-1".into();
        assert!(check(&named, Some(&entitlement)).is_ok());
    }

    #[test]
    fn the_fingerprint_changes_with_any_value() {
        let first = record(1);
        let mut second = record(1);
        assert_eq!(first.fingerprint(), second.fingerprint());
        second.new_user = false;
        assert_ne!(first.fingerprint(), second.fingerprint());
    }

    #[test]
    fn the_fingerprint_is_the_digest_of_the_values_as_text_between_unit_separators() {
        // Fingerprints are stored: the way they are computed must never change.
        let text =
            "r-1\x1freq-1\x1finst-1\x1f\x1fu-1\x1forg-1\x1fsme\x1fDE\x1f100\x1f200\x1f7\x1f1\x1fphysical\x1f0\x1f1\x1f";
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(record(7).fingerprint().hex(), expected);
    }

    #[test]
    fn a_stored_fingerprint_reads_back_to_the_same_leading_bits() {
        let fingerprint = record(1).fingerprint();
        assert_eq!(fingerprint.hex().len(), 64);
        assert_eq!(
            Fingerprint::leading_of_hex(&fingerprint.hex()),
            Some(fingerprint.leading())
        );
        assert_eq!(Fingerprint::leading_of_hex("not hex"), None);
        assert_ne!(
            record(1).id_digest(),
            UsageRecord {
                record_id: "r-2".into(),
                ..record(1)
            }
            .id_digest()
        );
    }
}
