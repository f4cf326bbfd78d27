//! A poison event in the registry's outbox (a payload that does not decode, of a type reporting
//! follows) between providers created through the gateway: reporting records it in
//! `feed_rejections`, moves its cursor past it and applies every provider created after it; the
//! registry keeps taking writes. Before issue 15 the registry's stream failed at that event on
//! every read, so every consumer of it stopped there for ever.

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{eventually, expect_ok, token, with_token};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateProviderRequest, Provider};
use rti_tests::spawn_suite;
use sqlx::Row;

use super::Counts;

/// Providers created on each side of the poison event.
const EACH_SIDE: usize = 5;
/// A liveness bound on reporting's feed: it applies events as they come, within a second or so.
const FEED_BOUND: std::time::Duration = std::time::Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_event_is_recorded_and_skipped_while_later_events_apply() {
    let Some(suite) = spawn_suite(Backend::Postgres).await else {
        println!("faults/poison-event: skipped: RTI_TEST_SKIP_POSTGRES=1");
        return;
    };
    sqlx::any::install_default_drivers();
    let admin = token(Role::Admin);
    let mut registry = RegistryServiceClient::new(suite.channel.clone());
    let mut created = Vec::new();
    for index in 0..EACH_SIDE {
        created.push(create(&mut registry, &admin, &format!("poison-event before {index}")).await);
    }

    let poison_id = format!("poison-{}", uuid::Uuid::now_v7());
    let registry_database = sqlx::AnyPool::connect(suite.databases.registry.as_str())
        .await
        .expect("connect to the registry's database");
    // Unnumbered, as every write on PostgreSQL inserts its events: the sequencer numbers it.
    // 0xff 0xff … is a field with a wire type protobuf does not know: no Event decodes from it.
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, occurred_at, payload) \
         VALUES ($1, 'rti.registry.v1.ProviderCreated', 'poisoned', 0, $2)",
    )
    .bind(&poison_id)
    .bind(vec![0xff_u8; 8])
    .execute(&registry_database)
    .await
    .expect("insert the poison event");

    for index in 0..EACH_SIDE {
        created.push(create(&mut registry, &admin, &format!("poison-event after {index}")).await);
    }
    let poison_sequence: i64 = eventually("the poison event numbered", || async {
        let row = sqlx::query("SELECT sequence FROM outbox WHERE event_id = $1")
            .bind(&poison_id)
            .fetch_one(&registry_database)
            .await
            .expect("read the outbox");
        row.try_get::<Option<i64>, _>(0).expect("sequence")
    })
    .await;

    let reporting = sqlx::AnyPool::connect(suite.databases.reporting.as_str())
        .await
        .expect("connect to reporting's database");
    let deadline = tokio::time::Instant::now() + FEED_BOUND;
    let mut found = 0;
    let mut rejected = Vec::new();
    for (index, id) in created.iter().enumerate() {
        let present = present_by(&reporting, id, deadline).await;
        found += usize::from(present);
        if index == EACH_SIDE {
            // The first provider after the poison event is applied: the rejection is on record.
            let rows = sqlx::query("SELECT sequence, event_id, reason FROM feed_rejections WHERE source = 'registry'")
                .fetch_all(&reporting)
                .await
                .expect("read feed_rejections");
            rejected = rows
                .iter()
                .map(|row| {
                    let sequence: i64 = row.try_get(0).expect("sequence");
                    let event_id: String = row.try_get(1).expect("event_id");
                    let reason: String = row.try_get(2).expect("reason");
                    (sequence, event_id, reason)
                })
                .collect();
        }
    }
    let cursor: i64 = sqlx::query("SELECT sequence FROM feed_cursors WHERE source = 'registry'")
        .fetch_one(&reporting)
        .await
        .expect("reporting's cursor on the registry's stream")
        .try_get(0)
        .expect("sequence");

    let counts = Counts {
        acknowledged: created.len(),
        found,
        // Reporting keeps a provider under its id as a primary key: a second copy cannot exist.
        duplicated: 0,
        lost: created.len() - found,
    };
    println!(
        "faults/poison-event: rejected {} at sequence {poison_sequence}, reporting's cursor at {cursor}",
        rejected.len()
    );
    counts.report("poison-event");
    assert_eq!(
        rejected
            .iter()
            .map(|(sequence, event_id, _)| (*sequence, event_id.as_str()))
            .collect::<Vec<_>>(),
        [(poison_sequence, poison_id.as_str())],
        "the poison event is recorded once, with its place in the stream: {rejected:?}"
    );
    assert!(
        cursor > poison_sequence,
        "the cursor moved past the poison event: {cursor}"
    );
    suite.shutdown.cancel();
}

async fn create(registry: &mut RegistryServiceClient<tonic::transport::Channel>, admin: &str, name: &str) -> String {
    let request = CreateProviderRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        provider: Some(Provider {
            name: name.into(),
            country: "FR".into(),
            ..Provider::default()
        }),
    };
    expect_ok(registry.create_provider(with_token(request, admin)).await, name).id
}

/// Whether reporting's projection holds provider `id` by `deadline`.
async fn present_by(reporting: &sqlx::AnyPool, id: &str, deadline: tokio::time::Instant) -> bool {
    loop {
        let row = sqlx::query("SELECT COUNT(*) FROM providers WHERE id = $1")
            .bind(id)
            .fetch_one(reporting)
            .await
            .expect("read reporting's providers");
        if row.try_get::<i64, _>(0).expect("count") == 1 {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
