//! `rti migrate`, the init step of a Kubernetes rollout: it brings a database to the schema the
//! binary expects and exits, so the service that starts next has nothing left to apply.

use rti_platform::db::{Backend, Database, DatabaseUrl};
use rti_platform::testing::TestDatabase;
use sqlx::AnyPool;

use crate::{rti, run, stderr_lines};

async fn applied_versions(url: &DatabaseUrl) -> Vec<i64> {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url.as_str()).await.expect("connects");
    let versions = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .expect("the migrations table exists");
    pool.close().await;
    versions
}

async fn migrate_leaves_nothing_for_the_service_to_apply(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.as_str().to_owned();
    // As the init container runs it: the URL from the environment.
    let output = tokio::task::spawn_blocking(move || {
        rti(&["migrate", "registry"])
            .env("RTI_SERVICE_DATABASE_URL", url)
            .output()
            .expect("rti runs")
    })
    .await
    .expect("joined");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "migrations applied");
    let migrated = applied_versions(&database.url).await;
    assert!(
        migrated.len() >= 3,
        "the platform's and the registry's migrations: {migrated:?}"
    );

    // The service opening the store afterwards applies nothing more, and finds its tables.
    let store = Database::open(&database.url, rti_registry::app::SPEC.migrations, 2)
        .await
        .expect("the service opens the migrated store");
    let providers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM providers")
        .fetch_one(store.readers())
        .await
        .expect("the registry's tables exist");
    assert_eq!(providers, 0);
    store.close().await;
    assert_eq!(applied_versions(&database.url).await, migrated);

    // A second run is a no-op, as a restarted pod's init container is.
    let url = database.url.as_str().to_owned();
    let again = tokio::task::spawn_blocking(move || run(&["migrate", "registry", "--database-url", &url]))
        .await
        .expect("joined");
    assert!(again.status.success(), "{again:?}");
    assert_eq!(applied_versions(&database.url).await, migrated);
}

#[tokio::test]
async fn migrate_leaves_nothing_for_the_service_to_apply_on_sqlite() {
    migrate_leaves_nothing_for_the_service_to_apply(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrate_leaves_nothing_for_the_service_to_apply_on_postgres() {
    migrate_leaves_nothing_for_the_service_to_apply(Backend::Postgres).await;
}

#[test]
fn migrate_without_a_database_or_with_an_unknown_service_is_one_line() {
    for (arguments, mentions) in [
        (vec!["migrate", "registry"], vec!["--database-url"]),
        (
            vec!["migrate", "catalogue", "--database-url", "sqlite://x.db"],
            vec!["catalogue", "registry"],
        ),
    ] {
        let output = run(&arguments);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {output:?}");
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        for mention in mentions {
            assert!(lines[0].contains(mention), "{:?} names {mention}", lines[0]);
        }
    }
}

/// docs/operations.md's rollback story: a binary older than the schema refuses to start rather
/// than run on tables it does not know, so going back means restoring the backup taken before
/// the upgrade.
async fn an_older_binary_refuses_a_newer_schema(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.as_str().to_owned();
    let first = tokio::task::spawn_blocking({
        let url = url.clone();
        move || run(&["migrate", "intake", "--database-url", &url])
    })
    .await
    .expect("joined");
    assert!(first.status.success(), "{first:?}");
    // What a newer release's migration leaves behind: a version this binary does not carry.
    let pool = AnyPool::connect(&url).await.expect("connects");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 99999, 'from a newer release', success, checksum, execution_time FROM _sqlx_migrations \
         WHERE version = (SELECT MIN(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .expect("records a newer migration");
    pool.close().await;
    let refused = tokio::task::spawn_blocking(move || run(&["migrate", "intake", "--database-url", &url]))
        .await
        .expect("joined");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let lines = stderr_lines(&refused);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("99999"), "{:?} names the unknown migration", lines[0]);
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema_on_sqlite() {
    sqlx::any::install_default_drivers();
    an_older_binary_refuses_a_newer_schema(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema_on_postgres() {
    sqlx::any::install_default_drivers();
    an_older_binary_refuses_a_newer_schema(Backend::Postgres).await;
}
