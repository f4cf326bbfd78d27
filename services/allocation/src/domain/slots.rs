//! Slots: an operator's offer of units in a capacity window, held in the registry until the
//! applicant accepts or the hold expires, then confirmed and delivered.

use rti_platform::error::Violations;

use super::states::{Lane, SlotStatus};

/// How long a hold lasts when the operator does not say.
pub const DEFAULT_HOLD_SECONDS: i64 = 7 * 24 * 3600;
/// The longest hold an operator may give.
pub const MAX_HOLD_SECONDS: i64 = 30 * 24 * 3600;
/// The most units one call offers at an installation, or one slot holds: the registry's largest
/// window. Sums of units then stay far from overflowing.
pub const MAX_UNITS: i64 = 1_000_000_000;

/// A slot as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    pub access_request_id: String,
    pub installation_id: String,
    /// The operator's scope: who may confirm and deliver.
    pub infrastructure_id: String,
    pub window_id: String,
    pub units: i64,
    pub status: SlotStatus,
    /// UTC micros.
    pub expire_at: i64,
    /// The request's lane, when read with it.
    pub lane: Option<Lane>,
    pub delivered_units: i64,
    pub lost_units: i64,
    pub lost_reason: String,
    pub reason: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// SEC-3: why the slot is suspended (its request matched a newer sanctions list); empty
    /// when it is not.
    pub suspended_reason: String,
}

impl Slot {
    /// SEC-3: a suspended slot is not accepted, confirmed or delivered; it may still be
    /// declined or expire. The refusal names the reason.
    pub fn suspension_refusal(&self, to: SlotStatus) -> Option<String> {
        let moves_on = matches!(to, SlotStatus::Accepted | SlotStatus::Confirmed | SlotStatus::Delivered);
        (moves_on && !self.suspended_reason.is_empty())
            .then(|| format!("slot {} is suspended: {}", self.id, self.suspended_reason))
    }

    /// Whether the registry's reservation is not yet known to be taken.
    pub fn pending(&self) -> bool {
        self.status == SlotStatus::Pending
    }

    /// A hold whose time is up at `now` (UTC micros).
    pub fn hold_expired(&self, now: i64) -> bool {
        self.status == SlotStatus::Held && self.expire_at <= now
    }
}

/// A new offer, as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    pub slot_id: String,
    pub offer_key: String,
    pub proposal_id: String,
    pub installation_id: String,
    pub infrastructure_id: String,
    pub window_id: String,
    pub units: i64,
    pub expire_at: i64,
    /// Units the proposal may have at this installation (granted, or requested on the industrial lane).
    pub entitled_units: i64,
}

impl NewOffer {
    /// Whether a retry with the same offer key asks the same thing as the stored slot.
    pub fn repeats(&self, slot: &Slot) -> bool {
        slot.access_request_id == self.proposal_id
            && slot.installation_id == self.installation_id
            && slot.window_id == self.window_id
            && slot.units == self.units
    }
}

/// Fields a transition changes; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotUpdate {
    pub delivered_units: Option<i64>,
    pub lost_units: Option<i64>,
    pub lost_reason: Option<String>,
    pub reason: Option<String>,
}

/// Where intake has a request when a slot of it is to be confirmed, after screening it again
/// against the newest sanctions list (SEC-3: "before each allocation and visit").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screened {
    /// Nothing new: the request goes on.
    Cleared,
    /// Held in SCREENING: a new MATCH suspended it, or a new POSSIBLE awaits a person.
    Held,
    /// Declined or withdrawn.
    Ended,
}

/// SEC-3: a slot is confirmed only for a request that screening lets on.
pub fn confirmation_refusal(access_request_id: &str, screened: Screened) -> Option<String> {
    match screened {
        Screened::Cleared => None,
        Screened::Held => Some(format!(
            "request {access_request_id} is held by sanctions screening (SEC-3): a compliance officer reviews it \
             before any slot of it is confirmed"
        )),
        Screened::Ended => Some(format!(
            "request {access_request_id} was declined or withdrawn in intake"
        )),
    }
}

/// The hold an operator asks for, in seconds: 0 means the default (7 days).
pub fn hold_seconds(requested: i64) -> i64 {
    if requested == 0 {
        DEFAULT_HOLD_SECONDS
    } else {
        requested
    }
}

/// The operator's word on a delivered slot: units are not negative, and delivered plus lost
/// units fit in the slot.
pub fn check_delivery(slot_units: i64, delivered_units: i64, lost_units: i64, violations: &mut Violations) {
    if delivered_units < 0 {
        violations.add("delivered_units", "must be 0 or more");
    }
    if lost_units < 0 {
        violations.add("lost_units", "must be 0 or more");
    }
    // Checked: two huge figures must be refused, never wrapped round into a small one.
    if delivered_units
        .checked_add(lost_units)
        .is_none_or(|sum| sum > slot_units)
    {
        violations.add(
            "delivered_units",
            format!("delivered and lost units exceed the slot's {slot_units} units"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_and_lost_units_that_overflow_are_refused_not_wrapped() {
        let mut violations = Violations::new();
        check_delivery(10, i64::MAX, 1, &mut violations);
        check_delivery(10, 6, 4, &mut violations);
        let refused = violations.into_result().expect_err("the overflowing pair");
        assert_eq!(refused.0.len(), 1, "{refused:?}");
    }

    fn slot(suspended_reason: &str) -> Slot {
        Slot {
            id: "slot-1".into(),
            access_request_id: "request-1".into(),
            installation_id: "installation-1".into(),
            infrastructure_id: "infra-1".into(),
            window_id: "window-1".into(),
            units: 4,
            status: SlotStatus::Held,
            expire_at: 0,
            lane: None,
            delivered_units: 0,
            lost_units: 0,
            lost_reason: String::new(),
            reason: String::new(),
            created_at: 0,
            updated_at: 0,
            suspended_reason: suspended_reason.into(),
        }
    }

    #[test]
    fn sec3_a_suspended_slot_is_neither_accepted_confirmed_nor_delivered_but_may_end() {
        let suspended = slot("a party matched FICT.0900");
        for to in [SlotStatus::Accepted, SlotStatus::Confirmed, SlotStatus::Delivered] {
            let refusal = suspended.suspension_refusal(to).expect("refused");
            assert!(refusal.contains("FICT.0900"), "{refusal}");
        }
        for to in [SlotStatus::Declined, SlotStatus::Expired] {
            assert_eq!(suspended.suspension_refusal(to), None, "{to:?}");
        }
        assert_eq!(slot("").suspension_refusal(SlotStatus::Confirmed), None);
    }

    #[test]
    fn sec3_a_slot_is_confirmed_only_for_a_request_screening_lets_on() {
        assert_eq!(confirmation_refusal("request-1", Screened::Cleared), None);
        assert!(confirmation_refusal("request-1", Screened::Held).is_some_and(|refusal| refusal.contains("SEC-3")));
        assert!(confirmation_refusal("request-1", Screened::Ended).is_some());
    }

    #[test]
    fn a_hold_of_zero_seconds_lasts_seven_days() {
        assert_eq!(hold_seconds(0), 7 * 24 * 3600);
        assert_eq!(hold_seconds(60), 60);
    }

    #[test]
    fn rejects_delivery_beyond_the_slots_units() {
        let mut violations = Violations::new();
        check_delivery(10, 8, 3, &mut violations);
        assert!(violations.into_result().is_err());
        let mut violations = Violations::new();
        check_delivery(10, 7, 3, &mut violations);
        assert!(violations.into_result().is_ok());
    }
}
