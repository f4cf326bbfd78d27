//! Intake demo data for `rti up --demo`: a fictional sanctions list, organisations of every kind
//! and size, their people, a transnational-access user group, and access requests in every state,
//! loaded through the gateway after the demo catalogue ([`super::catalogue`]), as the demo loader (an
//! admin, who acts for any organisation). Every record has a fixed id or idempotency key, and each
//! request is read back before it is driven on: a step is taken only when the request is still
//! before it, so loading again (a restart) adds and changes nothing. Every name is invented and
//! marked "(demo)"; none is meant to resemble a real body or a name on the sanctions list.

use std::collections::BTreeMap;
use std::fmt;

use rti_platform::time::{micros_from_timestamp, now_micros};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

use crate::demo::{DemoCatalogue, authorised};

/// A fictional sanctions list in the EU XML shape (every name invented; a copy of intake's test
/// fixture, so that the demo does not depend on intake's tests).
/// Importing the same file again returns the version already stored.
const SANCTIONS_XML: &str = include_str!("../../demo/sanctions.xml");

/// How long quotes of the demo stay open, in days (the most intake allows).
const QUOTE_VALID_DAYS: i32 = 180;

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

// The organisations, by number.
const MICRO: u8 = 1;
const START_UP: u8 = 2;
const MEDIUM: u8 = 3;
const LARGE: u8 = 4;
const UNIVERSITY: u8 = 5;
const RESEARCH: u8 = 6;
const PUBLIC_BODY: u8 = 7;
const RUSSIAN_OWNED: u8 = 8;

/// The fixed id of demo organisation `number`.
fn organisation_id(number: u8) -> String {
    demo_id(IdKind::Organisation, number)
}

/// The id of the primary demo organisation: the start-up the demo's APPLICANT token acts for.
pub fn applicant_organisation_id() -> String {
    organisation_id(START_UP)
}

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

/// `ACCESS_REQUEST_STATUS_IN_REVIEW` → `IN_REVIEW`.
fn short_name(status: Status) -> &'static str {
    let name = status.as_str_name();
    name.strip_prefix("ACCESS_REQUEST_STATUS_").unwrap_or(name)
}

fn figures(headcount_awu: f64, turnover_eur: i64, balance_sheet_eur: i64) -> Option<proto::Figures> {
    Some(proto::Figures {
        headcount_awu,
        turnover_eur_cents: turnover_eur * 100,
        balance_sheet_eur_cents: balance_sheet_eur * 100,
    })
}

fn company(number: u8, legal_name: &str, country: &str, legal_form: &str) -> proto::Organisation {
    proto::Organisation {
        id: organisation_id(number),
        legal_name: legal_name.into(),
        country: country.into(),
        kind: proto::OrganisationKind::Company.into(),
        legal_form: legal_form.into(),
        reference_year: 2025,
        ..Default::default()
    }
}

fn body(number: u8, legal_name: &str, country: &str, kind: proto::OrganisationKind) -> proto::Organisation {
    proto::Organisation {
        id: organisation_id(number),
        legal_name: legal_name.into(),
        country: country.into(),
        kind: kind.into(),
        ..Default::default()
    }
}

