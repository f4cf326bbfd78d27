//! A crash mid-stream loses and double counts nothing: the service is killed while it is
//! consuming a long backlog of the three streams, started again, and its statistics equal those
//! of a run that was never interrupted; a replay of every stream from the start changes nothing.

use rti_platform::db::Backend;
use sqlx::Connection;

use crate::helpers::*;

rti_platform::backend_tests!(statistics_after_a_crash_mid_stream_equal_an_uninterrupted_run);

const MEASURES: [&str; 7] = [
    "requests_received",
    "requests_accepted",
    "requests_declined",
    "units_granted",
    "units_delivered",
    "units_lost",
    "non_eu_share",
];

/// 120 requests over four installations in both lanes, with slots and deliveries: some 900
/// events, so that consuming them takes several transactions.
fn journeys(world: &World) {
    let sites: Vec<Site> = ["A", "B", "C", "D"]
        .iter()
        .zip(["DE", "FR", "IT", "PL"])
        .map(|(name, country)| world.site(name, country))
        .collect();
    let countries = ["DE", "FR", "IT", "PL", "ES", "NL"];
    for index in 0..120 {
        let site = &sites[index % sites.len()];
        let country = countries[index % countries.len()];
        let day = i64::try_from(index % 27).expect("small") + 1;
        let month = i64::try_from(index % 10).expect("small") + 1;
        if index % 2 == 0 {
            let outcome = if index % 6 == 0 {
                Outcome::Declined
            } else {
                Outcome::Accepted
            };
            let request = world.industrial(&sme(country), site, 5, date(month, day), date(month, day + 3), outcome);
            if outcome == Outcome::Accepted {
                world.slot(
                    &request,
                    site,
                    5,
                    date(month + 1, day),
                    date(month + 1, day + 2),
                    Some((4, 1)),
                );
            }
        } else {
            let granted = if index % 5 == 0 { 0 } else { 8 };
            world.proposal(
                &university(country),
                site,
                10,
                date(month, day),
                date(month, day + 20),
                Some(granted),
                index % 7 == 0,
            );
        }
    }
}

async fn statistics(world: &World) -> Vec<rti_proto::reporting::StatisticsRow> {
    let mut rows = rows(
        world,
        &admin(),
        query_2026(&["provider_country", "quarter", "lane"], &MEASURES),
    )
    .await
    .expect("answers");
    // Ids differ between the two worlds; what is compared is the figures per group.
    for row in &mut rows {
        for group in &mut row.groups {
            group.label.clear();
        }
    }
    rows
}

async fn statistics_after_a_crash_mid_stream_equal_an_uninterrupted_run(backend: Backend) {
    let Some(uninterrupted) = exact(backend).await else {
        return;
    };
    journeys(&uninterrupted);
    uninterrupted.caught_up().await;
    let expected = statistics(&uninterrupted).await;
    assert!(expected.len() > 10, "a varied result: {}", expected.len());

    let Some(mut crashed) = exact(backend).await else {
        return;
    };
    journeys(&crashed);
    // Kill as soon as the first batches are committed, in the middle of the backlog.
    let mut connection = sqlx::AnyConnection::connect(crashed.database.url.as_str())
        .await
        .expect("connect");
    for _ in 0..2000 {
        let (applied,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(MAX(sequence), 0) AS BIGINT) FROM feed_cursors")
            .fetch_one(&mut connection)
            .await
            .expect("read cursors");
        if applied > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    crashed.kill().await;
    crashed.start().await;
    crashed.caught_up().await;
    assert_eq!(statistics(&crashed).await, expected, "after a crash mid-stream");

    // A replay of every stream from the start counts nothing twice.
    crashed.stop().await;
    sqlx::query("UPDATE feed_cursors SET sequence = 0")
        .execute(&mut connection)
        .await
        .expect("rewind the cursors");
    crashed.start().await;
    crashed.caught_up().await;
    assert_eq!(statistics(&crashed).await, expected, "after a replay");
}
