//! Events of the other services, as the projections' changes. An event that says nothing
//! reporting keeps becomes no change (its sequence still moves the cursor). An event of a type
//! reporting follows that cannot be applied (its payload did not decode at its source, or lacks
//! the subject it is about) is a poison event: it becomes a [`Rejected`] reason, so that the feed
//! records it and moves past it instead of stopping or dropping it without a word.

use rti_platform::time::micros_from_timestamp;
use rti_proto::allocation::{LineDecision, SlotStatus as ProtoSlotStatus};
use rti_proto::common::Event;
use rti_proto::common::event::Payload;
use rti_proto::intake::{AccessRequestStatus, ConfidentialityLevel, Lane, OrganisationKind as ProtoKind, SmeCategory};
use rti_proto::registry::Installation;

use crate::domain::lane;
use crate::domain::projection::{Change, OrganisationKind, RequestState, RequestStatus, SlotStatus, requester_type};

/// Why an event could not be applied: stored with the event's sequence, id and type.
pub type Rejected = &'static str;

const NO_PAYLOAD: Rejected = "no payload: it did not decode where it was written";
const NO_SUBJECT: Rejected = "the payload lacks the record it is about";

pub fn change_of(event: &Event) -> Result<Option<Change>, Rejected> {
    let at = |timestamp: &Option<rti_proto::pbjson_types::Timestamp>| {
        timestamp
            .as_ref()
            .or(event.occurred_at.as_ref())
            .map_or(0, micros_from_timestamp)
    };
    let change = match event.payload.as_ref().ok_or(NO_PAYLOAD)? {
        Payload::ProviderCreated(created) => provider(created.provider.as_ref().ok_or(NO_SUBJECT)?),
        Payload::ProviderUpdated(updated) => provider(updated.provider.as_ref().ok_or(NO_SUBJECT)?),
        Payload::InfrastructureCreated(created) => infrastructure(created.infrastructure.as_ref().ok_or(NO_SUBJECT)?),
        Payload::InfrastructureUpdated(updated) => infrastructure(updated.infrastructure.as_ref().ok_or(NO_SUBJECT)?),
        Payload::InstallationCreated(created) => installation(created.installation.as_ref().ok_or(NO_SUBJECT)?),
        Payload::InstallationUpdated(updated) => installation(updated.installation.as_ref().ok_or(NO_SUBJECT)?),
        Payload::InstallationPublished(published) => installation(published.installation.as_ref().ok_or(NO_SUBJECT)?),
        Payload::CapacityReserved(reserved) => {
            let reservation = reserved.reservation.as_ref().ok_or(NO_SUBJECT)?;
            let window = reserved.window.as_ref().ok_or(NO_SUBJECT)?;
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
    };
    Ok(change)
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

#[cfg(test)]
mod tests {
    use rti_proto::common::Event;
    use rti_proto::common::event::Payload;
    use rti_proto::registry::{Provider, ProviderCreated, TariffSet};

    use super::*;

    fn event(payload: Option<Payload>) -> Event {
        Event {
            sequence: 7,
            id: "event-7".into(),
            r#type: "rti.registry.v1.ProviderCreated".into(),
            payload,
            ..Event::default()
        }
    }

    #[test]
    fn rejects_an_event_whose_payload_did_not_decode() {
        assert_eq!(change_of(&event(None)), Err(NO_PAYLOAD));
    }

    #[test]
    fn rejects_a_created_event_without_the_record_it_is_about() {
        let created = Payload::ProviderCreated(ProviderCreated { provider: None });
        assert_eq!(change_of(&event(Some(created))), Err(NO_SUBJECT));
    }

    #[test]
    fn applies_a_provider_and_ignores_what_reporting_does_not_keep() {
        let created = Payload::ProviderCreated(ProviderCreated {
            provider: Some(Provider {
                id: "p-1".into(),
                country: "DE".into(),
                ..Provider::default()
            }),
        });
        assert_eq!(
            change_of(&event(Some(created))),
            Ok(Some(Change::Provider {
                id: "p-1".into(),
                country: "DE".into()
            }))
        );
        let tariff = Payload::TariffSet(TariffSet::default());
        assert_eq!(change_of(&event(Some(tariff))), Ok(None));
    }
}
