//! Every request, grant and delivery measure against figures computed by hand from one fixture
//! (KPI-4), with the disclosure control off so that the arithmetic shows exactly: grouped by
//! installation, home country, quarter, requester type and nothing.

use rti_platform::db::Backend;
use rti_proto::intake::Milestone;

use crate::helpers::*;

rti_platform::backend_tests!(
    requests_grants_and_deliveries_add_up_per_installation,
    the_same_facts_group_by_country_quarter_and_requester_type,
    a_measure_that_cannot_be_split_that_way_is_refused_naming_it,
);

const REQUEST_MEASURES: [&str; 13] = [
    "requests_received",
    "requests_accepted",
    "requests_declined",
    "acceptance_rate",
    "decision_days_median",
    "decision_days_p90",
    "first_slot_days_median",
    "oversubscription",
    "units_granted",
    "non_eu_share",
    "units_delivered",
    "units_lost",
    "clock_breaches",
];

/// Cleanroom (DE) and Beamline (FR); four industrial requests and three TA proposals.
fn fixture(world: &World) -> (Site, Site) {
    let cleanroom = world.site("Cleanroom", "DE");
    let beamline = world.site("Beamline", "FR");
    world.call(&beamline, "101000000", 30, date(1, 31));
    let accepted = world.industrial(&sme("DE"), &cleanroom, 10, date(2, 1), date(2, 11), Outcome::Accepted);
    world.industrial(&sme("DE"), &cleanroom, 4, date(3, 1), date(3, 5), Outcome::Declined);
    world.industrial(
        &university("FR"),
        &cleanroom,
        6,
        date(4, 1),
        date(4, 21),
        Outcome::Accepted,
    );
    let open = world.industrial(&sme("IT"), &beamline, 8, date(5, 1), 0, Outcome::Open);
    world.breach(&open, Milestone::Feasibility, date(5, 10));
    let granted = world.proposal(
        &university("PL"),
        &beamline,
        20,
        date(2, 1),
        date(3, 1),
        Some(15),
        false,
    );
    world.proposal(&university("UA"), &beamline, 10, date(2, 1), date(3, 1), Some(10), true);
    world.proposal(&university("DE"), &beamline, 5, date(2, 1), date(3, 1), Some(0), false);
    world.slot(&accepted, &cleanroom, 10, date(3, 2), date(3, 7), Some((8, 2)));
    world.slot(&granted, &beamline, 15, date(5, 4), date(5, 9), Some((15, 0)));
    (cleanroom, beamline)
}

async fn requests_grants_and_deliveries_add_up_per_installation(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let (cleanroom, beamline) = fixture(&world);
    world.caught_up().await;

    let by_installation = rows(&world, &admin(), query_2026(&["installation"], &REQUEST_MEASURES))
        .await
        .expect("answers");
    assert_eq!(by_installation.len(), 2);
    let row = row_of(&by_installation, &[&cleanroom.installation]);
    assert_eq!(row.groups[0].label, "Cleanroom");
    let expected_cleanroom = [
        Shown::Integer(3),
        Shown::Integer(2),
        Shown::Integer(1),
        Shown::Decimal(66.7),
        // Decided after 10, 4 and 20 days: nearest-rank median 10, p90 20.
        Shown::Decimal(10.0),
        Shown::Decimal(20.0),
        // Accepted on 11 February, first slot offered on 2 March.
        Shown::Decimal(19.0),
        // No call offers the Cleanroom.
        Shown::Empty,
        Shown::Integer(16),
        Shown::Decimal(0.0),
        Shown::Integer(8),
        Shown::Integer(2),
        Shown::Integer(0),
    ];
    for (measure, expected) in REQUEST_MEASURES.iter().zip(expected_cleanroom) {
        assert_eq!(value(row, measure), expected, "Cleanroom {measure}");
    }
    let row = row_of(&by_installation, &[&beamline.installation]);
    let expected_beamline = [
        Shown::Integer(4),
        Shown::Integer(2),
        Shown::Integer(1),
        Shown::Decimal(66.7),
        Shown::Decimal(28.0),
        Shown::Decimal(28.0),
        // Granted on 1 March, first slot offered on 4 May.
        Shown::Decimal(64.0),
        // The call offered 30 units; its proposals asked for 20 + 10 + 5.
        Shown::Decimal(1.17),
        Shown::Integer(25),
        // TA-6: 10 of the 25 units granted went to a non-EU-majority group.
        Shown::Decimal(40.0),
        Shown::Integer(15),
        Shown::Integer(0),
        Shown::Integer(1),
    ];
    for (measure, expected) in REQUEST_MEASURES.iter().zip(expected_beamline) {
        assert_eq!(value(row, measure), expected, "Beamline {measure}");
    }

    // The total is computed from the records, and agrees with its parts.
    let total = rows(&world, &admin(), query_2026(&[], &REQUEST_MEASURES))
        .await
        .expect("answers");
    assert_eq!(total.len(), 1);
    let expected_total = [
        Shown::Integer(7),
        Shown::Integer(4),
        Shown::Integer(2),
        Shown::Decimal(66.7),
        // 4, 10, 20, 28, 28, 28 days.
        Shown::Decimal(20.0),
        Shown::Decimal(28.0),
        Shown::Decimal(19.0),
        Shown::Decimal(1.17),
        Shown::Integer(41),
        Shown::Decimal(24.4),
        Shown::Integer(23),
        Shown::Integer(2),
        Shown::Integer(1),
    ];
    for (measure, expected) in REQUEST_MEASURES.iter().zip(expected_total) {
        assert_eq!(value(&total[0], measure), expected, "total {measure}");
    }

    let by_infrastructure = rows(
        &world,
        &admin(),
        query_2026(&["infrastructure", "provider_country"], &["units_granted"]),
    )
    .await
    .expect("answers");
    let row = row_of(&by_infrastructure, &[&cleanroom.infrastructure, "DE"]);
    assert_eq!(row.groups[0].label, "Cleanroom infrastructure");
    assert_eq!(value(row, "units_granted"), Shown::Integer(16));
}

