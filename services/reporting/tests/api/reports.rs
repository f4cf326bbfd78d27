//! The fixed reports: a grant's EC "Infrastructures" tables (KPI-1, TA-10), an installation's
//! key figures with what screening held (KPI-4, SEC-x), and statistics as CSV; each with who may
//! have it, both ways.

use futures::TryStreamExt;
use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{token, violated_fields};
use rti_platform::time::timestamp_from_micros;
use rti_proto::registry::CriticalTechnologyArea;
use rti_proto::reporting as proto;
use tonic::Code;

use crate::helpers::*;
use crate::usage::{record, record_usage};

rti_platform::backend_tests!(
    a_grants_tables_list_its_users_and_installations_and_nothing_else,
    an_installations_figures_show_what_screening_held_and_for_how_long,
    statistics_export_as_csv_with_withheld_values_marked,
);

const GRANT: &str = "101000001";

fn tables_request(grant: &str) -> proto::GetInfrastructuresTablesRequest {
    proto::GetInfrastructuresTablesRequest {
        grant_agreement: grant.to_owned(),
        from: Some(timestamp_from_micros(JAN_2026)),
        to: Some(timestamp_from_micros(date(12, 32))),
    }
}

async fn a_grants_tables_list_its_users_and_installations_and_nothing_else(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let cleanroom = world.site("Cleanroom", "DE");
    let beamline = world.site("Beamline", "FR");
    world.call(&cleanroom, GRANT, 50, date(1, 31));
    world.call(&beamline, "another grant", 40, date(1, 31));
    let ours = world.proposal(
        &university("PL"),
        &cleanroom,
        30,
        date(2, 1),
        date(3, 1),
        Some(20),
        false,
    );
    world.slot(&ours, &cleanroom, 20, date(4, 1), date(4, 30), Some((18, 2)));
    let theirs = world.proposal(
        &university("IT"),
        &beamline,
        30,
        date(2, 1),
        date(3, 1),
        Some(30),
        false,
    );
    world.caught_up().await;
    let first = record(&ours, &cleanroom, "pl-1", "pl-org", "PL", date(4, 2), date(4, 3), 5);
    let mut again = record(&ours, &cleanroom, "pl-1", "pl-org", "PL", date(4, 6), date(4, 8), 3);
    again.new_user = false;
    let mut second = record(&ours, &cleanroom, "pl-2", "pl-org", "PL", date(4, 10), date(4, 11), 4);
    second.access_mode = proto::AccessMode::Remote as i32;
    second.days_on_site = 0;
    second.new_user = false;
    let elsewhere = record(&theirs, &beamline, "it-1", "it-org", "IT", date(4, 2), date(4, 3), 9);
    for usage in [first, again, second, elsewhere] {
        record_usage(&world, &admin(), usage).await.expect("kept");
    }

    let tables = |token: String, request: proto::GetInfrastructuresTablesRequest| {
        let mut client = world.client();
        async move { client.get_infrastructures_tables(authorized(request, &token)).await }
    };
    let answer = tables(ec_funder(), tables_request(GRANT))
        .await
        .expect("the EC's")
        .into_inner();
    let researchers: Vec<(&str, &str, i64, i64, bool)> = answer
        .researchers
        .iter()
        .map(|row| {
            (
                row.user_id.as_str(),
                row.installation_name.as_str(),
                row.units_used,
                row.days_on_site,
                row.new_user,
            )
        })
        .collect();
    assert_eq!(
        researchers,
        [("pl-1", "Cleanroom", 8, 2, true), ("pl-2", "Cleanroom", 4, 0, false)],
        "the other grant's user is not listed"
    );
    assert_eq!(answer.researchers[1].access_mode, proto::AccessMode::Remote as i32);
    assert_eq!(answer.researchers[0].access_request_id, ours);
    assert_eq!(answer.installations.len(), 1);
    let line = &answer.installations[0];
    assert_eq!(
        (line.installation_id.as_str(), line.provider_country.as_str()),
        (cleanroom.installation.as_str(), "DE")
    );
    assert_eq!(
        (
            line.units_offered,
            line.units_granted,
            line.units_delivered,
            line.units_used
        ),
        (50, 20, 18, 12)
    );
    assert_eq!((line.users, line.new_users, line.user_projects), (2, 1, 1));

    tables(admin(), tables_request(GRANT)).await.expect("the admin's");
    tables(token(Role::Coordinator), tables_request(GRANT))
        .await
        .expect("a coordinator's");
    let status = tables(funder_of("DE"), tables_request(GRANT))
        .await
        .expect_err("not a national funder's");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = tables(operator_of(&[&cleanroom.infrastructure]), tables_request(GRANT))
        .await
        .expect_err("not an operator's");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = tables(admin(), proto::GetInfrastructuresTablesRequest::default())
        .await
        .expect_err("incomplete");
    assert_eq!(violated_fields(&status), ["grant_agreement", "from", "to"]);
}

