//! Builders for what the registry, intake and allocation would publish: sites of the catalogue,
//! requests along their lanes, allocation lines, slots with their windows and deliveries, and
//! missed decision-clock milestones. Each pushes the events to the stand-in feeds.

use rti_platform::ids::new_id;
use rti_platform::time::timestamp_from_micros;
use rti_proto::allocation as allocation_proto;
use rti_proto::common::event::Payload;
use rti_proto::intake::{self as intake_proto, AccessRequestStatus as Status};
use rti_proto::registry as registry_proto;

use super::World;

/// An installation with its infrastructure and provider.
#[derive(Debug, Clone)]
pub struct Site {
    pub installation: String,
    pub infrastructure: String,
    /// The transnational-access call its proposals go to.
    pub call: String,
}

/// A requesting organisation, as intake's events describe it (no names).
#[derive(Debug, Clone)]
pub struct Requester {
    pub organisation: String,
    pub country: String,
    pub kind: intake_proto::OrganisationKind,
    pub sme: bool,
    pub start_up: bool,
}

pub fn sme(country: &str) -> Requester {
    Requester {
        organisation: new_id(),
        country: country.to_owned(),
        kind: intake_proto::OrganisationKind::Company,
        sme: true,
        start_up: false,
    }
}

pub fn university(country: &str) -> Requester {
    Requester {
        organisation: new_id(),
        country: country.to_owned(),
        kind: intake_proto::OrganisationKind::University,
        sme: false,
        start_up: false,
    }
}

/// What happened to a request, for the builders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Declined,
    Open,
}

impl World {
    /// A published installation of a new infrastructure of a new provider in `provider_country`.
    pub fn site(&self, name: &str, provider_country: &str) -> Site {
        self.site_in_areas(name, provider_country, &[])
    }

    /// A site whose installation works in critical technology areas (SEC-5).
    pub fn site_in_areas(
        &self,
        name: &str,
        provider_country: &str,
        areas: &[registry_proto::CriticalTechnologyArea],
    ) -> Site {
        let site = Site {
            installation: new_id(),
            infrastructure: new_id(),
            call: new_id(),
        };
        let provider = new_id();
        let at = super::JAN_2026;
        let feed = &self.upstream.registry;
        feed.push(
            &provider,
            Payload::ProviderCreated(registry_proto::ProviderCreated {
                provider: Some(registry_proto::Provider {
                    id: provider.clone(),
                    name: format!("Provider of {name}"),
                    country: provider_country.to_owned(),
                    ..Default::default()
                }),
            }),
            at,
        );
        feed.push(
            &site.infrastructure,
            Payload::InfrastructureCreated(registry_proto::InfrastructureCreated {
                infrastructure: Some(registry_proto::Infrastructure {
                    id: site.infrastructure.clone(),
                    provider_id: provider,
                    name: format!("{name} infrastructure"),
                    ..Default::default()
                }),
            }),
            at,
        );
        feed.push(
            &site.installation,
            Payload::InstallationPublished(registry_proto::InstallationPublished {
                installation: Some(registry_proto::Installation {
                    id: site.installation.clone(),
                    infrastructure_id: site.infrastructure.clone(),
                    name: name.to_owned(),
                    countries: vec![provider_country.to_owned()],
                    critical_technology_areas: areas.iter().map(|area| *area as i32).collect(),
                    ..Default::default()
                }),
            }),
            at,
        );
        site
    }

    /// An industrial-lane request for `units` at `site`, submitted at `submitted`, then
    /// accepted or declined at `decided` (or left open). Returns its id.
    pub fn industrial(
        &self,
        requester: &Requester,
        site: &Site,
        units: i64,
        submitted: i64,
        decided: i64,
        outcome: Outcome,
    ) -> String {
        let request = new_id();
        let mut path = vec![
            (Status::Unspecified, Status::Draft, submitted),
            (Status::Draft, Status::Submitted, submitted),
            (Status::Submitted, Status::Screening, submitted),
            (Status::Screening, Status::Feasibility, submitted),
        ];
        match outcome {
            Outcome::Accepted => {
                path.push((Status::Feasibility, Status::Quoted, decided));
                path.push((Status::Quoted, Status::Accepted, decided));
            }
            Outcome::Declined => path.push((Status::Feasibility, Status::Declined, decided)),
            Outcome::Open => {}
        }
        for (from, to, at) in path {
            self.status(
                &request,
                intake_proto::Lane::Industrial,
                requester,
                site,
                units,
                from,
                to,
                at,
            );
        }
        request
    }