async fn the_same_facts_group_by_country_quarter_and_requester_type(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    fixture(&world);
    world.caught_up().await;
    let measures = [
        "requests_received",
        "requests_accepted",
        "acceptance_rate",
        "clock_breaches",
    ];

    let by_country = rows(&world, &admin(), query_2026(&["home_country"], &measures))
        .await
        .expect("answers");
    assert_eq!(by_country.len(), 5, "DE, FR, IT, PL, UA");
    let de = row_of(&by_country, &["DE"]);
    assert_eq!(value(de, "requests_received"), Shown::Integer(3));
    assert_eq!(value(de, "requests_accepted"), Shown::Integer(1));
    assert_eq!(value(de, "acceptance_rate"), Shown::Decimal(33.3));
    let italy = row_of(&by_country, &["IT"]);
    assert_eq!(value(italy, "acceptance_rate"), Shown::Empty, "nothing decided yet");
    assert_eq!(value(italy, "clock_breaches"), Shown::Integer(1));

    let by_quarter = rows(
        &world,
        &admin(),
        query_2026(&["quarter"], &["requests_received", "units_granted"]),
    )
    .await
    .expect("answers");
    // Requests by the quarter they were submitted in; units by the quarter of the decision.
    assert_eq!(
        value(row_of(&by_quarter, &["2026-Q1"]), "requests_received"),
        Shown::Integer(5)
    );
    assert_eq!(
        value(row_of(&by_quarter, &["2026-Q2"]), "requests_received"),
        Shown::Integer(2)
    );
    assert_eq!(
        value(row_of(&by_quarter, &["2026-Q1"]), "units_granted"),
        Shown::Integer(35)
    );
    assert_eq!(
        value(row_of(&by_quarter, &["2026-Q2"]), "units_granted"),
        Shown::Integer(6)
    );

    let by_month = rows(&world, &admin(), query_2026(&["month", "lane"], &["requests_received"]))
        .await
        .expect("answers");
    assert_eq!(
        value(row_of(&by_month, &["2026-02", "transnational"]), "requests_received"),
        Shown::Integer(3)
    );
    assert_eq!(
        value(row_of(&by_month, &["2026-02", "industrial"]), "requests_received"),
        Shown::Integer(1)
    );

    let by_type = rows(
        &world,
        &admin(),
        query_2026(&["requester_type", "funding_scheme"], &["requests_received"]),
    )
    .await
    .expect("answers");
    assert_eq!(
        value(row_of(&by_type, &["sme", "market"]), "requests_received"),
        Shown::Integer(3)
    );
    assert_eq!(
        value(row_of(&by_type, &["university", "market"]), "requests_received"),
        Shown::Integer(1)
    );
    assert_eq!(
        value(
            row_of(&by_type, &["university", "eu_transnational_access"]),
            "requests_received"
        ),
        Shown::Integer(3)
    );

    let mut filtered = query_2026(&["installation"], &["requests_received"]);
    filtered.filter.as_mut().expect("set").home_countries = vec!["UA".into(), "PL".into()];
    let filtered = rows(&world, &admin(), filtered).await.expect("answers");
    assert_eq!(filtered.len(), 1);
    assert_eq!(value(&filtered[0], "requests_received"), Shown::Integer(2));
}

async fn a_measure_that_cannot_be_split_that_way_is_refused_naming_it(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let status = rows(
        &world,
        &admin(),
        query_2026(&["access_mode"], &["users", "requests_received"]),
    )
    .await
    .expect_err("requests have no access mode");
    assert_eq!(rti_platform::testing::violated_fields(&status), ["measures[1]"]);
    let status = rows(&world, &admin(), query_2026(&["home_country"], &["oversubscription"]))
        .await
        .expect_err("a call's offer has no home country");
    assert_eq!(rti_platform::testing::violated_fields(&status), ["measures[0]"]);
    let mut no_period = query_2026(&[], &["users"]);
    no_period.filter = None;
    let status = rows(&world, &admin(), no_period)
        .await
        .expect_err("a period is required");
    assert_eq!(
        rti_platform::testing::violated_fields(&status),
        ["filter.from", "filter.to"]
    );
}