async fn an_installations_figures_show_what_screening_held_and_for_how_long(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fab = world.site_in_areas(
        "Pilot line",
        "DE",
        &[CriticalTechnologyArea::Semiconductors, CriticalTechnologyArea::Quantum],
    );
    let other = world.site("Beamline", "FR");
    world.industrial(&sme("DE"), &fab, 10, date(2, 1), date(2, 11), Outcome::Accepted);
    world.held(&sme("CN"), &fab, date(3, 1), date(3, 15), true);
    world.held(&sme("CN"), &fab, date(3, 1), date(3, 5), false);
    world.held(&sme("DE"), &fab, date(4, 1), date(4, 3), false);
    world.held(&sme("CN"), &other, date(3, 1), date(3, 20), true);
    world.caught_up().await;

    let request = |installation: &str| proto::GetInstallationKpisRequest {
        installation_id: installation.to_owned(),
        from: Some(timestamp_from_micros(JAN_2026)),
        to: Some(timestamp_from_micros(date(12, 32))),
    };
    let kpis = |token: String, installation: String| {
        let mut client = world.client();
        async move {
            client
                .get_installation_kpis(authorized(request(&installation), &token))
                .await
        }
    };
    let figures = kpis(operator_of(&[&fab.infrastructure]), fab.installation.clone())
        .await
        .expect("its operator's")
        .into_inner();
    assert_eq!(figures.installation_name, "Pilot line");
    let totals = figures.totals.as_ref().expect("totals");
    assert_eq!(value(totals, "requests_received"), Shown::Integer(4));
    assert_eq!(value(totals, "requests_accepted"), Shown::Integer(1));
    assert_eq!(value(totals, "requests_declined"), Shown::Integer(1));
    assert_eq!(value(totals, "units_granted"), Shown::Integer(10));
    let shown = |measure: &Option<proto::MeasureValue>| {
        let row = proto::StatisticsRow {
            groups: Vec::new(),
            values: vec![measure.clone().expect("a value")],
        };
        value(&row, &row.values[0].measure.clone())
    };
    let cell = |country: &str, area: &str| {
        figures
            .screening
            .iter()
            .find(|figure| figure.home_country == country && figure.technology_area == area)
            .unwrap_or_else(|| panic!("{country} {area} in {:?}", figures.screening))
    };
    // Two requests from CN held in each of the installation's two areas, one declined, waiting
    // 14 and 4 days; the request at the other installation is not counted here.
    for area in ["semiconductors", "quantum"] {
        assert_eq!(shown(&cell("CN", area).held), Shown::Integer(2), "{area}");
        assert_eq!(shown(&cell("CN", area).declined), Shown::Integer(1), "{area}");
        assert_eq!(
            shown(&cell("CN", area).waited_days_median),
            Shown::Decimal(4.0),
            "{area}"
        );
    }
    assert_eq!(shown(&cell("DE", "quantum").held), Shown::Integer(1));
    assert_eq!(figures.screening.len(), 4);

    kpis(funder_of("DE"), fab.installation.clone())
        .await
        .expect("its country's funder");
    kpis(ec_funder(), fab.installation.clone()).await.expect("the EC");
    let status = kpis(funder_of("FR"), fab.installation.clone())
        .await
        .expect_err("another country's funder");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = kpis(operator_of(&[&other.infrastructure]), fab.installation.clone())
        .await
        .expect_err("another operator");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = kpis(admin(), rti_platform::ids::new_id()).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

async fn statistics_export_as_csv_with_withheld_values_marked(backend: Backend) {
    let Some(world) = protected(backend).await else { return };
    let site = world.site("Cleanroom, main hall", "DE");
    let mut records = Vec::new();
    for (country, organisations) in [("DE", 6), ("FR", 1)] {
        for organisation in 0..organisations {
            let requester = university(country);
            let proposal = world.proposal(&requester, &site, 50, date(2, 1), date(3, 1), Some(50), false);
            for user in 0..2 {
                records.push(record(
                    &proposal,
                    &site,
                    &format!("{country}-{organisation}-{user}"),
                    &requester.organisation,
                    country,
                    date(4, 1),
                    date(4, 2),
                    3,
                ));
            }
        }
    }
    world.caught_up().await;
    for usage in records {
        record_usage(&world, &admin(), usage).await.expect("kept");
    }
    let request = query_2026(
        &["installation", "home_country"],
        &["users", "users_per_1000_researchers"],
    );
    let chunks: Vec<proto::CsvChunk> = world
        .client()
        .export_statistics_csv(authorized(request, &ec_funder()))
        .await
        .expect("a CSV")
        .into_inner()
        .try_collect()
        .await
        .expect("streamed");
    let text: String = chunks.into_iter().map(|chunk| chunk.text).collect();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "installation,installation_name,home_country,users,users_per_1000_researchers,denominator_year,\
         denominator_flag,denominator_source"
    );
    assert_eq!(lines.len(), 3);
    let german = lines.iter().find(|line| line.contains(",DE,")).expect("a DE line");
    assert!(german.contains("\"Cleanroom, main hall\""), "{german}");
    assert!(german.contains(",2024,p,"), "{german}");
    let french = lines.iter().find(|line| line.contains(",FR,")).expect("an FR line");
    assert!(
        french.ends_with(",FR,x,x,,,"),
        "one organisation's users are withheld: {french}"
    );
}
