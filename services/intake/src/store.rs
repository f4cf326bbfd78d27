//! The intake's store: SQL for organisations, people, user groups, agreement templates, access
//! requests with their status history, and sanctions lists, on SQLite and PostgreSQL. It reads
//! and writes domain types. Every change is written with its event in one transaction; creates
//! are idempotent on a key.

mod aid;
mod changes;
mod organisations;
mod proto;
mod requests;
mod rescreening;
mod sanctions;

use rti_platform::db::{Database, WriteTx};
use rti_platform::events::Outbox;
use rti_platform::store::{Created, IdempotencyKey, NewRecord, create_once};
use rti_platform::time::now_micros;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::{IntakeError, IntakeResult};

pub use changes::RequestChange;
pub use requests::RequestFilter;

#[derive(Debug, Clone)]
pub struct IntakeStore {
    database: Database,
    outbox: Outbox,
}

impl From<sqlx::Error> for IntakeError {
    fn from(error: sqlx::Error) -> Self {
        IntakeError::Store(error.into())
    }
}

impl IntakeStore {
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    /// Writes `record` at most once per idempotency key (see [`create_once`]).
    async fn create_once<R: NewRecord<Error = IntakeError> + Clone>(
        &self,
        key: Option<&IdempotencyKey>,
        record: &R,
    ) -> IntakeResult<Created<R>> {
        create_once(&self.database, &self.outbox, key, || record.clone()).await
    }
}

/// Refuses the write when a referenced row does not exist, and locks it while the transaction runs.
async fn require_row(
    transaction: &mut WriteTx,
    table: &'static str,
    entity: &'static str,
    id: &str,
    lock: &str,
) -> IntakeResult<()> {
    let found = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **transaction)
    .await?;
    found.map(|_| ()).ok_or_else(|| IntakeError::not_found(entity, id))
}

/// Reads a stored enum by its stored name.
fn stored<E>(row: &AnyRow, column: usize, parse: fn(&str) -> Option<E>) -> IntakeResult<E> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| IntakeError::Corrupt(format!("unknown stored value {text:?}")))
}

pub(crate) fn now() -> i64 {
    now_micros()
}

/// SHA-256 of a file, hex, as kept for audit.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}
