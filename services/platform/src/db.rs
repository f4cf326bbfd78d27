//! Storage setup for both backends. SQLite (the embedded default): WAL, a single writer
//! connection whose transactions start with `BEGIN IMMEDIATE` (so two writers never deadlock on
//! a lock upgrade) and are shared by the writes queued at the time, each in its own savepoint
//! (`group_commit`), a separate pool of readers, `synchronous=FULL` so an acknowledged write
//! survives a crash. PostgreSQL (production): one pool. Migrations per backend are applied at
//! start: the platform's own (outbox, idempotency keys; versions below 100) followed by the
//! service's (versions 100 and up).
//!
//! Queries go through sqlx's `Any` driver with portable SQL: ids as TEXT, times as BIGINT
//! microseconds, booleans as INTEGER (see `reference/stack-notes.md`).

mod group_commit;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Transaction};

use group_commit::{GroupWriter, Turn};

/// A write transaction: `&mut *transaction` is the connection to run its statements on, and
/// [`WriteTx::commit`] returns once the write is durable. Dropped without either, it rolls back.
#[derive(Debug)]
pub struct WriteTx(Write);

#[derive(Debug)]
enum Write {
    /// PostgreSQL: a transaction of its own.
    Own(Transaction<'static, Any>),
    /// SQLite: a savepoint in a transaction shared with the writes queued beside it.
    Grouped(Turn),
}

impl WriteTx {
    /// Commits; on SQLite, once the group this write joined has committed.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Write::Own(transaction) => transaction.commit().await,
            Write::Grouped(turn) => turn.commit().await,
        }
    }

    /// Rolls back; on SQLite, once the group whose uncommitted writes this one may have read
    /// has an outcome.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Write::Own(transaction) => transaction.rollback().await,
            Write::Grouped(turn) => turn.rollback().await,
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Write::Own(transaction) => transaction,
            Write::Grouped(turn) => turn.connection(),
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Write::Own(transaction) => transaction,
            Write::Grouped(turn) => turn.connection_mut(),
        }
    }
}

/// The two stores the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A validated database URL: `sqlite://PATH` (created when missing) or `postgres://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    url: String,
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The file of a SQLite URL (`sqlite://data/registry.db?mode=rwc` → `data/registry.db`);
    /// `None` for PostgreSQL and in-memory SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next()?;
        (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
    }

    /// A SQLite file, created on first use.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}?mode=rwc", path.display()),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = input.strip_prefix("sqlite:") {
            if rest.trim_start_matches('/').is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite://data/registry.db".into());
            }
            let url = if input.contains("mode=") {
                input.to_owned()
            } else if input.contains('?') {
                format!("{input}&mode=rwc")
            } else {
                format!("{input}?mode=rwc")
            };
            return Ok(Self {
                backend: Backend::Sqlite,
                url,
            });
        }
        if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            url::Url::parse(input).map_err(|error| format!("not a valid URL: {error}"))?;
            return Ok(Self {
                backend: Backend::Postgres,
                url: input.to_owned(),
            });
        }
        Err(format!(
            "unsupported database URL {input:?}: expected sqlite://PATH or postgres://…"
        ))
    }
}

/// A service's migrations, one set per backend, built with `sqlx::migrate!`.
#[derive(Debug)]
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

impl Migrations {
    /// For a service whose own tables are still to come: only the platform's are applied.
    pub const NONE: Migrations = Migrations {
        sqlite: Migrator::DEFAULT,
        postgres: Migrator::DEFAULT,
    };
}

static PLATFORM_SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static PLATFORM_POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// An open store: a writer and readers on SQLite, one pool on PostgreSQL.
#[derive(Debug, Clone)]
pub struct Database {
    backend: Backend,
    writer: Writer,
    readers: AnyPool,
}