/// One organisation of every kind, and companies of every size: intake computes the SME category,
/// the start-up status and the reasons from these figures (SME-1 to SME-4).
fn organisations() -> Vec<proto::Organisation> {
    vec![
        proto::Organisation {
            figures: figures(6.0, 900_000, 500_000),
            ..company(MICRO, "Fjordlys Sensorikk AS (demo)", "NO", "AS")
        },
        proto::Organisation {
            figures: figures(18.0, 2_400_000, 1_600_000),
            start_up: Some(proto::StartUpEvidence {
                founded_on: "2022-03-15".into(),
                innovative: true,
                growth: true,
            }),
            ..company(START_UP, "Lindenquell Mikrofluidik GmbH (demo)", "DE", "GmbH")
        },
        // Small on its own figures; the partner's 30 % share of its figures makes it medium (SME-2).
        proto::Organisation {
            figures: figures(40.0, 8_000_000, 6_000_000),
            holdings: vec![proto::Holding {
                name: "Altozano Capital Socios SL (demo)".into(),
                country: "ES".into(),
                figures: figures(300.0, 60_000_000, 40_000_000),
                share_percent: 30.0,
                owner: true,
                ..Default::default()
            }],
            ..company(MEDIUM, "Tejadura Componentes SL (demo)", "ES", "SL")
        },
        proto::Organisation {
            figures: figures(1_200.0, 400_000_000, 350_000_000),
            ..company(LARGE, "Dijkvaart Werktuigbouw BV (demo)", "NL", "BV")
        },
        body(
            UNIVERSITY,
            "Università di Valcastagno (demo)",
            "IT",
            proto::OrganisationKind::University,
        ),
        body(
            RESEARCH,
            "Instytut Badawczy Zielonomost (demo)",
            "PL",
            proto::OrganisationKind::ResearchOrganisation,
        ),
        proto::Organisation {
            public_control_percent: 100.0,
            ..body(
                PUBLIC_BODY,
                "Agence régionale de la Vallée Brumeuse (demo)",
                "FR",
                proto::OrganisationKind::PublicBody,
            )
        },
        // 60 % owned by a holding established in Russia: ineligible (CTRY-5), declined at screening.
        proto::Organisation {
            figures: figures(80.0, 15_000_000, 12_000_000),
            holdings: vec![proto::Holding {
                name: "Taigaport Kapital Holding (demo)".into(),
                country: "RU".into(),
                figures: figures(2_000.0, 500_000_000, 700_000_000),
                share_percent: 60.0,
                owner: true,
                ..Default::default()
            }],
            ..company(RUSSIAN_OWNED, "Alpenkiesel Werkstoffe GmbH (demo)", "AT", "GmbH")
        },
    ]
}

/// The people, by number: one contact per organisation, and a colleague of the start-up's contact.
/// The start-up's user group is its contact (the leader), the colleague and the research
/// organisation's contact.
const PEOPLE: [(u8, &str, u8); 9] = [
    (1, "Ingrid Fjellvik (demo)", MICRO),
    (2, "Mareike Quellenberg (demo)", START_UP),
    (3, "Tobias Lindwurm (demo)", START_UP),
    (4, "Lucía Terranegra (demo)", MEDIUM),
    (5, "Pieter van Oudevaart (demo)", LARGE),
    (6, "Chiara Montefosco (demo)", UNIVERSITY),
    (7, "Agnieszka Wrzosomirska (demo)", RESEARCH),
    (8, "Margaux Brumevault (demo)", PUBLIC_BODY),
    (9, "Florian Kieselbauer (demo)", RUSSIAN_OWNED),
];

/// The contact person of organisation `number`: the first person it employs.
fn contact(organisation: u8) -> String {
    let number = PEOPLE
        .iter()
        .find(|(_, _, employer)| *employer == organisation)
        .map_or(0, |(number, _, _)| *number);
    demo_id(IdKind::Person, number)
}

const USER_GROUP: u8 = 1;
const USER_GROUP_LEADER: u8 = 2;
const USER_GROUP_MEMBERS: [u8; 2] = [3, 7];

/// What the loader does to a request, in order; each only while the request is where the step
/// starts from, so that a reload skips what is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Decline(&'static str),
    /// The requester withdraws it, for this reason.
    Withdraw(&'static str),
}

/// A demo access request: its number (for its idempotency key), what it asks, the steps that
/// take it to `target`.
#[derive(Debug, Clone)]
pub(crate) struct DemoRequest {
    pub(crate) number: u8,
    pub(crate) target: Status,
    pub(crate) steps: &'static [Step],
    pub(crate) request: proto::AccessRequest,
}

/// The installations the requests ask for, chosen among the demo catalogue's.
#[derive(Debug, Clone)]
struct Installations {
    /// Published, with a EUR tariff in force, and neither in a critical technology area nor
    /// dual-use: screening clears it and it can be quoted.
    plain: String,
    /// Published, in a critical technology area: a request for it is held for a security review.
    sensitive: String,
}

#[allow(clippy::too_many_arguments)]
fn industrial(
    organisation: u8,
    installation: &str,
    units: i64,
    title: &str,
    description: &str,
    agreement_kind: proto::AgreementKind,
    ip_regime: proto::IpRegime,
    confidentiality: proto::ConfidentialityLevel,
) -> proto::AccessRequest {
    proto::AccessRequest {
        lane: proto::Lane::Industrial.into(),
        organisation_id: organisation_id(organisation),
        installations: vec![proto::RequestedInstallation {
            installation_id: installation.to_owned(),
            units,
        }],
        title: format!("{title} (demo)"),
        description: format!("{description} Demo data: a fictional request."),
        confidentiality: confidentiality.into(),
        ip_regime: ip_regime.into(),
        agreement_kind: agreement_kind.into(),
        contact_person_id: contact(organisation),
        ..Default::default()
    }
}

