//! Usage demo data for `rti up --demo`: forty-four fictional organisations in twelve countries,
//! each with an accepted industrial-lane request at one of three installations of the demo
//! catalogue, and twelve months of their users' access (December 2025 to November 2026) recorded
//! with the reporting service, so that a funder's view of the demo shows figures, withheld cells
//! and normalised values. Users are pseudonyms, as operators record them. Every organisation,
//! request and record has a fixed id or idempotency key: loading again adds nothing. The usage
//! is dated before the requests were accepted, which real records never are: it is there to be
//! looked at, not to model a history.

use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::reporting as reporting_proto;
use rti_proto::reporting::reporting_service_client::ReportingServiceClient;
use tonic::transport::Channel;

use super::requests::{DemoRequest, IdKind, Step, demo_id, drive, has_eur_tariff_at};
use super::{DemoCatalogue, authorised};

/// Organisations per country: enough in the first six for their users to show, too few in the
/// others, whose cells are withheld.
const COUNTRIES: [(&str, u8); 12] = [
    ("DE", 8),
    ("FR", 6),
    ("IT", 6),
    ("NL", 5),
    ("ES", 5),
    ("PL", 5),
    ("AT", 3),
    ("SE", 2),
    ("PT", 1),
    ("GR", 1),
    ("CZ", 1),
    ("IE", 1),
];
/// The numbers of the usage demo's organisations, contacts and requests start here (the other
/// demo data use the numbers below).
const FIRST_NUMBER: u8 = 40;
const INSTALLATIONS: usize = 3;
/// Units each request is granted: more than its year of records uses.
const UNITS_GRANTED: i64 = 200;
/// 2025-12-01T00:00:00Z, the first of the twelve months of usage.
const FIRST_MONTH: i64 = 1_764_547_200_000_000;
const DAY: i64 = 86_400_000_000;
/// How long the reporting service may take to learn of the accepted requests.
const REPORTING_WAITS: u32 = 120;

/// One organisation of the usage demo.
#[derive(Debug, Clone, Copy)]
struct UsingOrganisation {
    number: u8,
    country: &'static str,
    university: bool,
    /// Which of the chosen installations it uses.
    installation: usize,
    users: u8,
}

/// The first five organisations of a country use the same installation; the rest the next.
fn organisations() -> Vec<UsingOrganisation> {
    let mut number = FIRST_NUMBER;
    let mut organisations = Vec::new();
    for (country_index, (country, count)) in COUNTRIES.into_iter().enumerate() {
        for index in 0..count {
            organisations.push(UsingOrganisation {
                number,
                country,
                university: number.is_multiple_of(3),
                installation: (country_index + usize::from(index >= 5)) % INSTALLATIONS,
                users: 3 + number % 3,
            });
            number += 1;
        }
    }
    organisations
}

/// What the usage demo holds once loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoUsage {
    pub organisations: usize,
    pub records: usize,
}

pub async fn load(channel: Channel, token: &str, catalogue: &DemoCatalogue) -> Result<DemoUsage, tonic::Status> {
    let installations =
        choose_installations(&mut RegistryServiceClient::new(channel.clone()), token, catalogue).await?;
    let mut intake = IntakeServiceClient::new(channel.clone());
    let organisations = organisations();
    for organisation in &organisations {
        register(&mut intake, token, organisation).await?;
    }
    let driven = organisations.iter().map(|organisation| {
        let request = DemoRequest {
            number: organisation.number,
            target: Status::Accepted,
            steps: vec![Step::Submit, Step::Acknowledge, Step::Quote, Step::Accept],
            request: proto::AccessRequest {
                lane: proto::Lane::Industrial.into(),
                organisation_id: demo_id(IdKind::Organisation, organisation.number),
                installations: vec![proto::RequestedInstallation {
                    installation_id: installations[organisation.installation].clone(),
                    units: UNITS_GRANTED,
                }],
                title: "A year of measurements (demo)".into(),
                description: "Demo data: a fictional request whose usage the reporting demo shows.".into(),
                confidentiality: proto::ConfidentialityLevel::Confidential.into(),
                ip_regime: proto::IpRegime::UserOwns.into(),
                agreement_kind: proto::AgreementKind::ServiceContract.into(),
                contact_person_id: demo_id(IdKind::Person, organisation.number),
                ..Default::default()
            },
        };
        drive(intake.clone(), token, request)
    });
    let requests = futures::future::try_join_all(driven).await?;
    let records: Vec<reporting_proto::UsageRecord> = organisations
        .iter()
        .zip(&requests)
        .flat_map(|(organisation, (request_id, _, _))| {
            usage(organisation, request_id, &installations[organisation.installation])
        })
        .collect();
    record(ReportingServiceClient::new(channel), token, &records).await?;
    Ok(DemoUsage {
        organisations: organisations.len(),
        records: records.len(),
    })
}

