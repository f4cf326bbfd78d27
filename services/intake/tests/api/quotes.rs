//! Quotes from the registry's tariffs, discounts by requester class, and the de minimis ledger
//! (SA-4, SA-5, SA-6), through to acceptance and closing.

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{operator_token, token};
use rti_proto::intake::{self as proto, AccessRequestStatus as S};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    an_sme_is_quoted_below_market_price_accepts_and_the_aid_is_in_its_ledger,
    sa6_a_quote_beyond_the_de_minimis_ceiling_is_refused_with_the_headroom,
    sa6_acceptance_checks_the_ledger_again,
    sa6_aid_older_than_three_years_no_longer_counts,
    a_large_company_pays_the_market_price_and_receives_no_aid,
    quotes_need_a_tariff_and_a_feasible_request,
    a_quote_for_installations_of_two_infrastructures_needs_an_operator_of_both,
);

/// EUR 250.00 per hour.
const HOURLY: i64 = 25_000;

fn operator(world: &World) -> String {
    operator_token(&[&world.plain.infrastructure_id])
}

async fn quote(world: &World, id: &str) -> Result<proto::AccessRequest, tonic::Status> {
    world
        .client()
        .quote_access_request(with_token(
            proto::QuoteAccessRequestRequest {
                id: id.into(),
                valid_days: 0,
            },
            &operator(world),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn accept(world: &World, applicant: &str, id: &str) -> Result<proto::AccessRequest, tonic::Status> {
    world
        .client()
        .accept_quote(with_token(proto::AcceptQuoteRequest { id: id.into() }, applicant))
        .await
        .map(tonic::Response::into_inner)
}

async fn statement(world: &World, applicant: &str) -> proto::DeMinimisStatement {
    world
        .client()
        .get_de_minimis_statement(with_token(proto::GetDeMinimisStatementRequest::default(), applicant))
        .await
        .expect("statement")
        .into_inner()
}

fn cents(money: &Option<rti_proto::common::Money>) -> i64 {
    money.as_ref().expect("an amount").minor_units
}

fn declared(granted_on: &str, amount_eur_cents: i64) -> proto::Organisation {
    proto::Organisation {
        declared_de_minimis_aid: vec![proto::DeclaredAid {
            granted_on: granted_on.into(),
            amount_eur_cents,
            granting_authority: "Regional innovation agency".into(),
        }],
        ..small_company("Aided Photonics")
    }
}

async fn an_sme_is_quoted_below_market_price_accepts_and_the_aid_is_in_its_ledger(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let request = world.in_feasibility(&applicant).await;

    let quoted = quote(&world, &request.id).await.expect("quotes");
    assert_eq!(quoted.status(), S::Quoted);
    let offer = quoted.quote.clone().expect("a quote");
    assert_eq!(offer.requester_class(), proto::RequesterClass::Sme);
    assert_eq!(offer.discount_percent, 20);
    assert_eq!(cents(&offer.market_price), 100_000, "4 hours at EUR 250");
    assert_eq!(cents(&offer.charged_price), 80_000);
    assert_eq!(cents(&offer.aid), 20_000, "SA-5: the discount is aid");
    assert_eq!(offer.aid_basis(), proto::AidBasis::DeMinimis);
    assert_eq!(cents(&offer.de_minimis_headroom_after), 30_000_000 - 20_000);
    assert_eq!(offer.lines[0].units, 4);

    let accepted = accept(&world, &applicant, &request.id).await.expect("accepts");
    assert_eq!(accepted.status(), S::Accepted);
    let again = accept(&world, &applicant, &request.id)
        .await
        .expect("a retry is answered");
    assert_eq!(again.status(), S::Accepted);
    let ledger = statement(&world, &applicant).await;
    assert_eq!(cents(&ledger.granted), 20_000, "recorded once");
    assert_eq!(ledger.grants.len(), 1);
    assert_eq!(ledger.grants[0].access_request_id, request.id);
    assert_eq!(cents(&ledger.headroom), 30_000_000 - 20_000);

    let closed = world
        .client()
        .close_access_request(with_token(
            proto::CloseAccessRequestRequest {
                id: request.id.clone(),
                reason: String::new(),
            },
            &operator(&world),
        ))
        .await
        .expect("closes")
        .into_inner();
    assert_eq!(
        path(&closed),
        [
            S::Draft,
            S::Submitted,
            S::Screening,
            S::Feasibility,
            S::Quoted,
            S::Accepted,
            S::Closed
        ]
    );
    world.stop().await;
}

async fn sa6_a_quote_beyond_the_de_minimis_ceiling_is_refused_with_the_headroom(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    let (_, applicant) = world.register(declared("2025-06-01", 29_990_000)).await;
    assert_eq!(
        cents(&statement(&world, &applicant).await.headroom),
        10_000,
        "EUR 100 left"
    );
    let request = world.in_feasibility(&applicant).await;
    let refused = quote(&world, &request.id)
        .await
        .expect_err("EUR 200 of aid does not fit");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("EUR 100.00 left"), "{}", refused.message());
    assert!(refused.message().contains("SA-6"), "{}", refused.message());
    world.stop().await;
}

async fn sa6_acceptance_checks_the_ledger_again(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    // EUR 300 left: each quote's EUR 200 fits alone, not both.
    let (_, applicant) = world.register(declared("2025-06-01", 29_970_000)).await;
    let first = world.in_feasibility(&applicant).await;
    let second = world.in_feasibility(&applicant).await;
    quote(&world, &first.id).await.expect("fits");
    quote(&world, &second.id)
        .await
        .expect("fits too, before the first is accepted");
    accept(&world, &applicant, &first.id).await.expect("accepts the first");
    let refused = accept(&world, &applicant, &second.id)
        .await
        .expect_err("no headroom left");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("EUR 100.00 left"), "{}", refused.message());
    let still = world
        .client()
        .get_access_request(with_token(
            proto::GetAccessRequestRequest { id: second.id.clone() },
            &applicant,
        ))
        .await
        .expect("reads")
        .into_inner();
    assert_eq!(still.status(), S::Quoted, "a refused acceptance changes nothing");
    assert_eq!(
        statement(&world, &applicant).await.grants.len(),
        2,
        "the declared aid and the first quote's"
    );
    world.stop().await;
}

async fn sa6_aid_older_than_three_years_no_longer_counts(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    let (_, applicant) = world.register(declared("2020-01-15", 29_990_000)).await;
    let ledger = statement(&world, &applicant).await;
    assert!(ledger.grants.is_empty(), "outside the three years");
    assert_eq!(cents(&ledger.headroom), 30_000_000);
    let request = world.in_feasibility(&applicant).await;
    quote(&world, &request.id).await.expect("the old aid no longer counts");
    world.stop().await;
}

async fn a_large_company_pays_the_market_price_and_receives_no_aid(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    let (_, applicant) = world.register(large_company("Bigcorp Optics")).await;
    let request = world.in_feasibility(&applicant).await;
    let offer = quote(&world, &request.id)
        .await
        .expect("quotes")
        .quote
        .expect("a quote");
    assert_eq!(offer.requester_class(), proto::RequesterClass::Other);
    assert_eq!(
        (cents(&offer.market_price), cents(&offer.charged_price)),
        (100_000, 100_000)
    );
    assert_eq!(offer.aid_basis(), proto::AidBasis::None);
    accept(&world, &applicant, &request.id).await.expect("accepts");
    assert!(
        statement(&world, &applicant).await.grants.is_empty(),
        "no aid, no ledger line"
    );
    world.stop().await;
}

async fn quotes_need_a_tariff_and_a_feasible_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let early = quote(&world, &draft.id).await.expect_err("a draft is not quoted");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert_eq!(early.message(), "the request is DRAFT; it cannot become QUOTED");

    let request = world.in_feasibility(&applicant).await;
    let no_tariff = quote(&world, &request.id).await.expect_err("no price to quote");
    assert_eq!(no_tariff.code(), Code::FailedPrecondition);
    assert!(
        no_tariff.message().contains("no tariff in force"),
        "{}",
        no_tariff.message()
    );

    let decline = |reason: &str| proto::DeclineAccessRequestRequest {
        id: request.id.clone(),
        reason: reason.into(),
    };
    let unexplained = world
        .client()
        .decline_access_request(with_token(decline(""), &operator(&world)))
        .await
        .expect_err("a decline says why");
    assert_eq!(violated_fields(&unexplained), ["reason"]);
    let declined = world
        .client()
        .decline_access_request(with_token(
            decline("the resist chemistry is not available"),
            &operator(&world),
        ))
        .await
        .expect("declines")
        .into_inner();
    assert_eq!(declined.status(), S::Declined);
    let accept_late = accept(&world, &applicant, &request.id)
        .await
        .expect_err("declined is final");
    assert_eq!(
        accept_late.message(),
        "the request is DECLINED; it cannot become ACCEPTED"
    );
    let admin_reads = world
        .client()
        .get_access_request(with_token(
            proto::GetAccessRequestRequest { id: request.id },
            &token(Role::Admin),
        ))
        .await
        .expect("reads")
        .into_inner();
    assert_eq!(
        admin_reads.history.last().expect("history").reason,
        "the resist chemistry is not available"
    );
    world.stop().await;
}

async fn a_quote_for_installations_of_two_infrastructures_needs_an_operator_of_both(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let other = world.elsewhere("Wind tunnel").await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    world.set_tariff(&other.id, HOURLY).await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let mut both = industrial(&world.plain.id);
    both.installations.push(proto::RequestedInstallation {
        installation_id: other.id.clone(),
        units: 2,
    });
    let draft = world.draft(&applicant, both).await;
    let request = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(request.status(), S::Feasibility);
    let ask = |operator: &str| {
        let mut client = world.client();
        let message = proto::QuoteAccessRequestRequest {
            id: request.id.clone(),
            valid_days: 0,
        };
        let operator = operator.to_owned();
        async move { client.quote_access_request(with_token(message, &operator)).await }
    };
    let half = ask(&operator(&world)).await.expect_err("it prices only one of the two");
    assert_eq!(half.code(), Code::PermissionDenied);
    let both_operators = operator_token(&[&world.plain.infrastructure_id, &other.infrastructure_id]);
    let quoted = ask(&both_operators)
        .await
        .expect("an operator of both prices both")
        .into_inner();
    assert_eq!(quoted.quote.expect("quote").lines.len(), 2);
    world.stop().await;
}
