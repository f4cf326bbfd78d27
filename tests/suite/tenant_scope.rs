//! Tenant scope (issue 13, item 5) as an attacker meets it: through the gateway, with a token of
//! each role. An operator of one of two installations a request names neither declines nor
//! closes it, nor reads the screening's hits or the other operator's quote line, nor learns
//! which reservation ids exist; a coordinator acts on no other coordinator's call and never
//! sees an industrial-lane request. Each refusal is checked beside the caller who is allowed.
//! Items 1 and 6 as well: an operator's offer cannot hold another installation's window, nor
//! units beyond any window.

use std::time::Duration;

use rti_platform::auth::{Claims, Role};
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{eventually, expect_code, expect_ok, operator_token, sign, token};
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as allocation};
use rti_proto::common::Money;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self, AccessRequestStatus};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::{spawn_suite, with_token};
use tonic::Code;
use tonic::transport::Channel;

const DAY: i64 = 86_400_000_000;
const HOUR: Duration = Duration::from_secs(3600);

/// A fictional sanctions list (every name invented).
const SANCTIONS_XML: &str = include_str!("fixtures/sanctions.xml");

/// A published installation of an infrastructure of its own, priced at EUR `cents` an hour.
async fn priced_installation(channel: &Channel, name: &str, cents: i64) -> registry::Installation {
    let admin = token(Role::Admin);
    let mut registry = RegistryServiceClient::new(channel.clone());
    let provider = registry::Provider {
        name: format!("{name} Provider"),
        country: "DE".into(),
        ..Default::default()
    };
    let request = registry::CreateProviderRequest {
        provider: Some(provider),
        ..Default::default()
    };
    let provider = expect_ok(registry.create_provider(with_token(request, &admin)).await, "provider");
    let infrastructure = registry::Infrastructure {
        provider_id: provider.id,
        name: format!("{name} Infrastructure"),
        kind: registry::InfrastructureKind::Technology as i32,
        structure: registry::InfrastructureStructure::SingleSited as i32,
        countries: vec!["DE".into()],
        ..Default::default()
    };
    let request = registry::CreateInfrastructureRequest {
        infrastructure: Some(infrastructure),
        ..Default::default()
    };
    let infrastructure = expect_ok(
        registry.create_infrastructure(with_token(request, &admin)).await,
        "infrastructure",
    );
    // A demo installation without security tags (a flag would hold every request for review).
    let (_, demo) = rti_gateway::demo::catalogue::installations()
        .expect("the demo catalogue parses")
        .into_iter()
        .find(|(_, installation)| {
            installation.critical_technology_areas.is_empty() && installation.dual_use_categories.is_empty()
        })
        .expect("an untagged demo installation");
    let draft = registry::Installation {
        infrastructure_id: infrastructure.id,
        name: name.into(),
        ..demo
    };
    let request = registry::CreateInstallationRequest {
        installation: Some(draft),
        ..Default::default()
    };
    let installation = expect_ok(
        registry.create_installation(with_token(request, &admin)).await,
        "installation",
    );
    let tariff = registry::Tariff {
        installation_id: installation.id.clone(),
        price_per_unit: Some(Money {
            currency: "EUR".into(),
            minor_units: cents,
        }),
        basis: registry::TariffBasis::MarketPrice as i32,
        valid_from: Some(timestamp_from_micros(now_micros() - 30 * DAY)),
        ..Default::default()
    };
    let request = registry::SetTariffRequest {
        tariff: Some(tariff),
        ..Default::default()
    };
    expect_ok(registry.set_tariff(with_token(request, &admin)).await, "tariff");
    let request = registry::PublishInstallationRequest { id: installation.id };
    expect_ok(
        registry.publish_installation(with_token(request, &admin)).await,
        "publishes",
    )
}

fn named(subject: &str, role: Role) -> String {
    sign(Claims::new(subject.to_owned(), &[role], HOUR))
}

