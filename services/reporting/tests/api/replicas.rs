//! Two processes of the service on one database, as behind the gateway: each holds the usage
//! facts in memory, and each answers with every record either of them kept, including records
//! written after it started and whole batches written by the other in one stream.

use rti_platform::db::Backend;
use rti_proto::reporting as proto;

use crate::helpers::*;
use crate::usage::{record, record_usage, usage_fixture};

rti_platform::backend_tests!(either_replica_counts_what_the_other_recorded);

const MEASURES: [&str; 4] = ["units_used", "users", "new_users", "user_groups"];

async fn either_replica_counts_what_the_other_recorded(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let replica = world.replica().await;
    let query = || query_2026(&["installation", "month"], &MEASURES);
    // The replica has loaded its (empty) facts before anything is recorded.
    assert!(
        rows_from(replica.clone(), &admin(), query())
            .await
            .expect("answers")
            .is_empty()
    );

    // Through the first process: one record at a time, then a stream of three.
    for (user, day, units) in [("u-1", 2, 2), ("u-2", 3, 1)] {
        let usage = record(
            &fixture.industrial,
            &fixture.cleanroom,
            user,
            "o-1",
            "DE",
            date(3, day),
            date(3, day + 1),
            units,
        );
        assert!(record_usage(&world, &admin(), usage).await.expect("kept"));
    }
    let stream: Vec<proto::UsageRecord> = [("u-3", "o-5", 4), ("u-4", "o-6", 5), ("u-3", "o-5", 6)]
        .into_iter()
        .map(|(user, organisation, day)| {
            record(
                &fixture.proposal,
                &fixture.beamline,
                user,
                organisation,
                "PL",
                date(5, day),
                date(5, day + 1),
                3,
            )
        })
        .collect();
    let summary = world
        .client()
        .ingest_usage(authorized(futures::stream::iter(stream), &admin()))
        .await
        .expect("ingests")
        .into_inner();
    assert_eq!(summary.created, 3);

    let first = rows(&world, &admin(), query()).await.expect("answers");
    let second = rows_from(replica.clone(), &admin(), query()).await.expect("answers");
    assert_eq!(first, second, "both replicas answer alike");
    let beamline = row_of(&second, &[&fixture.beamline.installation, "2026-05"]);
    for (measure, expected) in MEASURES.iter().zip([9, 2, 2, 1]) {
        assert_eq!(value(beamline, measure), Shown::Integer(expected), "Beamline {measure}");
    }

    // Through the replica: the first process sees it too.
    let mut replica_writer = replica.clone();
    let usage = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-5",
        "o-2",
        "DE",
        date(3, 5),
        date(3, 6),
        4,
    );
    assert!(
        replica_writer
            .record_usage(authorized(proto::RecordUsageRequest { record: Some(usage) }, &admin()))
            .await
            .expect("kept")
            .into_inner()
            .created
    );
    let first = rows(&world, &admin(), query()).await.expect("answers");
    let second = rows_from(replica, &admin(), query()).await.expect("answers");
    assert_eq!(first, second, "both replicas answer alike");
    let cleanroom = row_of(&first, &[&fixture.cleanroom.installation, "2026-03"]);
    for (measure, expected) in MEASURES.iter().zip([7, 3, 3, 1]) {
        assert_eq!(
            value(cleanroom, measure),
            Shown::Integer(expected),
            "Cleanroom {measure}"
        );
    }
}
