//! Write transactions on both backends: a commit returns once the write is durable and visible
//! to readers, a failed or abandoned write takes no other with it, and on SQLite the writes
//! queued behind one share its commit (group commit) while none is acknowledged before it.

use std::sync::Arc;
use std::time::Duration;

use rti_platform::backend_tests;
use rti_platform::db::{Backend, Database, Migrations, WriteTx};
use rti_platform::testing::TestDatabase;
use tokio::sync::oneshot;

async fn open(backend: Backend) -> Option<(TestDatabase, Database)> {
    let test_database = TestDatabase::create(backend).await?;
    let database = Database::open(&test_database.url, &Migrations::NONE, 4)
        .await
        .expect("opens and migrates");
    let mut transaction = database.begin_write().await.expect("begin");
    sqlx::query("CREATE TABLE notes (name TEXT PRIMARY KEY)")
        .execute(&mut *transaction)
        .await
        .expect("creates the table");
    transaction.commit().await.expect("commit");
    Some((test_database, database))
}

async fn insert(transaction: &mut WriteTx, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO notes (name) VALUES ($1)")
        .bind(name)
        .execute(&mut **transaction)
        .await
        .map(drop)
}

/// What a reader (not the writer) sees: only what is committed.
async fn visible(database: &Database) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM notes ORDER BY name")
        .fetch_all(database.readers())
        .await
        .expect("reads")
}

/// Long enough for a spawned task to be queued for the writer, even on a loaded machine.
const SETTLE: Duration = Duration::from_millis(500);

async fn concurrent_writes_commit_visibly_and_failures_take_no_other_write(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let mut tasks = Vec::new();
    for index in 0..48 {
        let database = database.clone();
        tasks.push(tokio::spawn(async move {
            let mut transaction = database.begin_write().await.expect("begin");
            let name = format!("note-{index:02}");
            insert(&mut transaction, &name).await.expect("insert");
            match index % 4 {
                // A statement that fails (the name is taken), then the write is dropped.
                0 => {
                    let error = insert(&mut transaction, &name).await.expect_err("a duplicate");
                    assert!(error.to_string().to_lowercase().contains("unique"), "{error}");
                    drop(transaction);
                    None
                }
                1 => {
                    transaction.rollback().await.expect("rollback");
                    None
                }
                _ => {
                    transaction.commit().await.expect("commit");
                    // Acknowledged means committed: a reader sees it at once.
                    assert!(
                        visible(&database).await.contains(&name),
                        "{name} is visible once committed"
                    );
                    Some(name)
                }
            }
        }));
    }
    let mut committed = Vec::new();
    for task in tasks {
        committed.extend(task.await.expect("the write task ends"));
    }
    committed.sort();
    assert_eq!(committed.len(), 24);
    assert_eq!(
        visible(&database).await,
        committed,
        "exactly the committed writes, nothing else"
    );
}

async fn a_write_queued_behind_another_shares_its_commit_on_sqlite_only(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let mut first = database.begin_write().await.expect("begin");
    insert(&mut first, "first").await.expect("insert");

    let (began, second_began) = oneshot::channel();
    let (finish, may_finish) = oneshot::channel::<()>();
    let second = tokio::spawn({
        let database = database.clone();
        async move {
            let mut transaction = database.begin_write().await.expect("begin");
            insert(&mut transaction, "second").await.expect("insert");
            began.send(()).expect("the test waits");
            may_finish.await.expect("the test says when");
            transaction.commit().await
        }
    });
    tokio::time::sleep(SETTLE).await;
    let first_committed = tokio::spawn(first.commit());
    tokio::time::timeout(Duration::from_secs(10), second_began)
        .await
        .expect("the second write begins once the first is done with the connection")
        .expect("began");

    match backend {
        Backend::Sqlite => {
            // The first write waits for the group it left open to the second, and is not
            // visible (not durable) until the group commits.
            tokio::time::sleep(SETTLE).await;
            assert!(
                !first_committed.is_finished(),
                "no acknowledgement before the group commits"
            );
            assert!(visible(&database).await.is_empty());
        }
        Backend::Postgres => {
            // Each write commits on its own.
            first_committed.await.expect("ends").expect("commits");
            assert_eq!(visible(&database).await, ["first"]);
            finish.send(()).expect("the writer waits");
            second.await.expect("ends").expect("commits");
            assert_eq!(visible(&database).await, ["first", "second"]);
            return;
        }
    }
    finish.send(()).expect("the writer waits");
    second.await.expect("ends").expect("commits");
    first_committed.await.expect("ends").expect("commits with the group");
    assert_eq!(visible(&database).await, ["first", "second"]);
}