/// Ten requests, at least one in every state a request can rest in.
fn requests(installations: &Installations) -> Vec<DemoRequest> {
    use proto::AgreementKind::{Collaborative, Nda, ServiceContract};
    use proto::ConfidentialityLevel::{Confidential, Public, StrictlyConfidential};
    use proto::IpRegime::{Joint, OpenDissemination, UserOwns};
    let plain = installations.plain.as_str();
    vec![
        DemoRequest {
            number: 1,
            target: Status::Draft,
            steps: &[],
            request: industrial(
                START_UP,
                plain,
                2,
                "Bonding trials for microfluidic chips",
                "Two units to test the bonding of glass and polymer layers of a lab-on-chip prototype.",
                ServiceContract,
                UserOwns,
                Confidential,
            ),
        },
        DemoRequest {
            number: 2,
            target: Status::Screening,
            steps: &[Step::Submit],
            request: proto::AccessRequest {
                end_use_statement: "Civil research on sensor materials; no results leave the EU.".into(),
                ..industrial(
                    RESEARCH,
                    &installations.sensitive,
                    1,
                    "Process trials for a sensor housing",
                    "One unit in a critical technology area: the request waits for a security review (SEC-5).",
                    Collaborative,
                    Joint,
                    Confidential,
                )
            },
        },
        DemoRequest {
            number: 3,
            target: Status::Feasibility,
            steps: &[Step::Submit, Step::Acknowledge],
            request: industrial(
                MEDIUM,
                plain,
                3,
                "Qualification runs for a valve housing",
                "Three units to qualify a new valve housing; the operator acknowledged and checks feasibility.",
                Nda,
                UserOwns,
                StrictlyConfidential,
            ),
        },
        DemoRequest {
            number: 4,
            target: Status::Quoted,
            steps: &[Step::Submit, Step::Acknowledge, Step::Quote],
            request: industrial(
                LARGE,
                plain,
                3,
                "Pilot series measurements",
                "Three units for a pilot series; a large company is quoted the market price.",
                ServiceContract,
                UserOwns,
                Confidential,
            ),
        },
        DemoRequest {
            number: 5,
            target: Status::Accepted,
            steps: &[Step::Submit, Step::Acknowledge, Step::Quote, Step::Accept],
            request: industrial(
                START_UP,
                plain,
                3,
                "Prototype validation for a diagnostic chip",
                "Three units at the start-up price; the discount is de minimis aid in the start-up's ledger.",
                ServiceContract,
                UserOwns,
                Confidential,
            ),
        },
        DemoRequest {
            number: 6,
            target: Status::Closed,
            steps: &[Step::Submit, Step::Acknowledge, Step::Quote, Step::Accept, Step::Close],
            request: industrial(
                MICRO,
                plain,
                2,
                "Calibration of a fjord water sensor",
                "Two units at the SME price, delivered and closed.",
                ServiceContract,
                UserOwns,
                Confidential,
            ),
        },
        DemoRequest {
            number: 7,
            target: Status::Declined,
            steps: &[Step::Submit],
            request: industrial(
                RUSSIAN_OWNED,
                plain,
                2,
                "Surface treatment tests",
                "Declined at screening: the company is 60 % owned from Russia (CTRY-5).",
                ServiceContract,
                UserOwns,
                Confidential,
            ),
        },
        DemoRequest {
            number: 8,
            target: Status::Declined,
            steps: &[
                Step::Submit,
                Step::Acknowledge,
                Step::Decline(
                    "The measurement campaign needs a sample environment the installation does not offer (demo).",
                ),
            ],
            request: industrial(
                UNIVERSITY,
                plain,
                4,
                "Joint measurement campaign on chestnut-wood composites",
                "A collaborative campaign the operator found not feasible.",
                Collaborative,
                Joint,
                Public,
            ),
        },
        DemoRequest {
            number: 9,
            target: Status::InReview,
            steps: &[Step::Submit],
            request: proto::AccessRequest {
                lane: proto::Lane::Transnational.into(),
                user_group_id: demo_id(IdKind::UserGroup, USER_GROUP),
                call_id: demo_id(IdKind::Call, 1),
                ..industrial(
                    START_UP,
                    plain,
                    2,
                    "Transnational access for a microfluidics user group",
                    "A user group of the start-up and a research institute proposes work whose results it will publish.",
                    proto::AgreementKind::TaUserAgreement,
                    OpenDissemination,
                    Public,
                )
            },
        },
        DemoRequest {
            number: 10,
            target: Status::Withdrawn,
            steps: &[
                Step::Submit,
                Step::Withdraw("The regional project was postponed (demo)."),
            ],
            request: industrial(
                PUBLIC_BODY,
                plain,
                2,
                "Air quality sensor benchmark",
                "Submitted, then withdrawn by the requester.",
                Nda,
                UserOwns,
                Public,
            ),
        },
    ]
}