    /// A transnational-access proposal for `units` at `site`, in review from `submitted`; when
    /// `granted` is some, the committed allocation grants that many units at `decided` (0: refused).
    #[allow(clippy::too_many_arguments)]
    pub fn proposal(
        &self,
        requester: &Requester,
        site: &Site,
        units: i64,
        submitted: i64,
        decided: i64,
        granted: Option<i64>,
        non_eu_majority: bool,
    ) -> String {
        let request = new_id();
        for (from, to) in [
            (Status::Unspecified, Status::Draft),
            (Status::Draft, Status::Submitted),
            (Status::Submitted, Status::Screening),
            (Status::Screening, Status::Feasibility),
            (Status::Feasibility, Status::InReview),
        ] {
            self.status(
                &request,
                intake_proto::Lane::Transnational,
                requester,
                site,
                units,
                from,
                to,
                submitted,
            );
        }
        if let Some(granted) = granted {
            let decision = if granted == 0 {
                allocation_proto::LineDecision::Refused
            } else if granted < units {
                allocation_proto::LineDecision::Cut
            } else {
                allocation_proto::LineDecision::Granted
            };
            self.upstream.allocation.push(
                &request,
                Payload::AllocationDecided(allocation_proto::AllocationDecided {
                    call_id: new_id(),
                    allocation_id: new_id(),
                    proposal_id: request.clone(),
                    decision: decision as i32,
                    granted: vec![allocation_proto::RequestedUnits {
                        installation_id: site.installation.clone(),
                        units: granted,
                    }],
                    requested: vec![allocation_proto::RequestedUnits {
                        installation_id: site.installation.clone(),
                        units,
                    }],
                    non_eu_majority,
                    organisation_id: requester.organisation.clone(),
                    leader_work_country: requester.country.clone(),
                    explanation: String::new(),
                    decide_time: Some(timestamp_from_micros(decided)),
                }),
                decided,
            );
        }
        request
    }

    /// An industrial-lane request that screening held from `submitted` until `released`, then
    /// let through to feasibility or declined.
    pub fn held(&self, requester: &Requester, site: &Site, submitted: i64, released: i64, declined: bool) -> String {
        let request = new_id();
        let lane = intake_proto::Lane::Industrial;
        let after = if declined {
            Status::Declined
        } else {
            Status::Feasibility
        };
        for (from, to, at, held) in [
            (Status::Unspecified, Status::Draft, submitted, false),
            (Status::Draft, Status::Submitted, submitted, false),
            (Status::Submitted, Status::Screening, submitted, true),
            (Status::Screening, after, released, true),
        ] {
            self.push_status(&request, lane, requester, site, 1, (from, to), at, held);
        }
        request
    }

