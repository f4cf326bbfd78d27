//! Sums of units and amounts that would overflow are refused by field (INVALID_ARGUMENT),
//! never stored wrapped and never a panic (docs/security.md, item 6).

use rti_platform::db::Backend;
use rti_platform::ids::new_id;
use rti_platform::testing::operator_token;
use rti_proto::intake as proto;

use crate::helpers::*;

rti_platform::backend_tests!(units_and_amounts_whose_sums_would_overflow_are_refused_by_field);

async fn register(world: &World, organisation: proto::Organisation) -> Result<proto::Organisation, tonic::Status> {
    world
        .client()
        .register_organisation(with_token(
            proto::RegisterOrganisationRequest {
                organisation: Some(organisation),
                ..Default::default()
            },
            &applicant_token(&new_id()),
        ))
        .await
        .map(tonic::Response::into_inner)
}

fn linked(name: &str, turnover_eur_cents: i64) -> proto::Holding {
    proto::Holding {
        name: name.into(),
        country: "DE".into(),
        figures: Some(proto::Figures {
            headcount_awu: 1.0,
            turnover_eur_cents,
            balance_sheet_eur_cents: 0,
        }),
        share_percent: 60.0,
        ..Default::default()
    }
}

fn aid(amount_eur_cents: i64) -> proto::DeclaredAid {
    proto::DeclaredAid {
        granted_on: "2025-06-01".into(),
        amount_eur_cents,
        granting_authority: "Regional innovation agency".into(),
    }
}

async fn units_and_amounts_whose_sums_would_overflow_are_refused_by_field(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;

    // SME-2: linked enterprises' figures are added in full; two near the largest value overflow.
    let group = proto::Organisation {
        holdings: vec![linked("Holding One", i64::MAX / 2), linked("Holding Two", i64::MAX / 2)],
        ..small_company("Overflowing Group")
    };
    let refused = register(&world, group).await.expect_err("refused");
    assert_eq!(
        violated_fields(&refused),
        ["organisation.holdings[1].figures.turnover_eur_cents"]
    );

    // SA-6: the ledger sums the declared aid.
    let aided = proto::Organisation {
        declared_de_minimis_aid: vec![aid(i64::MAX - 10), aid(20)],
        ..small_company("Overdeclared")
    };
    let refused = register(&world, aided).await.expect_err("refused");
    assert_eq!(
        violated_fields(&refused),
        ["organisation.declared_de_minimis_aid[1].amount_eur_cents"]
    );

    // Units beyond any window: units times a tariff must stay countable.
    let (_, applicant) = world.register(small_company("Unit Hoarder")).await;
    let mut request = industrial(&world.plain.id);
    request.installations[0].units = i64::MAX;
    let refused = world
        .client()
        .create_access_request(with_token(
            proto::CreateAccessRequestRequest {
                idempotency_key: new_id(),
                access_request: Some(request),
            },
            &applicant,
        ))
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&refused), ["access_request.installations[0].units"]);

    // Units times a price: a tariff so dear that four units overflow the quote's price.
    world.set_tariff(&world.plain.id, i64::MAX / 2).await;
    let in_feasibility = world.in_feasibility(&applicant).await;
    let refused = world
        .client()
        .quote_access_request(with_token(
            proto::QuoteAccessRequestRequest {
                id: in_feasibility.id.clone(),
                valid_days: 0,
            },
            &operator_token(&[&world.plain.infrastructure_id]),
        ))
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&refused), ["installations[0].units"]);

    // Within the bounds, all three are accepted.
    let fine = proto::Organisation {
        holdings: vec![linked("Holding One", 1_000_000)],
        declared_de_minimis_aid: vec![aid(1_000)],
        ..small_company("Reasonable Group")
    };
    register(&world, fine).await.expect("registers");
    let mut request = industrial(&world.plain.id);
    request.installations[0].units = 1_000_000_000;
    world.draft(&applicant, request).await;
    world.stop().await;
}