/// Loads the intake demo through the gateway at `channel`, as an admin, after the demo
/// catalogue: the requests ask for `catalogue`'s installations.
pub async fn load(channel: Channel, token: &str, catalogue: &DemoCatalogue) -> Result<DemoRequests, tonic::Status> {
    let mut client = IntakeServiceClient::new(channel.clone());
    let installations = choose_installations(&mut RegistryServiceClient::new(channel), token, catalogue).await?;
    let request = proto::ImportSanctionsListRequest {
        format: proto::SanctionsListFormat::Xml.into(),
        content: SANCTIONS_XML.as_bytes().to_vec(),
    };
    client.import_sanctions_list(authorised(request, token)?).await?;

    let organisations = organisations();
    let mut loaded = DemoRequests {
        organisations: organisations.len(),
        people: PEOPLE.len(),
        applicant_organisation_id: applicant_organisation_id(),
        ..DemoRequests::default()
    };
    for (number, organisation) in (1..).zip(organisations) {
        let request = proto::RegisterOrganisationRequest {
            request_id: demo_id(IdKind::OrganisationKey, number),
            organisation: Some(organisation),
        };
        let registered = client
            .register_organisation(authorised(request, token)?)
            .await?
            .into_inner();
        if registered.id == loaded.applicant_organisation_id {
            loaded.applicant_organisation_name = registered.legal_name;
        }
    }
    for (number, full_name, employer) in PEOPLE {
        let request = proto::RegisterPersonRequest {
            request_id: demo_id(IdKind::PersonKey, number),
            person: Some(proto::Person {
                id: demo_id(IdKind::Person, number),
                full_name: full_name.into(),
                organisation_id: organisation_id(employer),
                ..Default::default()
            }),
        };
        client.register_person(authorised(request, token)?).await?;
    }
    let request = proto::CreateUserGroupRequest {
        request_id: demo_id(IdKind::UserGroupKey, USER_GROUP),
        user_group: Some(proto::UserGroup {
            id: demo_id(IdKind::UserGroup, USER_GROUP),
            name: "Microfluidic sensor team (demo)".into(),
            leader_person_id: demo_id(IdKind::Person, USER_GROUP_LEADER),
            member_person_ids: USER_GROUP_MEMBERS
                .iter()
                .map(|number| demo_id(IdKind::Person, *number))
                .collect(),
            organisation_id: organisation_id(START_UP),
            ..Default::default()
        }),
    };
    client.create_user_group(authorised(request, token)?).await?;

    let driven = requests(&installations)
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

pub(crate) async fn has_eur_tariff_at(
    registry: &mut RegistryServiceClient<Channel>,
    token: &str,
    installation_id: &str,
    at: i64,
) -> Result<bool, tonic::Status> {
    let request = registry::ListTariffsRequest {
        installation_id: installation_id.to_owned(),
    };
    let tariffs = registry
        .list_tariffs(authorised(request, token)?)
        .await?
        .into_inner()
        .tariffs;
    Ok(tariffs.iter().any(|tariff| {
        let starts = tariff.valid_from.as_ref().map_or(i64::MAX, micros_from_timestamp);
        let ends = tariff.valid_to.as_ref().map_or(i64::MAX, micros_from_timestamp);
        starts <= at
            && at < ends
            && tariff
                .price_per_unit
                .as_ref()
                .is_some_and(|price| price.currency == "EUR")
    }))
}

fn is_final(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Declined | Status::Withdrawn)
}

