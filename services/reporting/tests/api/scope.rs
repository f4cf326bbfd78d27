//! Funder scope, both ways (DESIGN §4): a national funder sees users from its country wherever
//! they used access, and users of infrastructures in its country, and nothing else; an EC funder
//! and the admin see every country; a funder token with no scope sees nothing.

use rti_platform::auth::{Claims, Role};
use rti_platform::db::Backend;
use rti_platform::testing::sign;
use tonic::Code;

use crate::helpers::*;
use crate::usage::{record, record_usage};

rti_platform::backend_tests!(a_national_funder_sees_its_users_and_its_infrastructures_only);

async fn a_national_funder_sees_its_users_and_its_infrastructures_only(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let cleanroom = world.site("Cleanroom", "DE");
    let beamline = world.site("Beamline", "FR");
    let mut records = Vec::new();
    // (home country, site): DE users at the DE cleanroom and at the FR beamline, FR users at
    // both, a PL user at the FR beamline.
    for (country, site, users) in [
        ("DE", &cleanroom, 2),
        ("DE", &beamline, 3),
        ("FR", &cleanroom, 4),
        ("FR", &beamline, 5),
        ("PL", &beamline, 6),
    ] {
        let proposal = world.proposal(&university(country), site, 50, date(2, 1), date(3, 1), Some(50), false);
        for user in 0..users {
            records.push(record(
                &proposal,
                site,
                &format!("{country}-{user}"),
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
        record_usage(&world, &admin(), usage).await.expect("kept");
    }
    let query = query_2026(&["home_country", "provider_country"], &["users"]);
    let seen = |rows: Vec<rti_proto::reporting::StatisticsRow>| {
        let mut cells: Vec<(String, String, Shown)> = rows
            .iter()
            .map(|row| {
                (
                    row.groups[0].value.clone(),
                    row.groups[1].value.clone(),
                    value(row, "users"),
                )
            })
            .collect();
        cells.sort_by(|left, right| (&left.0, &left.1).cmp(&(&right.0, &right.1)));
        cells
    };
    let cell = |home: &str, provider: &str, users: i64| (home.to_owned(), provider.to_owned(), Shown::Integer(users));

    let german = seen(rows(&world, &funder_of("DE"), query.clone()).await.expect("answers"));
    assert_eq!(german, [cell("DE", "DE", 2), cell("DE", "FR", 3), cell("FR", "DE", 4)]);
    let french = seen(rows(&world, &funder_of("FR"), query.clone()).await.expect("answers"));
    assert_eq!(
        french,
        [
            cell("DE", "FR", 3),
            cell("FR", "DE", 4),
            cell("FR", "FR", 5),
            cell("PL", "FR", 6)
        ]
    );
    let everything = [
        cell("DE", "DE", 2),
        cell("DE", "FR", 3),
        cell("FR", "DE", 4),
        cell("FR", "FR", 5),
        cell("PL", "FR", 6),
    ];
    assert_eq!(
        seen(rows(&world, &ec_funder(), query.clone()).await.expect("answers")),
        everything
    );
    assert_eq!(
        seen(rows(&world, &admin(), query.clone()).await.expect("answers")),
        everything
    );

    // A filter cannot widen the scope: the German funder asking for Polish users sees none.
    let mut polish = query.clone();
    polish.filter.as_mut().expect("set").home_countries = vec!["PL".into()];
    assert!(
        rows(&world, &funder_of("DE"), polish)
            .await
            .expect("answers")
            .is_empty()
    );

    let unscoped = sign(Claims::new(
        "funder-nowhere",
        &[Role::Funder],
        std::time::Duration::from_secs(60),
    ));
    let status = rows(&world, &unscoped, query.clone()).await.expect_err("no scope");
    assert_eq!(status.code(), Code::PermissionDenied);
    let operator = operator_of(&[&cleanroom.infrastructure]);
    let status = rows(&world, &operator, query).await.expect_err("not a funder");
    assert_eq!(status.code(), Code::PermissionDenied);
}