async fn register(
    intake: &mut IntakeServiceClient<Channel>,
    token: &str,
    organisation: &UsingOrganisation,
) -> Result<(), tonic::Status> {
    let number = organisation.number;
    let (kind, name) = if organisation.university {
        (
            proto::OrganisationKind::University,
            format!("Demo University {number} ({})", organisation.country),
        )
    } else {
        (
            proto::OrganisationKind::Company,
            format!("Demo Instruments {number} ({})", organisation.country),
        )
    };
    let request = proto::RegisterOrganisationRequest {
        request_id: demo_id(IdKind::OrganisationKey, number),
        organisation: Some(proto::Organisation {
            id: demo_id(IdKind::Organisation, number),
            legal_name: format!("{name} (demo)"),
            country: organisation.country.into(),
            kind: kind.into(),
            figures: (!organisation.university).then_some(proto::Figures {
                headcount_awu: 20.0,
                turnover_eur_cents: 300_000_000,
                balance_sheet_eur_cents: 200_000_000,
            }),
            reference_year: 2025,
            ..Default::default()
        }),
    };
    intake.register_organisation(authorised(request, token)?).await?;
    let request = proto::RegisterPersonRequest {
        request_id: demo_id(IdKind::PersonKey, number),
        person: Some(proto::Person {
            id: demo_id(IdKind::Person, number),
            full_name: format!("Demo Contact {number} (demo)"),
            organisation_id: demo_id(IdKind::Organisation, number),
            ..Default::default()
        }),
    };
    intake.register_person(authorised(request, token)?).await?;
    Ok(())
}

/// Twelve months of one organisation's users: each user two days a month, a few units a time.
fn usage(
    organisation: &UsingOrganisation,
    request_id: &str,
    installation_id: &str,
) -> Vec<reporting_proto::UsageRecord> {
    let mut records = Vec::new();
    for user in 0..organisation.users {
        for month in 0..12u8 {
            let start = FIRST_MONTH + i64::from(month) * 30 * DAY + i64::from(user) * 2 * DAY;
            let remote = (organisation.number + user + month).is_multiple_of(4);
            records.push(reporting_proto::UsageRecord {
                record_id: format!("demo-usage-{}-{user}-{month}", organisation.number),
                access_request_id: request_id.to_owned(),
                installation_id: installation_id.to_owned(),
                slot_id: String::new(),
                user_id: format!("demo-user-{}-{user}", organisation.number),
                home_organisation_id: demo_id(IdKind::Organisation, organisation.number),
                home_organisation_type: if organisation.university {
                    reporting_proto::OrganisationType::University
                } else {
                    reporting_proto::OrganisationType::Sme
                } as i32,
                home_country: organisation.country.into(),
                period_start: Some(timestamp_from_micros(start)),
                period_end: Some(timestamp_from_micros(start + 2 * DAY)),
                units_used: 1 + i64::from((user + month) % 3),
                days_on_site: if remote { 0 } else { 2 },
                access_mode: if remote {
                    reporting_proto::AccessMode::Remote
                } else {
                    reporting_proto::AccessMode::Physical
                } as i32,
                eu_funded: false,
                new_user: month == 0,
            });
        }
    }
    records
}

/// Sends the records until the reporting service, which learns of the accepted requests from
/// intake's events, has them all: a record kept before comes back unchanged.
async fn record(
    mut reporting: ReportingServiceClient<Channel>,
    token: &str,
    records: &[reporting_proto::UsageRecord],
) -> Result<(), tonic::Status> {
    for _ in 0..REPORTING_WAITS {
        let stream = futures::stream::iter(records.to_vec());
        let summary = reporting.ingest_usage(authorised(stream, token)?).await?.into_inner();
        if summary.rejected == 0 {
            return Ok(());
        }
        if summary
            .rejections
            .iter()
            .any(|rejection| rejection.field != "access_request_id")
        {
            let first = &summary.rejections[0];
            return Err(tonic::Status::internal(format!(
                "demo usage record {} was refused: {}: {}",
                first.record_id, first.field, first.reason
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(tonic::Status::deadline_exceeded(
        "the reporting service did not learn of the demo's accepted requests within a minute",
    ))
}

/// The first published installations of the catalogue with a EUR tariff in force and no
/// security tags, so that screening clears their requests and they can be quoted.
async fn choose_installations(
    registry: &mut RegistryServiceClient<Channel>,
    token: &str,
    catalogue: &DemoCatalogue,
) -> Result<Vec<String>, tonic::Status> {
    let now = now_micros();
    let mut chosen = Vec::new();
    for id in catalogue.installation_ids.values() {
        if chosen.len() == INSTALLATIONS {
            break;
        }
        let request = registry::GetInstallationRequest { id: id.clone() };
        let installation = registry
            .get_installation(authorised(request, token)?)
            .await?
            .into_inner();
        if installation.status() == registry::InstallationStatus::Published
            && installation.critical_technology_areas.is_empty()
            && installation.dual_use_categories.is_empty()
            && has_eur_tariff_at(registry, token, id, now).await?
        {
            chosen.push(id.clone());
        }
    }
    if chosen.len() < INSTALLATIONS {
        return Err(tonic::Status::failed_precondition(
            "the demo catalogue lacks three published installations with a EUR tariff and no security tags",
        ));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_fit_the_fixed_ids_and_countries_have_their_counts() {
        let organisations = organisations();
        assert_eq!(organisations.len(), 44);
        assert!(organisations.iter().all(|organisation| organisation.number < 100));
        let german_at_home = organisations
            .iter()
            .filter(|organisation| organisation.country == "DE" && organisation.installation == 0)
            .count();
        assert_eq!(
            german_at_home, 5,
            "enough German organisations at one installation to show"
        );
    }

    #[test]
    fn a_year_of_records_stays_within_the_units_granted() {
        for organisation in organisations() {
            let records = usage(&organisation, "request", "installation");
            assert_eq!(records.len(), usize::from(organisation.users) * 12);
            assert!(records.iter().map(|record| record.units_used).sum::<i64>() <= UNITS_GRANTED);
        }
    }
}
