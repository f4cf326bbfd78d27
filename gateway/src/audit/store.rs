//! Where the audit chain is kept: SQLite under the data directory by default, PostgreSQL when a
//! URL is given, with migrations per backend like the services' stores. An append is one
//! transaction that locks the chain's head row (SQLite's single writer already serialises; on
//! PostgreSQL `FOR UPDATE`, which also serialises two gateway replicas on one database), reads
//! the last sequence and hash, inserts the entry after them and moves the head: a crash leaves the
//! chain as it was or with the whole entry, never with a gap or a fork. The appends that arrive
//! while one transaction is being written go into the next, together (one head update and one
//! sync for all of them), and each caller hears once its entry is durable: an audited write pays
//! a share of a sync, not a sync of its own in a line that one head row keeps single-file.

use rti_platform::db::{Database, DatabaseUrl, Migrations, OpenError, WriteTx};
use rti_platform::error::error_chain;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::entry::{AuditDraft, AuditEntry, ResourceId};

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

const COLUMNS: &str = "sequence, recorded_at, subject, roles, rpc, protocol, resource_ids, outcome, \
                       request_id, trace_id, previous_hash, hash";

/// The most appends written in one transaction.
const MAX_BATCH: usize = 256;

/// An append waiting for its transaction, and who waits for its entry.
type Pending = (AuditDraft, oneshot::Sender<Result<AuditEntry, String>>);

/// The audit chain's store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditStore {
    database: Database,
    appends: mpsc::Sender<Pending>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditStoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("entry {sequence} is unreadable: {reason}")]
    Unreadable { sequence: i64, reason: String },
    #[error("the append was not written: {0}")]
    NotWritten(String),
    #[error("the audit store has stopped")]
    Stopped,
}

impl AuditStore {
    /// Opens the store and applies its migrations (besides the platform's, which every store
    /// of the suite gets and the audit leaves empty).
    pub async fn open(url: &DatabaseUrl) -> Result<Self, OpenError> {
        // Appends are serialised on the head row: more connections would only wait.
        let database = Database::open(url, &MIGRATIONS, 2).await?;
        let (appends, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(database.clone(), queue));
        Ok(Self { database, appends })
    }

    pub async fn close(&self) {
        self.database.close().await;
    }

    /// Appends `draft` after the chain's head; returns once it is durable.
    pub async fn append(&self, draft: AuditDraft) -> Result<AuditEntry, AuditStoreError> {
        let (done, written) = oneshot::channel();
        self.appends
            .send((draft, done))
            .await
            .map_err(|_| AuditStoreError::Stopped)?;
        written
            .await
            .map_err(|_| AuditStoreError::Stopped)?
            .map_err(AuditStoreError::NotWritten)
    }

    /// Up to `limit` entries after sequence `after`, in order.
    pub async fn entries_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, AuditStoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_entries WHERE sequence > $1 ORDER BY sequence LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter().map(entry_of).collect()
    }

    /// The sequence and hash of the last entry, as the head row records them (0 and
    /// [`super::GENESIS_HASH`] for an empty chain).
    pub async fn head(&self) -> Result<(i64, String), AuditStoreError> {
        let head = sqlx::query("SELECT sequence, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.database.readers())
            .await?;
        Ok((head.try_get("sequence")?, head.try_get("hash")?))
    }
}

/// Writes the appends waiting in `queue`, as many at a time as have arrived, until every sender
/// is gone.
async fn write_batches(database: Database, mut queue: mpsc::Receiver<Pending>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let (drafts, waiting): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        match append_all(&database, drafts).await {
            Ok(entries) => {
                for (entry, done) in entries.into_iter().zip(waiting) {
                    let _ = done.send(Ok(entry));
                }
            }
            Err(error) => {
                let reason = error_chain(&error);
                for done in waiting {
                    let _ = done.send(Err(reason.clone()));
                }
            }
        }
    }
}

