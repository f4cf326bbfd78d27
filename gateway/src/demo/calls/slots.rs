//! Slots of the demo: the operator offers units of a capacity window of the demo calendar (held in
//! the registry), the applicant accepts or declines, the operator confirms and records what was
//! delivered and lost. A slot is offered only when the request has fewer slots than the demo
//! lists (slots are listed in the order they were offered), and each is moved on only from the
//! state before its target, so a reload changes nothing.
//!
//! A held slot lasts 30 days, the longest hold the allocation allows; afterwards the allocation's
//! sweep ends it as expired and frees its units, and a reload leaves it so.

use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as proto, ProposalStatus, SlotStatus};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

use super::{DemoProposal, DemoSlot, SlotTarget, Tokens, eventually, installation_id};
use crate::demo::requests::DemoRequests;
use crate::demo::{DemoCatalogue, MICROS_PER_DAY, authorised};

/// The longest hold the allocation grants: the held slot stays visible as long as it can.
const LONGEST_HOLD_SECONDS: i64 = 30 * 24 * 3600;
/// The demo calendar spans about six months from the week of the first load.
const CALENDAR_DAYS: i64 = 200;

/// The slots of a granted demo proposal.
pub(super) async fn drive(
    channel: Channel,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    demo: &DemoProposal,
    id: &str,
) -> Result<(), tonic::Status> {
    if demo.slots.is_empty() {
        return Ok(());
    }
    let mut client = AllocationServiceClient::new(channel.clone());
    let request = proto::GetProposalRequest { id: id.to_owned() };
    let proposal = client
        .get_proposal(authorised(request, &tokens.admin)?)
        .await?
        .into_inner();
    if proposal.status() != ProposalStatus::Granted {
        return Err(tonic::Status::internal(format!(
            "demo proposal {} ({id}) has slots but is {}",
            demo.number,
            proposal.status().as_str_name()
        )));
    }
    let slots: Vec<(String, &DemoSlot)> = demo
        .slots
        .iter()
        .map(|slot| Ok((installation_id(catalogue, &slot.installation)?.to_owned(), slot)))
        .collect::<Result<_, tonic::Status>>()?;
    let applicant = tokens.applicant(&proposal.organisation_id)?;
    drive_slots(
        channel,
        tokens,
        &applicant,
        id,
        &format!("proposal-{}", demo.number),
        &slots,
    )
    .await
}

/// The slots of the accepted industrial-lane request of intake's demo, once the allocation has
/// received it from intake's events.
pub(super) async fn drive_industrial(
    channel: Channel,
    tokens: &Tokens,
    requests: &DemoRequests,
    demo_slots: &[DemoSlot],
) -> Result<(), tonic::Status> {
    let id = requests.accepted_industrial_request_id.as_str();
    let client = AllocationServiceClient::new(channel.clone());
    let proposal = eventually(&format!("allocation receiving industrial request {id}"), || {
        let mut client = client.clone();
        async move {
            let request = proto::GetProposalRequest { id: id.to_owned() };
            match client.get_proposal(authorised(request, &tokens.admin)?).await {
                Ok(answer) => Ok(Some(answer.into_inner())),
                Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
                Err(status) => Err(status),
            }
        }
    })
    .await?;
    let installation = proposal
        .requested
        .first()
        .map(|part| part.installation_id.clone())
        .ok_or_else(|| tonic::Status::internal(format!("industrial request {id} asks for no installation")))?;
    let slots: Vec<(String, &DemoSlot)> = demo_slots.iter().map(|slot| (installation.clone(), slot)).collect();
    let applicant = tokens.applicant(&proposal.organisation_id)?;
    drive_slots(channel, tokens, &applicant, id, "industrial", &slots).await
}

