//! The disclosure control under attack, as a funder would try it (docs/disclosure.md): the
//! withheld cell of one organisation estimated by subtracting visible cells from a total, by
//! differencing two overlapping queries (one filtered so that the organisation drops out), and by
//! repeating a query to average the noise away. Thirty installations give thirty independent
//! targets. Each attack is also run against the same data without protection, where it recovers
//! every target exactly: the test fails if the protection is removed.

use std::collections::BTreeMap;

use rti_platform::db::Backend;
use rti_proto::reporting as proto;

use crate::helpers::*;
use crate::usage::{record, record_usage};

rti_platform::backend_tests!(
    subtracting_visible_cells_from_totals_does_not_recover_a_withheld_cell,
    differencing_two_overlapping_queries_does_not_recover_one_organisation,
    repeating_a_query_or_reaching_a_cell_another_way_gives_the_same_values,
);

const TARGETS: usize = 30;
const MEASURES: [&str; 2] = ["users", "units_used"];

/// Per installation: six German SMEs (industrial lane), two users each, and one French
/// university (transnational lane) with two users, whose cell is the target. Returns the
/// installations and each target's true (users, units).
async fn fixture(world: &World) -> Vec<(String, (i64, i64))> {
    let mut targets = Vec::new();
    let mut records = Vec::new();
    for index in 0..TARGETS {
        let site = world.site(&format!("Installation {index}"), "DE");
        for company in 0..6 {
            let requester = sme("DE");
            let request = world.industrial(&requester, &site, 100, date(2, 1), date(2, 11), Outcome::Accepted);
            for user in 0..2 {
                let units = 3 + i64::try_from((index * 7 + company * 3 + user) % 5).expect("small");
                records.push(record(
                    &request,
                    &site,
                    &format!("de-{index}-{company}-{user}"),
                    &requester.organisation,
                    "DE",
                    date(4, 1),
                    date(4, 2),
                    units,
                ));
            }
        }
        let target = university("FR");
        let proposal = world.proposal(&target, &site, 100, date(2, 1), date(3, 1), Some(100), false);
        let target_units = 8 + i64::try_from(index % 9).expect("small");
        for user in 0..2 {
            records.push(record(
                &proposal,
                &site,
                &format!("fr-{index}-{user}"),
                &target.organisation,
                "FR",
                date(4, 1),
                date(4, 2),
                target_units,
            ));
        }
        targets.push((site.installation, (2, 2 * target_units)));
    }
    world.caught_up().await;
    for usage in records {
        record_usage(world, &admin(), usage).await.expect("kept");
    }
    targets
}

fn integer(row: &proto::StatisticsRow, measure: &str) -> Option<i64> {
    match value(row, measure) {
        Shown::Integer(integer) => Some(integer),
        _ => None,
    }
}

/// Per installation, a measure's value in the rows, `None` when withheld.
fn by_installation(rows: &[proto::StatisticsRow], measure: &str, group: usize) -> BTreeMap<String, Option<i64>> {
    rows.iter()
        .map(|row| (row.groups[group].value.clone(), integer(row, measure)))
        .collect()
}

/// How many targets an attack estimated exactly, and how many distinct errors it made.
fn score(targets: &[(String, (i64, i64))], estimates: &[(i64, i64)], measure: usize) -> (usize, usize) {
    let mut exact = 0;
    let mut errors = std::collections::BTreeSet::new();
    for ((_, truth), estimate) in targets.iter().zip(estimates) {
        let (truth, estimate) = if measure == 0 {
            (truth.0, estimate.0)
        } else {
            (truth.1, estimate.1)
        };
        exact += usize::from(truth == estimate);
        errors.insert(estimate - truth);
    }
    (exact, errors.len())
}

/// Estimates every target as (a total) − (the German cell), per measure.
async fn subtraction(world: &World) -> Vec<(i64, i64)> {
    let totals = rows(world, &ec_funder(), query_2026(&["installation"], &MEASURES))
        .await
        .expect("answers");
    let split = rows(
        world,
        &ec_funder(),
        query_2026(&["installation", "home_country"], &MEASURES),
    )
    .await
    .expect("answers");
    let mut estimates = Vec::new();
    for total in &totals {
        let installation = &total.groups[0].value;
        let german = row_of(&split, &[installation, "DE"]);
        let french = row_of(&split, &[installation, "FR"]);
        for measure in MEASURES {
            assert_eq!(
                integer(french, measure).is_none(),
                world_is_protected(world),
                "the target's {measure}"
            );
        }
        estimates.push((
            integer(total, "users").expect("a total of 7 organisations is shown")
                - integer(german, "users").expect("shown"),
            integer(total, "units_used").expect("shown") - integer(german, "units_used").expect("shown"),
        ));
    }
    estimates
}

