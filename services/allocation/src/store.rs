//! The allocation's tables (migrations `0200_allocation.sql`), on SQLite and PostgreSQL through
//! sqlx `Any`. The store reads and writes the domain's records; records read whole are kept as the
//! contract's canonical JSON (`body`), what queries filter or lock on has a column of its own.
//! Every change writes its event to the outbox in the same transaction.

mod allocations;
mod calls;
mod proposals;
mod slots;
mod suspensions;

use rti_platform::db::{Database, WriteTx};
use rti_platform::events::Outbox;
use rti_proto::common::event::Payload;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;

pub use self::slots::OfferStart;
use crate::domain::SlotStatus;
use crate::error::AllocationResult;

#[derive(Debug, Clone)]
/// The allocation's database and outbox.
pub struct AllocationStore {
    database: Database,
    outbox: Outbox,
}

fn to_json(message: &impl Serialize) -> AllocationResult<String> {
    Ok(serde_json::to_string(message)?)
}

fn from_json<T: DeserializeOwned>(text: &str) -> AllocationResult<T> {
    Ok(serde_json::from_str(text)?)
}

/// An event to append with a change.
pub type Change = (String, Payload);

/// The position of another service's event stream to store with a change it caused.
pub type Cursor<'a> = Option<(&'a str, i64)>;

impl AllocationStore {
    /// The store over `database`, writing events to `outbox`.
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    /// Appends `events` and commits.
    async fn finish(&self, mut transaction: WriteTx, events: Vec<Change>) -> AllocationResult<()> {
        for (aggregate, payload) in events {
            self.outbox.append(&mut transaction, &aggregate, payload).await?;
        }
        self.outbox.commit(transaction).await?;
        Ok(())
    }

    async fn write_cursor(transaction: &mut WriteTx, source: &str, sequence: i64) -> AllocationResult<()> {
        let updated = sqlx::query("UPDATE feed_cursors SET sequence = $2 WHERE source = $1")
            .bind(source)
            .bind(sequence)
            .execute(&mut **transaction)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO feed_cursors (source, sequence) VALUES ($1, $2)")
                .bind(source)
                .bind(sequence)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// Moves the cursor past an event that changes nothing here.
    pub async fn advance_cursor(&self, source: &str, sequence: i64) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        Self::write_cursor(&mut transaction, source, sequence).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Records an event of `source`'s stream that cannot be applied (a poison event), and moves
    /// the cursor past it in the same transaction: it is on record exactly when it is skipped.
    pub async fn reject_event(
        &self,
        source: &str,
        sequence: i64,
        event_id: &str,
        event_type: &str,
        reason: &str,
    ) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query(
            "INSERT INTO feed_rejections (source, sequence, event_id, event_type, reason, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, sequence) DO NOTHING",
        )
        .bind(source)
        .bind(sequence)
        .bind(event_id)
        .bind(event_type)
        .bind(reason)
        .bind(rti_platform::time::now_micros())
        .execute(&mut *transaction)
        .await?;
        Self::write_cursor(&mut transaction, source, sequence).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The last event of `source` applied here (0 before any).
    pub async fn cursor(&self, source: &str) -> AllocationResult<i64> {
        let row = sqlx::query("SELECT sequence FROM feed_cursors WHERE source = $1")
            .bind(source)
            .fetch_optional(self.database.readers())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }
}

/// States as an SQL list of their storage names (constants of the domain, never caller input).
fn sql_list(statuses: &[SlotStatus]) -> String {
    statuses
        .iter()
        .map(|status| format!("'{}'", status.as_stored()))
        .collect::<Vec<_>>()
        .join(", ")
}
