//! Events of the other services, as the projections' changes. An event that says nothing
//! reporting keeps becomes no change (its sequence still moves the cursor).

use rti_platform::time::micros_from_timestamp;
use rti_proto::allocation::{LineDecision, SlotStatus as ProtoSlotStatus};
use rti_proto::common::Event;
use rti_proto::common::event::Payload;
use rti_proto::intake::{AccessRequestStatus, ConfidentialityLevel, Lane, OrganisationKind as ProtoKind, SmeCategory};
use rti_proto::registry::Installation;

use crate::domain::lane;
use crate::domain::projection::{Change, OrganisationKind, RequestState, RequestStatus, SlotStatus, requester_type};

pub fn change_of(event: &Event) -> Option<Change> {
    let at = |timestamp: &Option<rti_proto::pbjson_types::Timestamp>| {
        timestamp
            .as_ref()
            .or(event.occurred_at.as_ref())
            .map_or(0, micros_from_timestamp)
    };
    match event.payload.as_ref()? {
        Payload::ProviderCreated(created) => provider(created.provider.as_ref()?),
        Payload::ProviderUpdated(updated) => provider(updated.provider.as_ref()?),
        Payload::InfrastructureCreated(created) => infrastructure(created.infrastructure.as_ref()?),
        Payload::InfrastructureUpdated(updated) => infrastructure(updated.infrastructure.as_ref()?),
        Payload::InstallationCreated(created) => installation(created.installation.as_ref()?),
        Payload::InstallationUpdated(updated) => installation(updated.installation.as_ref()?),
        Payload::InstallationPublished(published) => installation(published.installation.as_ref()?),
        Payload::CapacityReserved(reserved) => {
            let reservation = reserved.reservation.as_ref()?;
            let window = reserved.window.as_ref()?;
            Some(Change::SlotWindow {
                slot_id: reservation.reservation_id.clone(),
                installation_id: reservation.installation_id.clone(),
                starts_at: window.start_time.as_ref().map_or(0, micros_from_timestamp),
                ends_at: window.end_time.as_ref().map_or(0, micros_from_timestamp),
            })
        }
        Payload::AccessRequestStatusChanged(changed) => {
            let kind = match changed.requester_kind() {
                ProtoKind::Company => OrganisationKind::Company,
                ProtoKind::University => OrganisationKind::University,
                ProtoKind::ResearchOrganisation => OrganisationKind::ResearchOrganisation,
                ProtoKind::PublicBody => OrganisationKind::PublicBody,
                ProtoKind::Other | ProtoKind::Unspecified => OrganisationKind::Other,
            };
            let sme = matches!(
                changed.sme_category(),
                SmeCategory::Micro | SmeCategory::Small | SmeCategory::Medium
            );
            Some(Change::RequestStatus(RequestStatus {
                request_id: changed.access_request_id.clone(),
                lane: if changed.lane() == Lane::Industrial {
                    lane::INDUSTRIAL
                } else {
                    lane::TRANSNATIONAL
                },
                organisation_id: changed.organisation_id.clone(),
                home_country: changed.country.clone(),
                requester_type: requester_type(kind, sme, changed.start_up),
                confidential: matches!(
                    changed.confidentiality(),
                    ConfidentialityLevel::Confidential | ConfidentialityLevel::StrictlyConfidential
                ),
                from: state(changed.from()),
                to: state(changed.to()),
                installations: changed
                    .installations
                    .iter()
                    .map(|requested| (requested.installation_id.clone(), requested.units))
                    .collect(),
                call_id: changed.call_id.clone(),
                screening_verdict: changed.screening_verdict().as_str_name().to_owned(),
                screening_held: changed.screening_held,
                at: at(&changed.time),
            }))
        }
        Payload::DecisionClockBreached(breached) => Some(Change::ClockBreach {
            request_id: breached.access_request_id.clone(),
            milestone: breached.milestone().as_str_name().to_owned(),
            due_at: at(&breached.due_time),
        }),
        Payload::CallCreated(created) => Some(Change::Call {
            id: created.call_id.clone(),
            grant_agreement: created.grant_agreement.clone(),
            programme: created.programme.clone(),
            at: at(if created.close_time.is_some() {
                &created.close_time
            } else {
                &created.open_time
            }),
            offered: created
                .installations
                .iter()
                .map(|offered| (offered.installation_id.clone(), offered.units))
                .collect(),
        }),
        Payload::AllocationDecided(decided) => Some(Change::AllocationLine {
            request_id: decided.proposal_id.clone(),
            granted: if decided.decision() == LineDecision::Refused {
                Vec::new()
            } else {
                decided
                    .granted
                    .iter()
                    .filter(|granted| granted.units > 0)
                    .map(|granted| (granted.installation_id.clone(), granted.units))
                    .collect()
            },
            non_eu_majority: decided.non_eu_majority,
            decided_at: at(&decided.decide_time),
        }),
        Payload::SlotStatusChanged(changed) => Some(Change::Slot {
            slot_id: changed.slot_id.clone(),
            request_id: changed.access_request_id.clone(),
            installation_id: changed.installation_id.clone(),
            units: changed.units,
            status: match changed.to() {
                ProtoSlotStatus::Held | ProtoSlotStatus::Unspecified => SlotStatus::Held,
                ProtoSlotStatus::Accepted => SlotStatus::Accepted,
                ProtoSlotStatus::Confirmed => SlotStatus::Confirmed,
                ProtoSlotStatus::Declined => SlotStatus::Declined,
                ProtoSlotStatus::Expired => SlotStatus::Expired,
                ProtoSlotStatus::Delivered => SlotStatus::Delivered,
            },
            delivered_units: changed.delivered_units,
            lost_units: changed.lost_units,
            at: at(&changed.time),
        }),
        _ => None,
    }
}

fn provider(provider: &rti_proto::registry::Provider) -> Option<Change> {
    Some(Change::Provider {
        id: provider.id.clone(),
        country: provider.country.clone(),
    })
}

fn infrastructure(infrastructure: &rti_proto::registry::Infrastructure) -> Option<Change> {
    Some(Change::Infrastructure {
        id: infrastructure.id.clone(),
        provider_id: infrastructure.provider_id.clone(),
        name: infrastructure.name.clone(),
    })
}

fn installation(installation: &Installation) -> Option<Change> {
    Some(Change::Installation {
        id: installation.id.clone(),
        infrastructure_id: installation.infrastructure_id.clone(),
        name: installation.name.clone(),
        critical_areas: installation
            .critical_technology_areas()
            .map(|area| area.as_str_name().to_owned())
            .collect(),
    })
}

fn state(status: AccessRequestStatus) -> RequestState {
    match status {
        AccessRequestStatus::Unspecified | AccessRequestStatus::Draft => RequestState::Draft,
        AccessRequestStatus::Submitted => RequestState::Submitted,
        AccessRequestStatus::Screening => RequestState::Screening,
        AccessRequestStatus::Feasibility | AccessRequestStatus::Quoted => RequestState::Open,
        AccessRequestStatus::Accepted => RequestState::Accepted,
        AccessRequestStatus::InReview => RequestState::InReview,
        AccessRequestStatus::Declined => RequestState::Declined,
        AccessRequestStatus::Withdrawn => RequestState::Withdrawn,
        AccessRequestStatus::Closed => RequestState::Closed,
    }
}