    #[allow(clippy::too_many_arguments)]
    fn status(
        &self,
        request: &str,
        lane: intake_proto::Lane,
        requester: &Requester,
        site: &Site,
        units: i64,
        from: Status,
        to: Status,
        at: i64,
    ) {
        self.push_status(request, lane, requester, site, units, (from, to), at, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_status(
        &self,
        request: &str,
        lane: intake_proto::Lane,
        requester: &Requester,
        site: &Site,
        units: i64,
        (from, to): (Status, Status),
        at: i64,
        screening_held: bool,
    ) {
        self.upstream.intake.push(
            request,
            Payload::AccessRequestStatusChanged(intake_proto::AccessRequestStatusChanged {
                access_request_id: request.to_owned(),
                from: from as i32,
                to: to as i32,
                lane: lane as i32,
                organisation_id: requester.organisation.clone(),
                requester_kind: requester.kind as i32,
                sme_category: if requester.sme {
                    intake_proto::SmeCategory::Small
                } else {
                    intake_proto::SmeCategory::None
                } as i32,
                start_up: requester.start_up,
                country: requester.country.clone(),
                installations: vec![intake_proto::RequestedInstallation {
                    installation_id: site.installation.clone(),
                    units,
                }],
                call_id: if lane == intake_proto::Lane::Transnational {
                    site.call.clone()
                } else {
                    String::new()
                },
                time: Some(timestamp_from_micros(at)),
                screening_held,
                ..Default::default()
            }),
            at,
        );
    }

    /// The site's call under `grant`, offering `units` there and closing at `closes`.
    pub fn call(&self, site: &Site, grant: &str, units: i64, closes: i64) {
        self.upstream.allocation.push(
            &site.call,
            Payload::CallCreated(allocation_proto::CallCreated {
                call_id: site.call.clone(),
                programme: "HE-INFRA-TA".into(),
                installations: vec![allocation_proto::CallInstallation {
                    installation_id: site.installation.clone(),
                    units,
                    ..Default::default()
                }],
                close_time: Some(timestamp_from_micros(closes)),
                grant_planned_units: units,
                grant_agreement: grant.to_owned(),
                open_time: None,
            }),
            closes,
        );
    }

    /// A slot of `units` held for the request at the site over [starts, ends), offered at
    /// `starts`; when `delivered` is some, delivery of (delivered, lost) units recorded.
    #[allow(clippy::too_many_arguments)]
    pub fn slot(
        &self,
        request: &str,
        site: &Site,
        units: i64,
        starts: i64,
        ends: i64,
        delivered: Option<(i64, i64)>,
    ) -> String {
        let slot = new_id();
        let window = new_id();
        self.upstream.registry.push(
            &site.installation,
            Payload::CapacityReserved(registry_proto::CapacityReserved {
                reservation: Some(registry_proto::Reservation {
                    reservation_id: slot.clone(),
                    window_id: window.clone(),
                    installation_id: site.installation.clone(),
                    units,
                    ..Default::default()
                }),
                window: Some(registry_proto::CapacityWindow {
                    id: window,
                    installation_id: site.installation.clone(),
                    start_time: Some(timestamp_from_micros(starts)),
                    end_time: Some(timestamp_from_micros(ends)),
                    units: units * 10,
                    ..Default::default()
                }),
            }),
            starts,
        );
        let mut changes = vec![(
            allocation_proto::SlotStatus::Unspecified,
            allocation_proto::SlotStatus::Held,
            0,
            0,
        )];
        changes.push((
            allocation_proto::SlotStatus::Held,
            allocation_proto::SlotStatus::Confirmed,
            0,
            0,
        ));
        if let Some((delivered, lost)) = delivered {
            changes.push((
                allocation_proto::SlotStatus::Confirmed,
                allocation_proto::SlotStatus::Delivered,
                delivered,
                lost,
            ));
        }
        for (from, to, delivered_units, lost_units) in changes {
            self.upstream.allocation.push(
                &slot,
                Payload::SlotStatusChanged(allocation_proto::SlotStatusChanged {
                    slot_id: slot.clone(),
                    access_request_id: request.to_owned(),
                    installation_id: site.installation.clone(),
                    units,
                    from: from as i32,
                    to: to as i32,
                    delivered_units,
                    lost_units,
                    time: Some(timestamp_from_micros(starts)),
                    ..Default::default()
                }),
                starts,
            );
        }
        slot
    }

    /// A decision-clock milestone of the request missed, due at `due`.
    pub fn breach(&self, request: &str, milestone: intake_proto::Milestone, due: i64) {
        self.upstream.intake.push(
            request,
            Payload::DecisionClockBreached(intake_proto::DecisionClockBreached {
                access_request_id: request.to_owned(),
                milestone: milestone as i32,
                due_time: Some(timestamp_from_micros(due)),
                ..Default::default()
            }),
            due,
        );
    }
}