/// Appends `drafts` after the chain's head, in order, in one transaction.
async fn append_all(database: &Database, drafts: Vec<AuditDraft>) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let mut transaction = database.begin_write().await?;
    let head = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT sequence, hash FROM audit_head WHERE id = 1{}",
        database.lock_clause()
    )))
    .fetch_one(&mut *transaction)
    .await?;
    let mut sequence: i64 = head.try_get("sequence")?;
    let mut hash: String = head.try_get("hash")?;
    let mut entries = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let entry = draft.seal(sequence + 1, hash);
        insert(&mut transaction, &entry).await?;
        (sequence, hash) = (entry.sequence, entry.hash.clone());
        entries.push(entry);
    }
    sqlx::query("UPDATE audit_head SET sequence = $1, hash = $2 WHERE id = 1")
        .bind(sequence)
        .bind(hash)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(entries)
}

/// Inserts one sealed entry.
async fn insert(transaction: &mut WriteTx, entry: &AuditEntry) -> Result<(), sqlx::Error> {
    let resource_ids = serde_json::to_string(&entry.draft.resource_ids).unwrap_or_else(|_| "[]".into());
    let roles = serde_json::to_string(&entry.draft.roles).unwrap_or_else(|_| "[]".into());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_entries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )))
    .bind(entry.sequence)
    .bind(entry.draft.recorded_at)
    .bind(entry.draft.subject.clone())
    .bind(roles)
    .bind(entry.draft.rpc.clone())
    .bind(entry.draft.protocol.clone())
    .bind(resource_ids)
    .bind(entry.draft.outcome)
    .bind(entry.draft.request_id.clone())
    .bind(entry.draft.trace_id.clone())
    .bind(entry.previous_hash.clone())
    .bind(entry.hash.clone())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

fn entry_of(row: &sqlx::any::AnyRow) -> Result<AuditEntry, AuditStoreError> {
    let sequence: i64 = row.try_get("sequence")?;
    let unreadable = |reason: String| AuditStoreError::Unreadable { sequence, reason };
    let roles: String = row.try_get("roles")?;
    let resource_ids: String = row.try_get("resource_ids")?;
    Ok(AuditEntry {
        sequence,
        draft: AuditDraft {
            recorded_at: row.try_get("recorded_at")?,
            subject: row.try_get("subject")?,
            roles: serde_json::from_str::<Vec<String>>(&roles)
                .map_err(|error| unreadable(format!("roles: {error}")))?,
            rpc: row.try_get("rpc")?,
            protocol: row.try_get("protocol")?,
            resource_ids: serde_json::from_str::<Vec<ResourceId>>(&resource_ids)
                .map_err(|error| unreadable(format!("resource_ids: {error}")))?,
            outcome: row.try_get("outcome")?,
            request_id: row.try_get("request_id")?,
            trace_id: row.try_get("trace_id")?,
        },
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::tests::draft;
    use crate::audit::verify::verify_store;
    use rti_platform::backend_tests;
    use rti_platform::db::Backend;
    use rti_platform::testing::TestDatabase;

    /// Two gateway replicas on one database append at once: the chain stays one line.
    async fn concurrent_appends_from_two_stores_never_fork_the_chain(backend: Backend) {
        let Some(database) = TestDatabase::create(backend).await else {
            return;
        };
        let first = AuditStore::open(&database.url).await.expect("opens");
        let second = AuditStore::open(&database.url).await.expect("opens again");
        let appends = (0..40).map(|index| {
            let store = if index % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move {
                store
                    .append(draft(&format!("rti.test.v1.TestService/Write{index}")))
                    .await
                    .expect("appended")
            })
        });
        let mut sequences: Vec<i64> = futures::future::join_all(appends)
            .await
            .into_iter()
            .map(|joined| joined.expect("no panic").sequence)
            .collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=40).collect::<Vec<_>>());
        let verified = verify_store(&first, &[]).await.expect("one intact chain");
        assert_eq!(verified.entries, 40);
        let (head, hash) = first.head().await.expect("head");
        assert_eq!((head, Some(hash)), (40, verified.last.map(|(_, hash)| hash)));
        first.close().await;
        second.close().await;
    }

    async fn an_empty_store_verifies_with_no_entries(backend: Backend) {
        let Some(database) = TestDatabase::create(backend).await else {
            return;
        };
        let store = AuditStore::open(&database.url).await.expect("opens");
        let verified = verify_store(&store, &[]).await.expect("intact");
        assert_eq!((verified.entries, verified.last), (0, None));
        store.close().await;
    }

    backend_tests!(
        concurrent_appends_from_two_stores_never_fork_the_chain,
        an_empty_store_verifies_with_no_entries,
    );
}
