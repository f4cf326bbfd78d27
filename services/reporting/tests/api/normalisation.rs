//! NORM-1: users per 1000 researchers (FTE) of their home country, from the shipped Eurostat
//! table or one an admin imports in the publisher's layout; every value names its
//! denominator's year, flag and source, and a country with no sourced figure gets none.

use rti_platform::db::Backend;
use rti_proto::reporting as proto;
use tonic::Code;

use crate::helpers::*;
use crate::usage::{record, record_usage};

rti_platform::backend_tests!(
    users_are_normalised_by_the_latest_sourced_count_of_their_country,
    an_admin_imports_the_publishers_file_and_it_is_used_at_once,
);

const MEASURES: [&str; 2] = ["users", "users_per_1000_researchers"];

/// Seven users from Luxembourg, two from Ukraine and two from the United Kingdom, all at one
/// installation under one granted proposal each.
async fn fixture(world: &World) {
    let beamline = world.site("Beamline", "FR");
    let mut records = Vec::new();
    for (country, users) in [("LU", 7), ("UA", 2), ("GB", 2)] {
        let proposal = world.proposal(
            &university(country),
            &beamline,
            20,
            date(2, 1),
            date(3, 1),
            Some(20),
            false,
        );
        for user in 0..users {
            let user = format!("{country}-user-{user}");
            records.push(record(
                &proposal,
                &beamline,
                &user,
                &format!("{country}-org"),
                country,
                date(4, 1),
                date(4, 2),
                1,
            ));
        }
    }
    world.caught_up().await;
    for usage in records {
        record_usage(world, &admin(), usage).await.expect("kept");
    }
}

fn denominator(row: &proto::StatisticsRow) -> Option<&proto::Denominator> {
    row.values
        .iter()
        .find(|value| value.measure == "users_per_1000_researchers")
        .and_then(|value| value.denominator.as_ref())
}

async fn users_are_normalised_by_the_latest_sourced_count_of_their_country(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    fixture(&world).await;
    let by_country = rows(&world, &ec_funder(), query_2026(&["home_country"], &MEASURES))
        .await
        .expect("answers");

    let luxembourg = row_of(&by_country, &["LU"]);
    // 2026's usage over LU's latest figure within five years: 2024, 3482.5 FTE, provisional.
    let Shown::Decimal(per_thousand) = value(luxembourg, "users_per_1000_researchers") else {
        panic!("a normalised value for LU: {luxembourg:?}");
    };
    assert!((per_thousand - 7.0 / 3482.5 * 1000.0).abs() < 0.001, "{per_thousand}");
    let used = denominator(luxembourg).expect("the denominator is named");
    assert_eq!(
        (used.country.as_str(), used.year, used.flag.as_str()),
        ("LU", 2024, "p")
    );
    assert_eq!(used.researchers_fte, 3482.5);
    assert_eq!(used.dataset, "rd_p_persocc");
    assert!(!used.source.is_empty(), "the source is named");

    // Ukraine has no figure in rd_p_persocc; the UK's last is 2019, too old for 2026.
    for country in ["UA", "GB"] {
        let row = row_of(&by_country, &[country]);
        assert_eq!(value(row, "users"), Shown::Integer(2));
        assert_eq!(
            value(row, "users_per_1000_researchers"),
            Shown::Withheld(proto::WithheldReason::NoDenominator),
            "{country}"
        );
        assert!(denominator(row).is_none());
    }

    // Grouped by year, each year is normalised by its own latest figure.
    let mut one_country = query_2026(&["year"], &MEASURES);
    one_country.filter.as_mut().expect("set").home_countries = vec!["LU".into()];
    let by_year = rows(&world, &ec_funder(), one_country).await.expect("answers");
    assert_eq!(denominator(row_of(&by_year, &["2026"])).expect("named").year, 2024);
}

async fn an_admin_imports_the_publishers_file_and_it_is_used_at_once(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    fixture(&world).await;
    let tsv = "freq,sectperf,prof_pos,sex,unit,geo\\TIME_PERIOD\t2024 \t2025 \n\
               A,BES,RSE,T,FTE,LU\t1000 \t1100 \n\
               A,TOTAL,RSE,T,FTE,LU\t3482.5 p\t4000 \n\
               A,TOTAL,RSE,T,FTE,EU27_2020\t2207452 e\t: \n";
    let import = |token: String, content: &str| {
        let request = proto::ImportResearcherCountsRequest {
            content: content.to_owned(),
            source: "Eurostat rd_p_persocc, bulk download of 2027-01-15".to_owned(),
        };
        let mut client = world.client();
        async move { client.import_researcher_counts(authorized(request, &token)).await }
    };
    let status = import(funder_of("LU"), tsv).await.expect_err("funders do not import");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = import(admin(), "not a table").await.expect_err("unreadable");
    assert_eq!(rti_platform::testing::violated_fields(&status), ["content"]);

    let imported = import(admin(), tsv).await.expect("imported").into_inner();
    assert_eq!(
        (imported.imported, imported.countries.as_slice()),
        (2, ["LU".to_owned()].as_slice())
    );

    let by_country = rows(&world, &ec_funder(), query_2026(&["home_country"], &MEASURES))
        .await
        .expect("answers");
    let luxembourg = row_of(&by_country, &["LU"]);
    assert_eq!(value(luxembourg, "users_per_1000_researchers"), Shown::Decimal(1.75));
    let used = denominator(luxembourg).expect("named");
    assert_eq!((used.year, used.flag.as_str()), (2025, ""));
    assert_eq!(used.source, "Eurostat rd_p_persocc, bulk download of 2027-01-15");

    let listed = world
        .client()
        .list_researcher_counts(authorized(
            proto::ListResearcherCountsRequest { country: "LU".into() },
            &funder_of("LU"),
        ))
        .await
        .expect("funders read the denominators")
        .into_inner();
    let years: Vec<i32> = listed.counts.iter().map(|count| count.year).collect();
    assert_eq!(years, [2021, 2022, 2023, 2024, 2025]);
}