#[derive(Debug, Clone)]
enum Writer {
    Pool(AnyPool),
    Grouped(GroupWriter),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot connect to the database: no answer within {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout,
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("migration versions collide: platform and service both define version {0}")]
    VersionCollision(i64),
    #[error("cannot create the database file {}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long health waits for the store's answer. While the database is away the pool retries its
/// connection until its acquire timeout (10 s): a probe must see NOT_SERVING long before that.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `cache_size` is in KiB when negative: 32 MiB a connection, grown into only as pages are read,
/// so that a writer's index pages stay in memory as a table grows past SQLite's default 2 MiB.
const SQLITE_PRAGMAS: [&str; 5] = [
    "PRAGMA busy_timeout = 5000",
    "PRAGMA cache_size = -32768",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA temp_store = MEMORY",
];

impl Database {
    /// Connects, applies the platform's and the service's migrations, and returns the store.
    pub async fn open(url: &DatabaseUrl, migrations: &Migrations, max_connections: u32) -> Result<Self, OpenError> {
        install_default_drivers();
        let (backend, writer, readers) = match url.backend {
            Backend::Sqlite => {
                if let Some(path) = url.sqlite_path().filter(|_| !url.as_str().contains("mode=ro")) {
                    private_file(&path).map_err(|source| OpenError::File { path, source })?;
                }
                let writer = sqlite_pool(url.as_str(), 1).await?;
                // WAL is a property of the file; set it once, on the writer, before readers open.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&writer)
                    .await
                    .map_err(OpenError::Connect)?;
                let readers = sqlite_pool(url.as_str(), max_connections.max(1)).await?;
                (Backend::Sqlite, writer, readers)
            }
            Backend::Postgres => {
                // One direct connection first: a pool would hide "connection refused" or "password
                // authentication failed" behind a timeout.
                let probe = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect(url.as_str()))
                    .await
                    .map_err(|_| OpenError::ConnectTimeout)?
                    .map_err(OpenError::Connect)?;
                let _ = probe.close().await;
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url.as_str())
                    .await
                    .map_err(OpenError::Connect)?;
                (Backend::Postgres, pool.clone(), pool)
            }
        };
        let service = match backend {
            Backend::Sqlite => &migrations.sqlite,
            Backend::Postgres => &migrations.postgres,
        };
        migrate(backend, &writer, service).await?;
        let writer = match backend {
            // The writer's one connection leaves its pool for good: the group writer holds it.
            Backend::Sqlite => {
                let connection = writer.acquire().await.map_err(OpenError::Connect)?.detach();
                writer.close().await;
                Writer::Grouped(GroupWriter::new(connection))
            }
            Backend::Postgres => Writer::Pool(writer),
        };
        Ok(Self {
            backend,
            writer,
            readers,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads. On SQLite these connections never write.
    pub fn readers(&self) -> &AnyPool {
        &self.readers
    }

    /// Begins a write transaction: on SQLite, a savepoint on the single writer in the group's
    /// transaction (begun with `BEGIN IMMEDIATE`, so the write lock is taken up front); a plain
    /// `BEGIN` on PostgreSQL.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let write = match &self.writer {
            Writer::Grouped(writer) => Write::Grouped(writer.begin().await?),
            Writer::Pool(pool) => Write::Own(pool.begin().await?),
        };
        Ok(WriteTx(write))
    }

    /// The clause that locks the rows a write transaction reads: `FOR UPDATE` where the backend
    /// has it; SQLite's single writer already serialises.
    pub fn lock_clause(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Whether the store answers a trivial query now, within [`PING_TIMEOUT`].
    pub async fn ping(&self) -> bool {
        let answered = tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.readers)).await;
        matches!(answered, Ok(Ok(_)))
    }

    pub async fn close(&self) {
        self.readers.close().await;
        match &self.writer {
            Writer::Grouped(writer) => writer.close().await,
            Writer::Pool(pool) => pool.close().await,
        }
    }
}

/// Applies the platform's migrations, then the service's.
async fn migrate(backend: Backend, writer: &AnyPool, service: &Migrator) -> Result<(), OpenError> {
    let platform = match backend {
        Backend::Sqlite => &PLATFORM_SQLITE,
        Backend::Postgres => &PLATFORM_POSTGRES,
    };
    if let Some(collision) = service
        .iter()
        .find(|migration| platform.version_exists(migration.version))
    {
        return Err(OpenError::VersionCollision(collision.version));
    }
    let combined = Migrator::with_migrations(platform.iter().chain(service.iter()).cloned().collect());
    combined.run(writer).await.map_err(OpenError::Migrate)
}