/// Estimates every target as (all lanes) − (the industrial lane), per measure.
async fn differencing(world: &World) -> Vec<(i64, i64)> {
    let all = rows(world, &ec_funder(), query_2026(&["installation"], &MEASURES))
        .await
        .expect("answers");
    let mut industrial = query_2026(&["installation"], &MEASURES);
    industrial.filter.as_mut().expect("set").lanes = vec!["industrial".into()];
    let industrial = rows(world, &ec_funder(), industrial).await.expect("answers");
    let (all_users, all_units) = (
        by_installation(&all, "users", 0),
        by_installation(&all, "units_used", 0),
    );
    let (some_users, some_units) = (
        by_installation(&industrial, "users", 0),
        by_installation(&industrial, "units_used", 0),
    );
    all_users
        .keys()
        .map(|installation| {
            (
                all_users[installation].expect("shown") - some_users[installation].expect("shown"),
                all_units[installation].expect("shown") - some_units[installation].expect("shown"),
            )
        })
        .collect()
}

fn world_is_protected(world: &World) -> bool {
    world.protected
}

async fn subtracting_visible_cells_from_totals_does_not_recover_a_withheld_cell(backend: Backend) {
    let Some(unprotected) = exact(backend).await else {
        return;
    };
    let targets = sorted(fixture(&unprotected).await);
    let estimates = subtraction(&unprotected).await;
    assert_eq!(
        score(&targets, &estimates, 0).0,
        TARGETS,
        "without protection every count is recovered"
    );
    assert_eq!(score(&targets, &estimates, 1).0, TARGETS, "and every sum");

    let Some(world) = protected(backend).await else { return };
    let targets = sorted(fixture(&world).await);
    let estimates = subtraction(&world).await;
    assert_attack_fails(&targets, &estimates);
}

async fn differencing_two_overlapping_queries_does_not_recover_one_organisation(backend: Backend) {
    let Some(unprotected) = exact(backend).await else {
        return;
    };
    let targets = sorted(fixture(&unprotected).await);
    let estimates = differencing(&unprotected).await;
    assert_eq!(
        score(&targets, &estimates, 1).0,
        TARGETS,
        "without protection every sum is recovered"
    );

    let Some(world) = protected(backend).await else { return };
    let targets = sorted(fixture(&world).await);
    let estimates = differencing(&world).await;
    assert_attack_fails(&targets, &estimates);
}

/// The attacker is right on a minority of targets and cannot tell which: the errors spread over
/// several values, zero among them.
#[track_caller]
fn assert_attack_fails(targets: &[(String, (i64, i64))], estimates: &[(i64, i64)]) {
    for (measure, name) in [(0, "users"), (1, "units_used")] {
        let (exact, distinct_errors) = score(targets, estimates, measure);
        assert!(
            exact * 2 < TARGETS,
            "{name}: {exact} of {TARGETS} targets recovered exactly"
        );
        assert!(distinct_errors >= 3, "{name}: the errors take {distinct_errors} values");
    }
}

fn sorted(mut targets: Vec<(String, (i64, i64))>) -> Vec<(String, (i64, i64))> {
    targets.sort();
    targets
}

async fn repeating_a_query_or_reaching_a_cell_another_way_gives_the_same_values(backend: Backend) {
    let Some(world) = protected(backend).await else { return };
    fixture(&world).await;
    let query = query_2026(&["installation", "home_country"], &MEASURES);
    let first = rows(&world, &ec_funder(), query.clone()).await.expect("answers");
    for _ in 0..20 {
        assert_eq!(
            rows(&world, &ec_funder(), query.clone()).await.expect("answers"),
            first,
            "same noise"
        );
    }
    // The German cell of one installation, reached through a filter instead of a group.
    let installation = first[0].groups[0].value.clone();
    let mut filtered = query_2026(&["home_country"], &MEASURES);
    let filter = filtered.filter.as_mut().expect("set");
    filter.installation_ids = vec![installation.clone()];
    filter.home_countries = vec!["DE".into()];
    let other_route = rows(&world, &ec_funder(), filtered).await.expect("answers");
    assert_eq!(other_route.len(), 1);
    assert_eq!(other_route[0].values, row_of(&first, &[&installation, "DE"]).values);
}