fn acknowledged(request: &proto::AccessRequest) -> bool {
    request
        .deadlines
        .as_ref()
        .is_some_and(|deadlines| deadlines.acknowledge_time.is_some())
}

/// Creates a demo request (once, by its idempotency key), reads it, and takes the steps it is
/// still before; returns its id, lane and the status it rests in, which must be its target.
pub(crate) async fn drive(
    mut client: IntakeServiceClient<Channel>,
    token: &str,
    demo: DemoRequest,
) -> Result<(String, proto::Lane, Status), tonic::Status> {
    let request = proto::CreateAccessRequestRequest {
        idempotency_key: demo_id(IdKind::AccessRequestKey, demo.number),
        access_request: Some(demo.request),
    };
    let id = client
        .create_access_request(authorised(request, token)?)
        .await?
        .into_inner()
        .id;
    let mut request = client
        .get_access_request(authorised(proto::GetAccessRequestRequest { id: id.clone() }, token)?)
        .await?
        .into_inner();
    for step in demo.steps {
        let status = request.status();
        let id = id.clone();
        let answer = match *step {
            Step::Submit if status == Status::Draft => {
                let accept_agreement = request.lane() == proto::Lane::Industrial;
                let message = proto::SubmitAccessRequestRequest { id, accept_agreement };
                client.submit_access_request(authorised(message, token)?).await
            }
            Step::Acknowledge if status == Status::Feasibility && !acknowledged(&request) => {
                let message = proto::AcknowledgeAccessRequestRequest { id };
                client.acknowledge_access_request(authorised(message, token)?).await
            }
            Step::Quote if status == Status::Feasibility => {
                let message = proto::QuoteAccessRequestRequest {
                    id,
                    valid_days: QUOTE_VALID_DAYS,
                };
                client.quote_access_request(authorised(message, token)?).await
            }
            Step::Accept if status == Status::Quoted => {
                let message = proto::AcceptQuoteRequest { id };
                client.accept_quote(authorised(message, token)?).await
            }
            Step::Close if status == Status::Accepted => {
                let message = proto::CloseAccessRequestRequest {
                    id,
                    reason: "Access delivered (demo).".into(),
                };
                client.close_access_request(authorised(message, token)?).await
            }
            Step::Decline(reason) if matches!(status, Status::Feasibility | Status::Quoted) => {
                let message = proto::DeclineAccessRequestRequest {
                    id,
                    reason: reason.into(),
                };
                client.decline_access_request(authorised(message, token)?).await
            }
            Step::Withdraw(reason) if !is_final(status) => {
                let message = proto::WithdrawAccessRequestRequest {
                    id,
                    reason: reason.into(),
                };
                client.withdraw_access_request(authorised(message, token)?).await
            }
            _ => continue,
        };
        request = answer
            .map_err(|status| {
                tonic::Status::new(
                    status.code(),
                    format!("demo access request {}, {step:?}: {}", demo.number, status.message()),
                )
            })?
            .into_inner();
    }
    let status = request.status();
    if status != demo.target {
        let why = request.history.last().map_or("", |step| step.reason.as_str());
        return Err(tonic::Status::internal(format!(
            "demo access request {} ({id}) is {} where the demo expects {}: {why}",
            demo.number,
            short_name(status),
            short_name(demo.target)
        )));
    }
    Ok((id, request.lane(), status))
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
        let organisations = organisations();
        for (number, organisation) in (1..).zip(&organisations) {
            assert_eq!(organisation.id, organisation_id(number), "{}", organisation.legal_name);
            assert!(organisation.legal_name.ends_with("(demo)"));
        }
        let kinds: BTreeSet<i32> = organisations.iter().map(|organisation| organisation.kind).collect();
        assert_eq!(
            kinds.len(),
            4,
            "company, university, research organisation, public body"
        );
        assert_eq!(applicant_organisation_id(), organisations[1].id);
        assert!(organisations[1].start_up.is_some());
        for (_, name, employer) in PEOPLE {
            assert!(name.ends_with("(demo)"));
            assert!(usize::from(employer) <= organisations.len());
        }
    }

    #[test]
    fn requests_rest_in_every_state_with_distinct_keys() {
        let requests = requests(&installations());
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
    fn the_sanctions_list_is_the_fictional_fixture() {
        assert!(SANCTIONS_XML.contains("FICTIONAL"));
    }
}
