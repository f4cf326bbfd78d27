//! The intake demo's data, `gateway/demo/requests.json`: organisations in proto3 JSON, their
//! people, a user group, and access requests in proto3 JSON with the steps that take each to the
//! state it rests in. Records refer to each other by number; the loader gives each its fixed id
//! ([`demo_id`]) and each request the installations chosen from the catalogue.

use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use serde::Deserialize;

use crate::demo::people::{DemoOrganisation, DemoPerson};

const DATA: &str = include_str!("../../../demo/requests.json");

/// What a fixed id stands for: the ten digits before the number in [`demo_id`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdKind {
    Organisation = 1,
    Person = 2,
    UserGroup = 3,
    Call = 4,
    OrganisationKey = 11,
    PersonKey = 12,
    UserGroupKey = 13,
    AccessRequestKey = 21,
}

/// A fixed UUID (v7-shaped) of the intake demo: `0193d3e0-0000-7000-8000-KKKKKKKKKKNN`, with the
/// kind in K and the number in N.
pub(crate) fn demo_id(kind: IdKind, number: u8) -> String {
    format!("0193d3e0-0000-7000-8000-{:010}{number:02}", kind as u8)
}

/// The fixed id of demo organisation `number`.
pub(super) fn organisation_id(number: u8) -> String {
    demo_id(IdKind::Organisation, number)
}

/// What the loader does to a request, in order; each only while the request is where the step
/// starts from, so that a reload skips what is done.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    /// The requester submits (accepting the agreement); intake screens.
    Submit,
    /// The operator acknowledges (IND-7d).
    Acknowledge,
    /// The operator prices it from the tariffs.
    Quote,
    /// The requester accepts the quote.
    Accept,
    /// The operator closes it once access is delivered.
    Close,
    /// The operator declines it in feasibility, for this reason.
    Decline(String),
    /// The requester withdraws it, for this reason.
    Withdraw(String),
}

