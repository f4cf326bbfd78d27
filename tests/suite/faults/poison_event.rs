//! Poison events (a payload that does not decode, of a type the consumers follow) in two
//! producers' outboxes: one in the registry's, between providers created through the gateway,
//! and one in intake's. Each consumer records the event in its `feed_rejections`, moves its cursor
//! past it and carries on: reporting applies every provider created after the registry's poison
//! event; allocation and reporting both record intake's; the registry keeps taking writes. Before
//! issue 15 a producer's stream failed at such an event on every read, so every consumer of it
//! stopped there for ever.

use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{expect_ok, token, with_token};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateProviderRequest, Provider};
use rti_tests::spawn_suite;
use sqlx::{AnyPool, Row};
use tokio::time::Instant;

use super::Counts;

/// Providers created on each side of the poison event.
const EACH_SIDE: usize = 5;
/// A liveness bound on the feeds: they apply events as they come, within a second or so.
const FEED_BOUND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_event_is_recorded_and_skipped_while_later_events_apply() {
    let Some(suite) = spawn_suite(Backend::Postgres).await else {
        println!("faults/poison-event: skipped: RTI_TEST_SKIP_POSTGRES=1");
        return;
    };
    sqlx::any::install_default_drivers();
    let pool = |url: &rti_platform::db::DatabaseUrl| AnyPool::connect_lazy(url.as_str()).expect("a database URL");
    let (registry_database, intake_database) = (pool(&suite.databases.registry), pool(&suite.databases.intake));
    let (reporting, allocation) = (pool(&suite.databases.reporting), pool(&suite.databases.allocation));
    let admin = token(Role::Admin);
    let mut registry = RegistryServiceClient::new(suite.channel.clone());
    let mut created = Vec::new();
    for index in 0..EACH_SIDE {
        created.push(create(&mut registry, &admin, &format!("poison-event before {index}")).await);
    }
    let registry_poison = insert_poison(&registry_database, "rti.registry.v1.ProviderCreated").await;
    let intake_poison = insert_poison(&intake_database, "rti.intake.v1.AccessRequestStatusChanged").await;
    for index in 0..EACH_SIDE {
        created.push(create(&mut registry, &admin, &format!("poison-event after {index}")).await);
    }

    let deadline = Instant::now() + FEED_BOUND;
    let mut found = 0;
    for id in &created {
        found += usize::from(present_by(&reporting, id, deadline).await);
    }
    let counts = Counts {
        acknowledged: created.len(),
        found,
        // Reporting keeps a provider under its id as a primary key: a second copy cannot exist.
        duplicated: 0,
        lost: created.len() - found,
    };
    let registry_sequence = numbered(&registry_database, &registry_poison).await;
    let intake_sequence = numbered(&intake_database, &intake_poison).await;
    let recorded = [
        ("reporting", "registry", &reporting, &registry_poison, registry_sequence),
        ("reporting", "intake", &reporting, &intake_poison, intake_sequence),
        ("allocation", "intake", &allocation, &intake_poison, intake_sequence),
    ];
    let mut rejections = Vec::new();
    for (consumer, source, database, poison, sequence) in recorded {
        let rejected = rejected_by(database, source, poison, deadline).await;
        let cursor = cursor_of(database, source).await;
        println!(
            "faults/poison-event: {consumer} on {source}'s stream: poison event at sequence {sequence} \
             recorded {}, cursor at {cursor}",
            rejected.is_some()
        );
        rejections.push((consumer, source, sequence, rejected, cursor));
    }
    counts.report("poison-event");
    for (consumer, source, sequence, rejected, cursor) in rejections {
        assert_eq!(
            rejected,
            Some(sequence),
            "{consumer} records {source}'s poison event with its place in the stream"
        );
        assert!(
            cursor >= sequence,
            "{consumer}'s cursor on {source} moved past the poison event: {cursor} < {sequence}"
        );
    }
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

/// Inserts an event of `event_type` whose payload does not decode into a producer's outbox;
/// its id. Unnumbered, as every write on PostgreSQL inserts its events: the sequencer numbers it.
async fn insert_poison(outbox: &AnyPool, event_type: &str) -> String {
    let id = format!("poison-{}", uuid::Uuid::now_v7());
    // 0xff 0xff … is a field with a wire type protobuf does not know: no Event decodes from it.
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, occurred_at, payload) \
         VALUES ($1, $2, 'poisoned', 0, $3)",
    )
    .bind(&id)
    .bind(event_type)
    .bind(vec![0xff_u8; 8])
    .execute(outbox)
    .await
    .expect("insert the poison event");
    id
}

/// The sequence the producer's sequencer gave the event `id`, waiting for it.
async fn numbered(outbox: &AnyPool, id: &str) -> i64 {
    let deadline = Instant::now() + FEED_BOUND;
    loop {
        let row = sqlx::query("SELECT sequence FROM outbox WHERE event_id = $1")
            .bind(id)
            .fetch_one(outbox)
            .await
            .expect("read the outbox");
        if let Some(sequence) = row.try_get::<Option<i64>, _>(0).expect("sequence") {
            return sequence;
        }
        assert!(Instant::now() < deadline, "the poison event {id} was never numbered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether reporting's projection holds provider `id` by `deadline`.
async fn present_by(reporting: &AnyPool, id: &str, deadline: Instant) -> bool {
    loop {
        let row = sqlx::query("SELECT COUNT(*) FROM providers WHERE id = $1")
            .bind(id)
            .fetch_one(reporting)
            .await
            .expect("read reporting's providers");
        if row.try_get::<i64, _>(0).expect("count") == 1 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sequence under which a consumer recorded the event `id` of `source`'s stream, by `deadline`.
async fn rejected_by(consumer: &AnyPool, source: &str, id: &str, deadline: Instant) -> Option<i64> {
    loop {
        let row = sqlx::query("SELECT sequence FROM feed_rejections WHERE source = $1 AND event_id = $2")
            .bind(source)
            .bind(id)
            .fetch_optional(consumer)
            .await
            .expect("read feed_rejections");
        if let Some(row) = row {
            return Some(row.try_get(0).expect("sequence"));
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn cursor_of(consumer: &AnyPool, source: &str) -> i64 {
    sqlx::query("SELECT sequence FROM feed_cursors WHERE source = $1")
        .bind(source)
        .fetch_optional(consumer)
        .await
        .expect("read feed_cursors")
        .map_or(0, |row| row.try_get(0).expect("sequence"))
}