fn applicant_of(organisation_id: &str) -> String {
    let mut claims = Claims::new(format!("applicant-of-{organisation_id}"), &[Role::Applicant], HOUR);
    claims.org = Some(organisation_id.to_owned());
    sign(claims)
}

async fn operators_and_coordinators_reach_only_their_own_through_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let channel = suite.channel.clone();
    let admin = token(Role::Admin);
    let cleanroom = priced_installation(&channel, "Cleanroom", 25_000).await;
    let beamline = priced_installation(&channel, "Beamline", 90_000).await;
    let cleanroom_operator = operator_token(&[&cleanroom.infrastructure_id]);
    let operator_of_both = operator_token(&[&cleanroom.infrastructure_id, &beamline.infrastructure_id]);

    let mut intake = IntakeServiceClient::new(channel.clone());
    let import = intake::ImportSanctionsListRequest {
        format: intake::SanctionsListFormat::Xml as i32,
        content: SANCTIONS_XML.as_bytes().to_vec(),
    };
    expect_ok(
        intake.import_sanctions_list(with_token(import, &admin)).await,
        "imports",
    );
    let organisation_id = rti_platform::ids::new_id();
    let applicant = applicant_of(&organisation_id);
    // A research organisation: its requester class needs no accounts.
    let organisation = intake::Organisation {
        legal_name: "Institut für Sensorik".into(),
        country: "AT".into(),
        kind: intake::OrganisationKind::ResearchOrganisation as i32,
        ..Default::default()
    };
    let request = intake::RegisterOrganisationRequest {
        organisation: Some(organisation),
        ..Default::default()
    };
    expect_ok(
        intake.register_organisation(with_token(request, &applicant)).await,
        "registers",
    );
    // SEC-3: a name close to a listed one is a POSSIBLE hit, for the compliance officer.
    let person = intake::Person {
        full_name: "Borys Invented-Testnam".into(),
        ..Default::default()
    };
    let request = intake::RegisterPersonRequest {
        person: Some(person),
        ..Default::default()
    };
    let contact = expect_ok(
        intake.register_person(with_token(request, &applicant)).await,
        "a person",
    );
    let draft = intake::AccessRequest {
        lane: intake::Lane::Industrial as i32,
        installations: [(&cleanroom, 4), (&beamline, 2)]
            .into_iter()
            .map(|(installation, units)| intake::RequestedInstallation {
                installation_id: installation.id.clone(),
                units,
            })
            .collect(),
        title: "Lithography and a beam test".into(),
        description: "Patterning wafers, then testing them under the beam.".into(),
        confidentiality: intake::ConfidentialityLevel::Confidential as i32,
        ip_regime: intake::IpRegime::UserOwns as i32,
        agreement_kind: intake::AgreementKind::ServiceContract as i32,
        contact_person_id: contact.id,
        ..Default::default()
    };
    let request = intake::CreateAccessRequestRequest {
        idempotency_key: rti_platform::ids::new_id(),
        access_request: Some(draft),
    };
    let draft = expect_ok(
        intake.create_access_request(with_token(request, &applicant)).await,
        "a draft",
    );
    let id = draft.id.clone();
    let submit = intake::SubmitAccessRequestRequest {
        id: id.clone(),
        accept_agreement: true,
    };
    let held = expect_ok(
        intake.submit_access_request(with_token(submit, &applicant)).await,
        "submits",
    );
    assert_eq!(held.status(), AccessRequestStatus::Screening);
    let review = intake::ReviewScreeningRequest {
        id: id.clone(),
        decision: intake::ReviewDecision::Approve as i32,
        rationale: "Borys Invented-Testnam is not the listed person".into(),
        conditions: String::new(),
    };
    expect_ok(intake.review_screening(with_token(review, &admin)).await, "cleared");

    // Declining ends the request at both installations: the operator of one may not.
    let decline = || intake::DeclineAccessRequestRequest {
        id: id.clone(),
        reason: "no capacity".into(),
    };
    let refused = intake
        .decline_access_request(with_token(decline(), &cleanroom_operator))
        .await;
    expect_code(
        &refused,
        Code::PermissionDenied,
        "the operator of one installation declines",
    );
    let quote = intake::QuoteAccessRequestRequest {
        id: id.clone(),
        valid_days: 0,
    };
    expect_ok(
        intake.quote_access_request(with_token(quote, &operator_of_both)).await,
        "the operator of both quotes",
    );

    // What the operator of one installation reads: no hit, its own quote line.
    let get = || intake::GetAccessRequestRequest { id: id.clone() };
    let seen = expect_ok(
        intake.get_access_request(with_token(get(), &cleanroom_operator)).await,
        "the operator of one installation reads",
    );
    assert!(
        seen.screening
            .as_ref()
            .is_some_and(|screening| screening.hits.is_empty())
    );
    let lines: Vec<String> = seen
        .quote
        .iter()
        .flat_map(|quote| &quote.lines)
        .map(|line| line.installation_id.clone())
        .collect();
    assert_eq!(lines, std::slice::from_ref(&cleanroom.id));
    let whole = expect_ok(
        intake.get_access_request(with_token(get(), &admin)).await,
        "an admin reads",
    );
    assert_eq!(whole.screening.expect("screened").hits.len(), 1);
    assert_eq!(whole.quote.expect("quoted").lines.len(), 2);

    // Reservation ids are not probed: an unknown one is "not yours" to an operator.
    let mut registry = RegistryServiceClient::new(channel.clone());
    let release = || registry::ReleaseCapacityRequest {
        reservation_id: "no-such-reservation".into(),
    };
    let probe = registry
        .release_capacity(with_token(release(), &cleanroom_operator))
        .await;
    expect_code(
        &probe,
        Code::PermissionDenied,
        "an operator releases an unknown reservation",
    );
    let unknown = registry.release_capacity(with_token(release(), &admin)).await;
    expect_code(&unknown, Code::NotFound, "an admin releases an unknown reservation");

    // The accepted industrial request reaches allocation, where no coordinator sees it.
    let accept = intake::AcceptQuoteRequest { id: id.clone() };
    expect_ok(intake.accept_quote(with_token(accept, &applicant)).await, "accepts");
    let mut allocation = AllocationServiceClient::new(channel.clone());
    let get_proposal = || allocation::GetProposalRequest { id: id.clone() };
    eventually("allocation to receive the accepted request", || {
        let mut allocation = allocation.clone();
        let request = with_token(get_proposal(), &admin);
        async move { allocation.get_proposal(request).await.ok() }
    })
    .await;
    // Item 1: the cleanroom's operator offers the request a slot at its own installation from
    // the beamline's window (window ids are public): the registry holds nothing for it.
    let beamline_window = registry::CapacityWindow {
        installation_id: beamline.id.clone(),
        start_time: Some(timestamp_from_micros(now_micros() + 10 * DAY)),
        end_time: Some(timestamp_from_micros(now_micros() + 11 * DAY)),
        units: 8,
        ..Default::default()
    };
    let request = registry::AddCapacityWindowRequest {
        window: Some(beamline_window),
        ..Default::default()
    };
    let beamline_window = expect_ok(
        registry
            .add_capacity_window(with_token(request, &operator_of_both))
            .await,
        "a beamline window",
    );
    let offer = |window_id: &str, units: i64| allocation::OfferSlotRequest {
        request_id: rti_platform::ids::new_id(),
        access_request_id: id.clone(),
        installation_id: cleanroom.id.clone(),
        window_id: window_id.to_owned(),
        units,
        hold_seconds: 0,
    };
    let deputy = allocation
        .offer_slot(with_token(offer(&beamline_window.id, 2), &cleanroom_operator))
        .await;
    expect_code(
        &deputy,
        Code::InvalidArgument,
        "an offer at the cleanroom from the beamline's window",
    );
    assert!(
        deputy
            .as_ref()
            .err()
            .is_some_and(|status| status.message().contains("window")),
        "{deputy:?}"
    );
    let availability = registry::GetAvailabilityRequest {
        installation_id: beamline.id.clone(),
        from: Some(timestamp_from_micros(now_micros())),
        to: Some(timestamp_from_micros(now_micros() + 30 * DAY)),
    };
    let windows = expect_ok(
        registry.get_availability(with_token(availability, &admin)).await,
        "the beamline's calendar",
    );
    assert!(
        windows.windows.iter().all(|window| window.reserved_units == 0),
        "nothing of the beamline is held: {windows:?}"
    );
    // Item 6: units no window could hold are refused by name, never summed into a wrapped value.
    let overflow = allocation
        .offer_slot(with_token(offer(&beamline_window.id, i64::MAX), &cleanroom_operator))
        .await;
    expect_code(&overflow, Code::InvalidArgument, "an offer of i64::MAX units");
    let refused = overflow.expect_err("refused");
    assert_eq!(
        rti_platform::testing::violated_fields(&refused),
        ["units"],
        "{refused:?}"
    );

    let coordinator = named("coordinator-ada", Role::Coordinator);
    let peeked = allocation.get_proposal(with_token(get_proposal(), &coordinator)).await;
    expect_code(
        &peeked,
        Code::PermissionDenied,
        "a coordinator reads an industrial request",
    );
    let peeked = intake.get_access_request(with_token(get(), &coordinator)).await;
    expect_code(&peeked, Code::PermissionDenied, "a coordinator reads it in intake");

    // Closing, like declining, needs the operator of every installation.
    let close = || intake::CloseAccessRequestRequest {
        id: id.clone(),
        reason: String::new(),
    };
    let refused = intake
        .close_access_request(with_token(close(), &cleanroom_operator))
        .await;
    expect_code(
        &refused,
        Code::PermissionDenied,
        "the operator of one installation closes",
    );
    let closed = expect_ok(
        intake
            .close_access_request(with_token(close(), &operator_of_both))
            .await,
        "the operator of both closes",
    );
    assert_eq!(closed.status(), AccessRequestStatus::Closed);

    // A call is its creator's: another coordinator changes nothing of it.
    let call = allocation::CreateCallRequest {
        request_id: rti_platform::ids::new_id(),
        title: "Transnational access, first call".into(),
        programme: "HORIZON-INFRA-2027-SERV-01".into(),
        close_time: Some(timestamp_from_micros(now_micros() + 30 * DAY)),
        installations: vec![allocation::CallInstallation {
            installation_id: cleanroom.id.clone(),
            units: 50,
            ..Default::default()
        }],
        criteria: vec![allocation::Criterion {
            name: "excellence".into(),
            weight: 1.0,
        }],
        rulebook: Some(allocation::Rulebook {
            transnationality: true,
            non_eu_cap_percent: 20,
            ..Default::default()
        }),
        ..Default::default()
    };
    let call = expect_ok(
        allocation.create_call(with_token(call, &coordinator)).await,
        "opens a call",
    );
    let panel = || allocation::SetPanelRequest {
        call_id: call.id.clone(),
        members: vec![allocation::PanelMember {
            reviewer: "reviewer-eve".into(),
            independent: true,
            affiliation: "University of Ghent".into(),
        }],
    };
    let other = named("coordinator-bob", Role::Coordinator);
    let refused = allocation.set_panel(with_token(panel(), &other)).await;
    expect_code(&refused, Code::PermissionDenied, "another coordinator sets the panel");
    let run = allocation::RunAllocationRequest {
        call_id: call.id.clone(),
        dry_run: true,
    };
    let refused = allocation.run_allocation(with_token(run, &other)).await;
    expect_code(
        &refused,
        Code::PermissionDenied,
        "another coordinator runs the allocation",
    );
    expect_ok(
        allocation.set_panel(with_token(panel(), &coordinator)).await,
        "the call's coordinator sets the panel",
    );
}

backend_tests!(operators_and_coordinators_reach_only_their_own_through_the_gateway);
