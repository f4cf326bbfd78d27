//! Conversions between the allocation's domain and its protobuf contract: records into
//! responses, event payloads and stored bodies (the store keeps records as the contract's
//! canonical JSON), and back. Domain states and contract enums share their names, so they
//! convert by name. Times are UTC microseconds in the domain.

mod allocations;
mod calls;
mod proposals;
mod slots;

use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::pbjson_types::Timestamp;

pub use self::allocations::{
    allocation_decided, allocation_from_proto, allocation_run_to_proto, allocation_to_proto, ledger_to_proto,
    ranked_to_proto,
};
pub use self::calls::{
    call_created, call_from_proto, call_to_proto, criterion_from_proto, installation_from_proto,
    panel_member_from_proto, panel_member_to_proto, panel_to_proto, rulebook_amended, rulebook_from_proto,
    rulebook_to_proto,
};
pub use self::proposals::{
    eligibility_evaluated, feasibility_to_proto, industrial_proposal, lane_to_proto, proposal_from_intake,
    proposal_from_proto, proposal_status_to_proto, proposal_to_proto, review_from_proto, review_to_proto,
    score_from_proto,
};
pub use self::slots::{SlotStep, slot_status_changed, slot_status_to_proto, slot_to_proto};
use crate::domain::eligibility::Outcome;

pub fn time_to_proto(micros: Option<i64>) -> Option<Timestamp> {
    micros.map(timestamp_from_micros)
}

pub fn time_from_proto(timestamp: Option<&Timestamp>) -> Option<i64> {
    timestamp.map(micros_from_timestamp)
}

pub fn outcome_to_proto(outcome: Option<Outcome>) -> proto::EligibilityOutcome {
    match outcome {
        None => proto::EligibilityOutcome::Unspecified,
        Some(Outcome::Pass) => proto::EligibilityOutcome::Pass,
        Some(Outcome::Warn) => proto::EligibilityOutcome::Warn,
        Some(Outcome::Fail) => proto::EligibilityOutcome::Fail,
    }
}

pub fn outcome_from_proto(outcome: proto::EligibilityOutcome) -> Option<Outcome> {
    match outcome {
        proto::EligibilityOutcome::Pass => Some(Outcome::Pass),
        proto::EligibilityOutcome::Warn => Some(Outcome::Warn),
        proto::EligibilityOutcome::Fail => Some(Outcome::Fail),
        proto::EligibilityOutcome::Unspecified => None,
    }
}
