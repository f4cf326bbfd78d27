//! Slots between the domain and the contract.

use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;

use super::lane_to_proto;
use super::time_to_proto;
use crate::domain::SlotStatus;
use crate::domain::proposals::Proposal;
use crate::domain::slots::Slot;

/// The contract's view of a slot state; a pending slot has none yet.
pub fn slot_status_to_proto(status: SlotStatus) -> proto::SlotStatus {
    proto::SlotStatus::from_str_name(status.as_stored()).unwrap_or_default()
}

pub fn slot_to_proto(slot: Slot) -> proto::Slot {
    proto::Slot {
        status: slot_status_to_proto(slot.status).into(),
        lane: lane_to_proto(slot.lane).into(),
        expire_time: time_to_proto(Some(slot.expire_at)),
        create_time: time_to_proto(Some(slot.created_at)),
        update_time: time_to_proto(Some(slot.updated_at)),
        id: slot.id,
        access_request_id: slot.access_request_id,
        installation_id: slot.installation_id,
        window_id: slot.window_id,
        units: slot.units,
        delivered_units: slot.delivered_units,
        lost_units: slot.lost_units,
        lost_reason: slot.lost_reason,
        reason: slot.reason,
        suspended_reason: slot.suspended_reason,
    }
}

/// What a slot's step publishes.
#[derive(Debug, Clone, Copy)]
pub struct SlotStep {
    pub to: SlotStatus,
    /// Whether every requested installation now has a confirmed slot.
    pub request_scheduled: bool,
    pub delivered_units: i64,
    pub lost_units: i64,
    pub at: i64,
}

/// The event of a slot's step from the state `before` had.
pub fn slot_status_changed(before: &Slot, proposal: &Proposal, step: SlotStep) -> Payload {
    Payload::SlotStatusChanged(proto::SlotStatusChanged {
        slot_id: before.id.clone(),
        access_request_id: proposal.id.clone(),
        call_id: proposal.call_id.clone(),
        lane: lane_to_proto(proposal.lane).into(),
        installation_id: before.installation_id.clone(),
        units: before.units,
        // A pending slot has no state in the contract yet.
        from: slot_status_to_proto(before.status).into(),
        to: slot_status_to_proto(step.to).into(),
        request_scheduled: step.request_scheduled,
        delivered_units: step.delivered_units,
        lost_units: step.lost_units,
        non_eu_majority: proposal.non_eu_majority,
        organisation_id: proposal.organisation_id.clone(),
        time: time_to_proto(Some(step.at)),
    })
}
