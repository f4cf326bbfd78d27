//! Intake demo data for `rti up --demo`: a fictional sanctions list (`gateway/demo/sanctions.xml`),
//! organisations of every kind and size, their people, a transnational-access user group, and
//! access requests in every state (`gateway/demo/requests.json`, read by `data`), loaded through
//! the gateway after the demo catalogue ([`super::catalogue`]), as the demo loader (an admin, who
//! acts for any organisation). Every record has a fixed id or idempotency key, and each request is
//! read back before it is driven on (`drive`): a step is taken only when the request is still
//! before it, so loading again (a restart) adds and changes nothing. Every name is invented and
//! marked "(demo)"; none is meant to resemble a real body or a name on the sanctions list.

mod data;
mod drive;

use std::collections::BTreeMap;
use std::fmt;

use rti_platform::time::now_micros;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

pub(crate) use data::{DemoRequest, IdKind, Step, demo_id};
use data::{Installations, RequestsData, organisation_id};
use drive::short_name;
pub(crate) use drive::{drive, has_eur_tariff_at};

use super::{DemoCatalogue, authorised};

/// A fictional sanctions list in the EU XML shape (every name invented; a copy of intake's test
/// fixture, so that the demo does not depend on intake's tests). Importing the same file again
/// returns the version already stored.
const SANCTIONS_XML: &str = include_str!("../../demo/sanctions.xml");

/// What the intake demo holds once loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoRequests {
    pub organisations: usize,
    pub people: usize,
    /// Access requests by status, in the order of the status machine.
    pub by_status: BTreeMap<Status, usize>,
    /// The start-up the APPLICANT token of the demo acts for.
    pub applicant_organisation_id: String,
    pub applicant_organisation_name: String,
    /// The accepted industrial-lane request, for which the allocation demo offers slots.
    pub accepted_industrial_request_id: String,
}

impl DemoRequests {
    pub fn requests(&self) -> usize {
        self.by_status.values().sum()
    }
}

/// `8 organisations, 10 access requests (DRAFT 1, SCREENING 1, …)`.
impl fmt::Display for DemoRequests {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(status, count)| format!("{} {count}", short_name(*status)))
            .collect();
        write!(
            formatter,
            "{} organisations, {} people, {} access requests ({})",
            self.organisations,
            self.people,
            self.requests(),
            statuses.join(", ")
        )
    }
}

/// Loads the intake demo through the gateway at `channel`, as an admin, after the demo
/// catalogue: the requests ask for `catalogue`'s installations.
pub async fn load(channel: Channel, token: &str, catalogue: &DemoCatalogue) -> Result<DemoRequests, tonic::Status> {
    let data = RequestsData::parse()?;
    let mut client = IntakeServiceClient::new(channel.clone());
    let installations = choose_installations(&mut RegistryServiceClient::new(channel), token, catalogue).await?;
    let request = proto::ImportSanctionsListRequest {
        format: proto::SanctionsListFormat::Xml.into(),
        content: SANCTIONS_XML.as_bytes().to_vec(),
    };
    client.import_sanctions_list(authorised(request, token)?).await?;

    let organisations = data.organisations();
    let mut loaded = DemoRequests {
        organisations: organisations.len(),
        people: data.people.len(),
        applicant_organisation_id: organisation_id(data.applicant),
        ..DemoRequests::default()
    };
    for request in organisations {
        let registered = client
            .register_organisation(authorised(request, token)?)
            .await?
            .into_inner();
        if registered.id == loaded.applicant_organisation_id {
            loaded.applicant_organisation_name = registered.legal_name;
        }
    }
    for request in data.people() {
        client.register_person(authorised(request, token)?).await?;
    }
    for request in data.user_groups()? {
        client.create_user_group(authorised(request, token)?).await?;
    }

    let driven = data
        .requests(&installations)
        .into_iter()
        .map(|demo| drive(client.clone(), token, demo));
    for (id, lane, status) in futures::future::try_join_all(driven).await? {
        *loaded.by_status.entry(status).or_default() += 1;
        if lane == proto::Lane::Industrial && status == Status::Accepted {
            loaded.accepted_industrial_request_id = id;
        }
    }
    Ok(loaded)
}

/// The first installations of the catalogue, by key, that suit the requests, as the registry
/// describes them through the gateway.
async fn choose_installations(
    registry: &mut RegistryServiceClient<Channel>,
    token: &str,
    catalogue: &DemoCatalogue,
) -> Result<Installations, tonic::Status> {
    let now = now_micros();
    let (mut plain, mut sensitive) = (None, None);
    for id in catalogue.installation_ids.values() {
        if plain.is_some() && sensitive.is_some() {
            break;
        }
        let request = registry::GetInstallationRequest { id: id.clone() };
        let installation = registry
            .get_installation(authorised(request, token)?)
            .await?
            .into_inner();
        if installation.status() != registry::InstallationStatus::Published {
            continue;
        }
        if !installation.critical_technology_areas.is_empty() {
            sensitive.get_or_insert_with(|| id.clone());
        } else if plain.is_none()
            && installation.dual_use_categories.is_empty()
            && has_eur_tariff_at(registry, token, id, now).await?
        {
            plain = Some(id.clone());
        }
    }
    match (plain, sensitive) {
        (Some(plain), Some(sensitive)) => Ok(Installations { plain, sensitive }),
        _ => Err(tonic::Status::failed_precondition(
            "the demo catalogue lacks a published installation with a EUR tariff in force and no security tags, \
             or one in a critical technology area",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_requests_by_status_in_lifecycle_order() {
        let summary = DemoRequests {
            organisations: 8,
            people: 9,
            by_status: [(Status::Withdrawn, 1), (Status::Draft, 2), (Status::InReview, 1)]
                .into_iter()
                .collect(),
            ..DemoRequests::default()
        };
        assert_eq!(
            summary.to_string(),
            "8 organisations, 9 people, 4 access requests (DRAFT 2, IN_REVIEW 1, WITHDRAWN 1)"
        );
    }

    #[test]
    fn the_sanctions_list_is_fictional() {
        assert!(SANCTIONS_XML.contains("FICTIONAL"));
    }
}