/// Offers what is missing and moves every slot on to its target, in order.
async fn drive_slots(
    channel: Channel,
    tokens: &Tokens,
    applicant: &str,
    access_request_id: &str,
    key: &str,
    slots: &[(String, &DemoSlot)],
) -> Result<(), tonic::Status> {
    let mut client = AllocationServiceClient::new(channel.clone());
    let mut registry = RegistryServiceClient::new(channel);
    let request = proto::ListSlotsRequest {
        access_request_id: access_request_id.to_owned(),
    };
    let existing = client
        .list_slots(authorised(request, &tokens.admin)?)
        .await?
        .into_inner()
        .slots;
    for (index, (installation, demo)) in slots.iter().enumerate() {
        let slot = match existing.get(index) {
            Some(slot) => slot.clone(),
            None => {
                let window_id = window_for(&mut registry, installation, demo).await?;
                let request = proto::OfferSlotRequest {
                    request_id: format!("demo-slot-{key}-{index}"),
                    access_request_id: access_request_id.to_owned(),
                    installation_id: installation.clone(),
                    window_id,
                    units: demo.units,
                    hold_seconds: if demo.until == SlotTarget::Held {
                        LONGEST_HOLD_SECONDS
                    } else {
                        0
                    },
                };
                client
                    .offer_slot(authorised(request, &tokens.operator)?)
                    .await?
                    .into_inner()
            }
        };
        move_on(&mut client, tokens, applicant, slot, demo).await?;
    }
    Ok(())
}

/// Takes the next step towards the slot's target until it is there, or past it.
async fn move_on(
    client: &mut AllocationServiceClient<Channel>,
    tokens: &Tokens,
    applicant: &str,
    mut slot: proto::Slot,
    demo: &DemoSlot,
) -> Result<(), tonic::Status> {
    use SlotTarget::{Accepted, Confirmed, Declined, Delivered};
    loop {
        let slot_id = slot.id.clone();
        let answer = match (slot.status(), demo.until) {
            (SlotStatus::Held | SlotStatus::Accepted, Declined) => {
                let request = proto::DeclineSlotRequest {
                    slot_id,
                    reason: demo.reason.clone(),
                };
                client.decline_slot(authorised(request, applicant)?).await
            }
            (SlotStatus::Held, Accepted | Confirmed | Delivered) => {
                client
                    .accept_slot(authorised(proto::AcceptSlotRequest { slot_id }, applicant)?)
                    .await
            }
            (SlotStatus::Accepted, Confirmed | Delivered) => {
                let request = proto::ConfirmSlotRequest { slot_id };
                client.confirm_slot(authorised(request, &tokens.operator)?).await
            }
            (SlotStatus::Confirmed, Delivered) => {
                let request = proto::RecordDeliveryRequest {
                    slot_id,
                    delivered_units: demo.delivered,
                    lost_units: demo.lost,
                    lost_reason: demo.lost_reason.clone(),
                };
                client.record_delivery(authorised(request, &tokens.operator)?).await
            }
            _ => return Ok(()),
        };
        slot = answer
            .map_err(|status| {
                tonic::Status::new(
                    status.code(),
                    format!("demo slot {} towards {:?}: {}", slot.id, demo.until, status.message()),
                )
            })?
            .into_inner();
    }
}

/// The first capacity window of the installation, from the demo's index on, with room for the
/// slot's units (downtime closes part of some windows).
async fn window_for(
    registry: &mut RegistryServiceClient<Channel>,
    installation_id: &str,
    demo: &DemoSlot,
) -> Result<String, tonic::Status> {
    let now = now_micros();
    let availability = registry
        .get_availability(registry::GetAvailabilityRequest {
            installation_id: installation_id.to_owned(),
            from: Some(timestamp_from_micros(now)),
            to: Some(timestamp_from_micros(now + CALENDAR_DAYS * MICROS_PER_DAY)),
        })
        .await?
        .into_inner();
    availability
        .windows
        .iter()
        .skip(demo.window)
        .find(|window| window.free_units >= demo.units)
        .map(|window| window.id.clone())
        .ok_or_else(|| {
            tonic::Status::failed_precondition(format!(
                "installation {installation_id} has no capacity window from the {}th on with {} free units",
                demo.window + 1,
                demo.units
            ))
        })
}