/// Creates `directory` and its missing parents readable by this process's user only (0700), and
/// narrows an existing one to that: data directories hold companies' confidential requests and
/// sanctions verdicts.
pub fn private_directory(directory: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(directory)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates a SQLite file readable and writable by this process's user only (0600) before SQLite
/// opens it, and narrows an existing one to that; SQLite gives its `-wal` and `-shm` files the
/// database file's mode.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

async fn sqlite_pool(url: &str, max_connections: u32) -> Result<AnyPool, OpenError> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|connection, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    sqlx::query(pragma).execute(&mut *connection).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(OpenError::Connect)
}

/// What a store needs to know about a failed statement to translate it for the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    UniqueViolation,
    ForeignKeyViolation,
    /// Lock contention or a serialization failure: safe for the client to retry.
    Contention,
    /// The store cannot be reached or has no free connection.
    Unavailable,
    Other,
}

pub fn classify(error: &sqlx::Error) -> DbFailure {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => DbFailure::Unavailable,
        sqlx::Error::Database(database_error) => {
            use sqlx::error::ErrorKind;
            match database_error.kind() {
                ErrorKind::UniqueViolation => DbFailure::UniqueViolation,
                ErrorKind::ForeignKeyViolation => DbFailure::ForeignKeyViolation,
                _ => match database_error.code().as_deref() {
                    // SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
                    Some("5" | "6" | "261" | "262" | "517") => DbFailure::Contention,
                    // PostgreSQL serialization_failure, deadlock_detected, lock_not_available.
                    Some("40001" | "40P01" | "55P03") => DbFailure::Contention,
                    _ => DbFailure::Other,
                },
            }
        }
        _ => DbFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_urls_and_creates_missing_files() {
        let url: DatabaseUrl = "sqlite://data/registry.db".parse().expect("valid");
        assert_eq!(url.backend(), Backend::Sqlite);
        assert_eq!(url.as_str(), "sqlite://data/registry.db?mode=rwc");
        let explicit: DatabaseUrl = "sqlite://x.db?mode=ro".parse().expect("valid");
        assert_eq!(explicit.as_str(), "sqlite://x.db?mode=ro");
    }

    #[test]
    fn names_the_file_of_sqlite_urls_only() {
        let file = |url: &str| url.parse::<DatabaseUrl>().expect("valid").sqlite_path();
        assert_eq!(file("sqlite://data/registry.db"), Some("data/registry.db".into()));
        assert_eq!(
            file("sqlite:///var/rti/registry.db?mode=ro"),
            Some("/var/rti/registry.db".into())
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://rti@localhost/registry"), None);
    }

    #[test]
    fn parses_postgres_urls() {
        let url: DatabaseUrl = "postgres://rti@localhost:5432/registry".parse().expect("valid");
        assert_eq!(url.backend(), Backend::Postgres);
    }

    #[test]
    fn rejects_other_schemes_and_empty_paths_with_a_reason() {
        let error = "mysql://localhost/db".parse::<DatabaseUrl>().expect_err("unsupported");
        assert!(error.contains("expected sqlite://PATH or postgres://"), "{error}");
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
    }

    /// A store that cannot hand out a connection (every one busy, or the database away while the
    /// pool retries) must read as unreachable within the ping's bound, not after the pool's 10 s
    /// acquire timeout: health turns NOT_SERVING that much sooner.
    #[tokio::test]
    async fn ping_gives_up_within_its_bound_when_no_connection_comes() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let url = DatabaseUrl::sqlite_file(&directory.path().join("ping.db"));
        let database = Database::open(&url, &Migrations::NONE, 1).await.expect("opens");
        assert!(database.ping().await, "an idle store answers");
        let held = database.readers().acquire().await.expect("the one reader");
        let started = std::time::Instant::now();
        assert!(!database.ping().await, "no reader is free");
        let waited = started.elapsed();
        assert!(
            waited >= PING_TIMEOUT && waited < Duration::from_secs(9),
            "gave up after {waited:?}"
        );
        drop(held);
        assert!(database.ping().await, "the reader is free again");
    }
}
