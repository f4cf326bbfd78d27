//! docs/operations.md's backup and restore, done as written against a running registry: an
//! online copy (SQLite `VACUUM INTO` beside the running service; PostgreSQL `pg_dump -Fc`),
//! a write after it, the service stopped, the copy restored (a file copy; `pg_restore` into a
//! new database), and a registry started on the restored store answers what the copy held and
//! nothing written after it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rti_platform::auth::{Claims, Role, mint_hs256};
use rti_platform::db::{Backend, DatabaseUrl};
use rti_platform::testing::TestDatabase;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateProviderRequest, GetProviderRequest, Provider};

use crate::manifests::live::{self, Running, SECRET, SERVICE_SECRET};

fn start_registry(url: &str) -> Running {
    live::start(&[
        "serve",
        "registry",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        url,
        "--auth-service-secret",
        SERVICE_SECRET,
    ])
}

async fn client(registry: &Running) -> RegistryServiceClient<tonic::transport::Channel> {
    RegistryServiceClient::new(rti_platform::testing::connect(registry.address).await)
}

async fn create_provider(registry: &Running, name: &str) -> String {
    let token = mint_hs256(
        SECRET,
        &Claims::new("backup-test", &[Role::Admin], Duration::from_secs(600)),
    )
    .expect("a token");
    let request = CreateProviderRequest {
        request_id: String::new(),
        provider: Some(Provider {
            name: name.into(),
            country: "FI".into(),
            ..Provider::default()
        }),
    };
    let created = client(registry)
        .await
        .create_provider(rti_platform::testing::with_token(request, &token))
        .await
        .expect("CreateProvider");
    created.into_inner().id
}

async fn provider(registry: &Running, id: &str) -> Result<Provider, tonic::Code> {
    client(registry)
        .await
        .get_provider(GetProviderRequest { id: id.into() })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| status.code())
}

/// The newest PostgreSQL client tools installed, as scripts/test picks the server's.
fn postgres_tool(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's tools under /usr/lib/postgresql (scripts/test installs them)")
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin").join(name)))
        .filter(|tool| tool.exists())
        .collect();
    versions.sort_by_key(|tool| {
        let version = tool
            .components()
            .nth(4)
            .map(|part| part.as_os_str().to_string_lossy().into_owned());
        version.and_then(|version| version.parse::<u32>().ok()).unwrap_or(0)
    });
    versions
        .pop()
        .unwrap_or_else(|| panic!("no {name} under /usr/lib/postgresql/*/bin"))
}

fn succeeds(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An online copy of the running registry's store, as docs/operations.md takes it.
async fn back_up(url: &DatabaseUrl, into: &Path) {
    match url.backend() {
        Backend::Sqlite => {
            // What `sqlite3 registry.db "VACUUM INTO '…'"` runs: a consistent snapshot taken in
            // a read transaction, beside the service's own connections (WAL lets both go on).
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(url.as_str()).await.expect("connects");
            let statement = format!("VACUUM INTO '{}'", into.display());
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&pool)
                .await
                .expect("VACUUM INTO");
            pool.close().await;
        }
        Backend::Postgres => succeeds(
            Command::new(postgres_tool("pg_dump"))
                .args(["--format=custom", "--file"])
                .arg(into)
                .args(["--dbname", url.as_str()]),
        ),
    }
}

/// The copy made a store again: a file in place (no -wal or -shm beside it), or a new database
/// filled by `pg_restore`. Returns the restored store's URL.
async fn restore(backend: Backend, copy: &Path, directory: &Path) -> (DatabaseUrl, Option<TestDatabase>) {
    match backend {
        Backend::Sqlite => {
            let restored = directory.join("restored.db");
            std::fs::copy(copy, &restored).expect("copies the backup into place");
            (DatabaseUrl::sqlite_file(&restored), None)
        }
        Backend::Postgres => {
            let empty = TestDatabase::create(Backend::Postgres)
                .await
                .expect("a PostgreSQL database");
            succeeds(
                Command::new(postgres_tool("pg_restore"))
                    .args(["--no-owner", "--exit-on-error", "--dbname", empty.url.as_str()])
                    .arg(copy),
            );
            (empty.url.clone(), Some(empty))
        }
    }
}

async fn a_restored_backup_serves_what_it_held(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let directory = tempfile::tempdir().expect("tempdir");
    let copy = directory.path().join("registry.backup");

    let running = start_registry(database.url.as_str());
    let kept = create_provider(&running, "Backed-up Optics Lab").await;
    back_up(&database.url, &copy).await;
    let lost = create_provider(&running, "Written after the backup").await;
    assert!(provider(&running, &lost).await.is_ok());
    drop(running);

    let (restored_url, _restored_database) = restore(backend, &copy, directory.path()).await;
    let restored = start_registry(restored_url.as_str());
    let found = provider(&restored, &kept).await.expect("the backed-up provider");
    assert_eq!(found.name, "Backed-up Optics Lab");
    assert_eq!(
        provider(&restored, &lost).await.expect_err("after the backup"),
        tonic::Code::NotFound
    );
    // The restored store takes writes again: its sequences and migrations came with it.
    let after = create_provider(&restored, "Written after the restore").await;
    assert!(provider(&restored, &after).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_serves_what_it_held_on_sqlite() {
    a_restored_backup_serves_what_it_held(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_serves_what_it_held_on_postgres() {
    a_restored_backup_serves_what_it_held(Backend::Postgres).await;
}
