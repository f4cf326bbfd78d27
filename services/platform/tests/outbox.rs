//! The platform's store contract, on SQLite and on PostgreSQL: the outbox (events only with
//! their transaction, in commit order) and idempotency keys.

use rti_platform::backend_tests;
use rti_platform::db::{Backend, Database, Migrations};
use rti_platform::events::Outbox;
use rti_platform::idempotency::{self, Lookup};
use rti_platform::testing::TestDatabase;
use rti_proto::common::event::Payload;
use rti_proto::registry::{Provider, ProviderCreated};

async fn open(backend: Backend) -> Option<(TestDatabase, Database)> {
    let test_database = TestDatabase::create(backend).await?;
    let database = Database::open(&test_database.url, &Migrations::NONE, 4)
        .await
        .expect("opens and migrates");
    Some((test_database, database))
}

/// The first `count` events once they are numbered (on PostgreSQL, a numbering pass after the
/// commit).
async fn numbered(outbox: &Outbox, count: usize) -> Vec<rti_proto::common::Event> {
    for _ in 0..500 {
        let events = outbox.read_after(0, 1_000).await.expect("read");
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{count} events were not numbered within 5 s");
}

fn created(name: &str) -> Payload {
    Payload::ProviderCreated(ProviderCreated {
        provider: Some(Provider {
            name: name.into(),
            ..Default::default()
        }),
    })
}

async fn events_exist_only_with_their_transaction(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let outbox = Outbox::new(database.clone(), "test");

    let mut rolled_back = database.begin_write().await.expect("begin");
    outbox
        .append(&mut rolled_back, "a-1", created("never"))
        .await
        .expect("append");
    rolled_back.rollback().await.expect("rollback");
    assert!(
        outbox.read_after(0, 10).await.expect("read").is_empty(),
        "a rolled-back event is gone"
    );

    let mut committed = database.begin_write().await.expect("begin");
    let appended = outbox
        .append(&mut committed, "a-2", created("kept"))
        .await
        .expect("append");
    outbox.commit(committed).await.expect("commit");
    let events = numbered(&outbox, 1).await;
    assert_eq!(events.len(), 1);
    assert!(events[0].sequence > 0);
    let numbered = rti_proto::common::Event {
        sequence: events[0].sequence,
        ..appended
    };
    assert_eq!(events, [numbered]);
    assert_eq!(events[0].r#type, "rti.registry.v1.ProviderCreated");
    assert_eq!(events[0].source, "test");
    assert_eq!(outbox.latest_sequence().await.expect("latest"), events[0].sequence);
}

async fn sequences_increase_in_commit_order_and_reads_resume_after_a_cursor(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let outbox = Outbox::new(database.clone(), "test");
    let mut sequences = Vec::new();
    for index in 0..5 {
        let mut transaction = database.begin_write().await.expect("begin");
        outbox
            .append(&mut transaction, &format!("a-{index}"), created("x"))
            .await
            .expect("append");
        outbox.commit(transaction).await.expect("commit");
        let events = numbered(&outbox, index + 1).await;
        assert_eq!(
            events[index].aggregate_id,
            format!("a-{index}"),
            "numbered in commit order"
        );
        sequences.push(events[index].sequence);
    }
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "{sequences:?}");
    let after_second = outbox.read_after(sequences[1], 2).await.expect("read");
    let resumed: Vec<_> = after_second.iter().map(|event| event.sequence).collect();
    assert_eq!(resumed, sequences[2..4]);
}

async fn idempotency_keys_replay_and_refuse_mismatches(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let hash = idempotency::request_hash(b"request");
    let mut transaction = database.begin_write().await.expect("begin");
    assert_eq!(
        idempotency::lookup(&mut transaction, "Create:alice", "key-1", &hash)
            .await
            .expect("lookup"),
        Lookup::New
    );
    idempotency::record(&mut transaction, "Create:alice", "key-1", &hash, "resource-9")
        .await
        .expect("record");
    transaction.commit().await.expect("commit");

    let mut transaction = database.begin_write().await.expect("begin");
    let replay = idempotency::lookup(&mut transaction, "Create:alice", "key-1", &hash)
        .await
        .expect("lookup");
    assert_eq!(
        replay,
        Lookup::Replay {
            resource_id: "resource-9".into()
        }
    );
    let other = idempotency::request_hash(b"another request");
    assert_eq!(
        idempotency::lookup(&mut transaction, "Create:alice", "key-1", &other)
            .await
            .expect("lookup"),
        Lookup::Mismatch
    );
    let scoped = idempotency::lookup(&mut transaction, "Create:bob", "key-1", &hash)
        .await
        .expect("lookup");
    assert_eq!(scoped, Lookup::New, "keys are scoped by caller");
    let duplicate = idempotency::record(&mut transaction, "Create:alice", "key-1", &hash, "resource-10").await;
    let error = duplicate.expect_err("the key is taken");
    assert_eq!(
        rti_platform::db::classify(&error),
        rti_platform::db::DbFailure::UniqueViolation
    );
}

/// Two replicas (two stores, two outboxes on one database) commit events side by side while a
/// reader follows a cursor: numbers run 1..=N without a gap or a repeat, and the reader, never
/// skipping, sees each event exactly once.
async fn replicas_committing_side_by_side_leave_no_gap_a_reader_could_skip(backend: Backend) {
    let Some((test_database, first)) = open(backend).await else {
        return;
    };
    let second = Database::open(&test_database.url, &Migrations::NONE, 4)
        .await
        .expect("a second replica opens");
    let replicas = [
        (first.clone(), Outbox::new(first, "replica-1")),
        (second.clone(), Outbox::new(second, "replica-2")),
    ];
    const EVENTS: usize = 40;
    let writing = tokio_util::sync::CancellationToken::new();
    let reader = tokio::spawn({
        let outbox = replicas[0].1.clone();
        let writing = writing.clone();
        async move {
            let (mut cursor, mut seen) = (0, Vec::new());
            loop {
                let done = writing.is_cancelled();
                for event in outbox.read_after(cursor, 7).await.expect("read") {
                    cursor = event.sequence;
                    seen.push(event.aggregate_id);
                }
                if done && outbox.read_after(cursor, 1).await.expect("read").is_empty() {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        }
    });
    let mut writers = tokio::task::JoinSet::new();
    for index in 0..EVENTS {
        let (database, outbox) = replicas[index % 2].clone();
        writers.spawn(async move {
            let aggregate = format!("a-{index:02}");
            let mut transaction = database.begin_write().await.expect("begin");
            outbox
                .append(&mut transaction, &aggregate, created("x"))
                .await
                .expect("append");
            outbox.commit(transaction).await.expect("commit");
        });
    }
    while let Some(written) = writers.join_next().await {
        written.expect("a writer ends");
    }
    let numbers: Vec<i64> = numbered(&replicas[1].1, EVENTS)
        .await
        .iter()
        .map(|event| event.sequence)
        .collect();
    assert_eq!(
        numbers,
        (1..=EVENTS as i64).collect::<Vec<_>>(),
        "numbered without gaps"
    );
    writing.cancel();
    let mut seen = reader.await.expect("the reader ends");
    seen.sort();
    let expected: Vec<String> = (0..EVENTS).map(|index| format!("a-{index:02}")).collect();
    assert_eq!(seen, expected, "the reader saw each event once");
}

/// A stored payload that does not decode is a poison event: it comes back as its envelope
/// without a payload, and the events after it still come, so no subscriber stops at it.
async fn a_payload_that_does_not_decode_is_read_as_its_envelope_and_the_stream_goes_on(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let outbox = Outbox::new(database.clone(), "test");
    let mut before = database.begin_write().await.expect("begin");
    outbox
        .append(&mut before, "a-1", created("before"))
        .await
        .expect("append");
    outbox.commit(before).await.expect("commit");
    let mut poison = database.begin_write().await.expect("begin");
    // A field number with a wire type protobuf does not know: no Event decodes from it.
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, occurred_at, payload) \
         VALUES ('poison-1', 'rti.registry.v1.ProviderCreated', 'a-2', 7, $1)",
    )
    .bind(vec![0xff_u8, 0xff, 0xff, 0xff])
    .execute(&mut *poison)
    .await
    .expect("insert the poison event");
    outbox.commit(poison).await.expect("commit");
    let mut after = database.begin_write().await.expect("begin");
    outbox
        .append(&mut after, "a-3", created("after"))
        .await
        .expect("append");
    outbox.commit(after).await.expect("commit");

    // `numbered` reads as the subscribers do: the poison event must not fail the read.
    let events = numbered(&outbox, 3).await;
    let aggregates: Vec<&str> = events.iter().map(|event| event.aggregate_id.as_str()).collect();
    assert_eq!(aggregates, ["a-1", "a-2", "a-3"]);
    let poisoned = &events[1];
    assert_eq!(poisoned.payload, None, "{poisoned:?}");
    assert_eq!(poisoned.id, "poison-1");
    assert_eq!(poisoned.r#type, "rti.registry.v1.ProviderCreated");
    assert_eq!(poisoned.source, "test");
    assert!(events[0].sequence < poisoned.sequence && poisoned.sequence < events[2].sequence);
    assert!(events[2].payload.is_some());
}

backend_tests!(
    a_payload_that_does_not_decode_is_read_as_its_envelope_and_the_stream_goes_on,
    events_exist_only_with_their_transaction,
    sequences_increase_in_commit_order_and_reads_resume_after_a_cursor,
    idempotency_keys_replay_and_refuse_mismatches,
    replicas_committing_side_by_side_leave_no_gap_a_reader_could_skip,
);