async fn an_abandoned_write_is_rolled_back_and_the_writes_behind_it_go_on(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let (began, abandoned_began) = oneshot::channel();
    let abandoned = tokio::spawn({
        let database = database.clone();
        async move {
            let mut transaction = database.begin_write().await.expect("begin");
            insert(&mut transaction, "abandoned").await.expect("insert");
            began.send(()).expect("the test waits");
            // Holds the write until the task is aborted, as a cancelled call would.
            std::future::pending::<()>().await;
            drop(transaction);
        }
    });
    abandoned_began.await.expect("began");
    let behind: Vec<_> = ["behind-1", "behind-2"]
        .into_iter()
        .map(|name| {
            let database = database.clone();
            tokio::spawn(async move {
                let mut transaction = database.begin_write().await.expect("begin");
                insert(&mut transaction, name).await.expect("insert");
                transaction.commit().await.expect("commit");
            })
        })
        .collect();
    tokio::time::sleep(SETTLE).await;
    abandoned.abort();
    for task in behind {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the writes behind an abandoned one go on")
            .expect("commit");
    }
    assert_eq!(visible(&database).await, ["behind-1", "behind-2"]);

    // The writer is whole again: a later write commits alone.
    let mut later = database.begin_write().await.expect("begin");
    insert(&mut later, "later").await.expect("insert");
    later.commit().await.expect("commit");
    assert_eq!(visible(&database).await, ["behind-1", "behind-2", "later"]);
}

async fn a_write_that_reads_an_uncommitted_group_member_waits_for_the_group(backend: Backend) {
    let Some((_guard, database)) = open(backend).await else {
        return;
    };
    let database = Arc::new(database);
    let mut first = database.begin_write().await.expect("begin");
    insert(&mut first, "key").await.expect("insert");
    let reader = tokio::spawn({
        let database = database.clone();
        async move {
            let mut transaction = database.begin_write().await.expect("begin");
            let found: Option<String> = sqlx::query_scalar("SELECT name FROM notes WHERE name = 'key'")
                .fetch_optional(&mut *transaction)
                .await
                .expect("reads");
            // A replay of what it found: rolled back, and answered only once that is durable.
            transaction.rollback().await.expect("the group commits");
            found
        }
    });
    tokio::time::sleep(SETTLE).await;
    first.commit().await.expect("commit");
    let found = reader.await.expect("ends");
    // On SQLite the second write joined the first's group and read its row; on PostgreSQL it
    // ran beside it and saw nothing uncommitted.
    let expected = match backend {
        Backend::Sqlite => Some("key"),
        Backend::Postgres => None,
    };
    assert_eq!(found.as_deref(), expected);
    assert_eq!(
        visible(&database).await,
        ["key"],
        "what the second write read is durable"
    );
}

/// A write given up at any point (a crashed in-process service drops its tasks) leaves the
/// store free: another instance on the same database writes at once, and nothing of the
/// abandoned write remains.
async fn writes_given_up_leave_the_store_free_for_another_instance(backend: Backend) {
    let Some((test_database, database)) = open(backend).await else {
        return;
    };
    // One abandoned inside its savepoint with nobody queued behind it, one while waiting for
    // the connection behind a write that left the group open for it.
    let (began, abandoned_began) = oneshot::channel();
    let abandoned = tokio::spawn({
        let database = database.clone();
        async move {
            let mut transaction = database.begin_write().await.expect("begin");
            insert(&mut transaction, "abandoned").await.expect("insert");
            began.send(()).expect("the test waits");
            std::future::pending::<()>().await;
            drop(transaction);
        }
    });
    abandoned_began.await.expect("began");
    let queued = tokio::spawn({
        let database = database.clone();
        async move { drop(database.begin_write().await) }
    });
    tokio::time::sleep(SETTLE).await;
    abandoned.abort();
    queued.abort();
    let _ = abandoned.await;
    let _ = queued.await;

    let other = Database::open(&test_database.url, &Migrations::NONE, 2)
        .await
        .expect("another instance opens");
    let written = tokio::time::timeout(Duration::from_secs(3), async {
        let mut transaction = other.begin_write().await?;
        insert(&mut transaction, "other").await?;
        transaction.commit().await
    })
    .await
    .expect("the store is free within three seconds, not held by what was given up");
    written.expect("another instance writes");
    assert_eq!(visible(&other).await, ["other"]);
}

backend_tests!(
    concurrent_writes_commit_visibly_and_failures_take_no_other_write,
    a_write_queued_behind_another_shares_its_commit_on_sqlite_only,
    an_abandoned_write_is_rolled_back_and_the_writes_behind_it_go_on,
    a_write_that_reads_an_uncommitted_group_member_waits_for_the_group,
    writes_given_up_leave_the_store_free_for_another_instance,
);
