//! A slot, the same in both lanes: the operator offers units of the installation's capacity window
//! (allocation holds them in the registry), the applicant accepts, the operator confirms (the
//! request is then scheduled; the applicant may not confirm its own slot) and records what was
//! delivered and lost.

use serde_json::json;

use super::catalogue::{Published, WINDOW_UNITS};
use super::transport::timestamp;
use super::{DAY, Journey, int};

const ALLOCATION: &str = "rti.allocation.v1.AllocationService";

/// The slot's units, and the operator's word on them afterwards.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) units: i64,
    pub(crate) delivered: i64,
    pub(crate) lost: i64,
    pub(crate) lost_reason: &'static str,
}

/// Schedules `request_id` in one slot at `installation` and delivers it; returns the slot's id.
pub(crate) async fn schedule_and_deliver(
    journey: &Journey,
    installation: &Published,
    applicant: &str,
    request_id: &str,
    delivery: &Delivery,
) -> String {
    let operator = &installation.operator;
    let held = journey
        .call(
            operator,
            &format!("{ALLOCATION}/OfferSlot"),
            json!({
                "requestId": uuid::Uuid::now_v7().to_string(),
                "accessRequestId": request_id,
                "installationId": installation.installation_id,
                "windowId": installation.window_id,
                "units": delivery.units.to_string(),
            }),
        )
        .await;
    assert_eq!(held["status"], "SLOT_STATUS_HELD", "{held}");
    assert_eq!(int(&held["units"]), delivery.units, "{held}");
    let slot_id = held["id"].as_str().expect("an id").to_owned();
    let availability = journey
        .call_anonymously(
            "rti.registry.v1.RegistryService/GetAvailability",
            json!({
                "installationId": installation.installation_id,
                "from": timestamp(installation.window_start),
                "to": timestamp(installation.window_start + 7 * DAY),
            }),
        )
        .await;
    assert_eq!(
        int(&availability["windows"][0]["freeUnits"]),
        WINDOW_UNITS - delivery.units,
        "the registry holds the slot's units: {availability}"
    );

    let accepted = journey
        .call(
            applicant,
            &format!("{ALLOCATION}/AcceptSlot"),
            json!({"slotId": slot_id}),
        )
        .await;
    assert_eq!(accepted["status"], "SLOT_STATUS_ACCEPTED", "{accepted}");
    let confirm = format!("{ALLOCATION}/ConfirmSlot");
    journey
        .refused(
            applicant,
            &confirm,
            json!({"slotId": slot_id}),
            tonic::Code::PermissionDenied,
        )
        .await;
    let confirmed = journey.call(operator, &confirm, json!({"slotId": slot_id})).await;
    assert_eq!(confirmed["status"], "SLOT_STATUS_CONFIRMED", "{confirmed}");
    let slots = journey
        .call(
            applicant,
            &format!("{ALLOCATION}/ListSlots"),
            json!({"accessRequestId": request_id}),
        )
        .await;
    assert_eq!(
        slots["scheduled"], true,
        "every requested installation has its slot: {slots}"
    );

    let delivered = journey
        .call(
            operator,
            &format!("{ALLOCATION}/RecordDelivery"),
            json!({
                "slotId": slot_id,
                "deliveredUnits": delivery.delivered.to_string(),
                "lostUnits": delivery.lost.to_string(),
                "lostReason": delivery.lost_reason,
            }),
        )
        .await;
    assert_eq!(delivered["status"], "SLOT_STATUS_DELIVERED", "{delivered}");
    assert_eq!(int(&delivered["deliveredUnits"]), delivery.delivered, "{delivered}");
    assert_eq!(int(&delivered["lostUnits"]), delivery.lost, "{delivered}");
    slot_id
}