/// A demo access request: its number (for its idempotency key), what it asks, the steps that
/// take it to `target`.
#[derive(Debug, Clone)]
pub(crate) struct DemoRequest {
    pub(crate) number: u8,
    pub(crate) target: Status,
    pub(crate) steps: Vec<Step>,
    pub(crate) request: proto::AccessRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestsData {
    #[serde(rename = "_note")]
    pub(super) _note: String,
    /// The organisation the APPLICANT token of the demo acts for.
    pub(super) applicant: u8,
    pub(super) organisations: Vec<DemoOrganisation>,
    /// One contact per organisation (the first person it employs), and colleagues.
    pub(super) people: Vec<DemoPerson>,
    pub(super) user_groups: Vec<DemoGroup>,
    pub(super) requests: Vec<DemoEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoGroup {
    pub(super) number: u8,
    pub(super) name: String,
    /// People by number; the first leads, and the leader's employer registers the group.
    pub(super) members: Vec<u8>,
}

/// Which of the installations chosen from the catalogue a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Chosen {
    /// Published, with a EUR tariff in force, and neither in a critical technology area nor
    /// dual-use: screening clears it and it can be quoted.
    Plain,
    /// Published, in a critical technology area: a request for it is held for a security review.
    Sensitive,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoEntry {
    /// Numbers the request's idempotency key.
    pub(super) number: u8,
    /// The requesting organisation, whose contact is the request's contact person.
    pub(super) organisation: u8,
    /// What every installation the request lists is: the message gives only the units.
    pub(super) installation: Chosen,
    /// The user group of a transnational-access request, by number.
    #[serde(default)]
    pub(super) user_group: Option<u8>,
    /// The call a transnational-access request answers, by number (a fixed id of this demo).
    #[serde(default)]
    pub(super) call: Option<u8>,
    pub(super) target: Status,
    pub(super) steps: Vec<Step>,
    /// In proto3 JSON, without the ids the loader fills in.
    pub(super) request: proto::AccessRequest,
}

/// The installations the requests ask for, chosen among the demo catalogue's.
#[derive(Debug, Clone)]
pub(super) struct Installations {
    pub(super) plain: String,
    pub(super) sensitive: String,
}

impl RequestsData {
    pub(super) fn parse() -> Result<Self, tonic::Status> {
        serde_json::from_str(DATA).map_err(|error| tonic::Status::internal(format!("demo file requests.json: {error}")))
    }

    /// The organisations with their fixed ids, as intake registers them.
    pub(super) fn organisations(&self) -> Vec<proto::RegisterOrganisationRequest> {
        self.organisations
            .iter()
            .map(|demo| {
                demo.registration(
                    demo_id(IdKind::OrganisationKey, demo.number),
                    organisation_id(demo.number),
                )
            })
            .collect()
    }

    /// The people with their fixed ids, as intake registers them.
    pub(super) fn people(&self) -> Vec<proto::RegisterPersonRequest> {
        self.people
            .iter()
            .map(|person| {
                person.registration(
                    demo_id(IdKind::PersonKey, person.number),
                    demo_id(IdKind::Person, person.number),
                    organisation_id(person.employer),
                )
            })
            .collect()
    }

    /// The user groups with their fixed ids, registered by their leader's employer.
    pub(super) fn user_groups(&self) -> Result<Vec<proto::CreateUserGroupRequest>, tonic::Status> {
        self.user_groups
            .iter()
            .map(|group| {
                let (leader, members) = group.members.split_first().ok_or_else(|| {
                    tonic::Status::internal(format!("requests.json: user group {} has no leader", group.number))
                })?;
                Ok(proto::CreateUserGroupRequest {
                    request_id: demo_id(IdKind::UserGroupKey, group.number),
                    user_group: Some(proto::UserGroup {
                        id: demo_id(IdKind::UserGroup, group.number),
                        name: group.name.clone(),
                        leader_person_id: demo_id(IdKind::Person, *leader),
                        member_person_ids: members.iter().map(|number| demo_id(IdKind::Person, *number)).collect(),
                        organisation_id: organisation_id(self.employer(*leader)?),
                        ..Default::default()
                    }),
                })
            })
            .collect()
    }

    /// The access requests, with their ids filled in and asking for `installations`.
    pub(super) fn requests(&self, installations: &Installations) -> Vec<DemoRequest> {
        self.requests
            .iter()
            .map(|entry| {
                let installation_id = match entry.installation {
                    Chosen::Plain => &installations.plain,
                    Chosen::Sensitive => &installations.sensitive,
                };
                let mut request = proto::AccessRequest {
                    organisation_id: organisation_id(entry.organisation),
                    contact_person_id: self.contact(entry.organisation),
                    user_group_id: entry
                        .user_group
                        .map(|number| demo_id(IdKind::UserGroup, number))
                        .unwrap_or_default(),
                    call_id: entry
                        .call
                        .map(|number| demo_id(IdKind::Call, number))
                        .unwrap_or_default(),
                    ..entry.request.clone()
                };
                for requested in &mut request.installations {
                    requested.installation_id.clone_from(installation_id);
                }
                DemoRequest {
                    number: entry.number,
                    target: entry.target,
                    steps: entry.steps.clone(),
                    request,
                }
            })
            .collect()
    }

    /// The contact person of organisation `number`: the first person it employs.
    fn contact(&self, organisation: u8) -> String {
        let number = self
            .people
            .iter()
            .find(|person| person.employer == organisation)
            .map_or(0, |person| person.number);
        demo_id(IdKind::Person, number)
    }

    fn employer(&self, person: u8) -> Result<u8, tonic::Status> {
        self.people
            .iter()
            .find(|candidate| candidate.number == person)
            .map(|candidate| candidate.employer)
            .ok_or_else(|| tonic::Status::internal(format!("requests.json names person {person}, who is not listed")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rti_platform::ids::is_valid_id;

    use super::*;

    fn installations() -> Installations {
        Installations {
            plain: demo_id(IdKind::Call, 98),
            sensitive: demo_id(IdKind::Call, 99),
        }
    }

    #[test]
    fn fixed_ids_are_distinct_uuids() {
        let mut ids = BTreeSet::new();
        for kind in [
            IdKind::Organisation,
            IdKind::Person,
            IdKind::UserGroup,
            IdKind::Call,
            IdKind::OrganisationKey,
            IdKind::PersonKey,
            IdKind::UserGroupKey,
            IdKind::AccessRequestKey,
        ] {
            for number in [1, 2, 10, 99] {
                let id = demo_id(kind, number);
                assert!(is_valid_id(&id), "{id}");
                assert!(ids.insert(id.clone()), "{id} twice");
            }
        }
        assert_eq!(organisation_id(1), "0193d3e0-0000-7000-8000-000000000101");
        assert_eq!(
            demo_id(IdKind::AccessRequestKey, 7),
            "0193d3e0-0000-7000-8000-000000002107"
        );
    }

    #[test]
    fn organisations_are_numbered_in_order_and_of_every_kind() {
        let data = RequestsData::parse().expect("requests.json parses");
        let organisations = data.organisations();
        for (number, request) in (1..).zip(&organisations) {
            let organisation = request.organisation.as_ref().expect("an organisation");
            assert_eq!(organisation.id, organisation_id(number), "{}", organisation.legal_name);
            assert!(organisation.legal_name.ends_with("(demo)"));
        }
        let kinds: BTreeSet<i32> = data.organisations.iter().map(|entry| entry.organisation.kind).collect();
        assert_eq!(
            kinds.len(),
            4,
            "company, university, research organisation, public body"
        );
        let applicant = data
            .organisations
            .iter()
            .find(|entry| entry.number == data.applicant)
            .expect("the applicant organisation is listed");
        assert!(applicant.organisation.start_up.is_some());
        for person in &data.people {
            assert!(person.full_name.ends_with("(demo)"));
            assert!(usize::from(person.employer) <= organisations.len());
        }
        assert!(data.user_groups().is_ok(), "every group has a listed leader");
    }

    #[test]
    fn requests_rest_in_every_state_with_distinct_keys() {
        let data = RequestsData::parse().expect("requests.json parses");
        let requests = data.requests(&installations());
        let targets: BTreeSet<Status> = requests.iter().map(|request| request.target).collect();
        for status in [
            Status::Draft,
            Status::Screening,
            Status::Feasibility,
            Status::Quoted,
            Status::Accepted,
            Status::InReview,
            Status::Closed,
            Status::Declined,
            Status::Withdrawn,
        ] {
            assert!(targets.contains(&status), "{status:?}");
        }
        let numbers: BTreeSet<u8> = requests.iter().map(|request| request.number).collect();
        assert_eq!(numbers.len(), requests.len());
        for request in &requests {
            assert!(request.request.title.ends_with("(demo)"));
            assert!(
                !request.request.contact_person_id.ends_with("00"),
                "every organisation has a contact"
            );
        }
    }

    #[test]
    fn the_file_leaves_the_ids_to_the_loader() {
        let data = RequestsData::parse().expect("requests.json parses");
        for entry in &data.organisations {
            assert!(entry.organisation.id.is_empty(), "organisation {}", entry.number);
        }
        for entry in &data.requests {
            let request = &entry.request;
            assert!(
                request.organisation_id.is_empty()
                    && request.contact_person_id.is_empty()
                    && request.user_group_id.is_empty()
                    && request.call_id.is_empty(),
                "request {}",
                entry.number
            );
            assert!(!request.installations.is_empty(), "request {}", entry.number);
            for requested in &request.installations {
                assert!(requested.installation_id.is_empty(), "request {}", entry.number);
            }
        }
    }
}
