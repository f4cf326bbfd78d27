//! PostgreSQL's sequencer. Writers insert their events without a number and commit side by side;
//! one sequencer at a time (a transaction-scoped advisory lock, so replicas sharing the database
//! take turns) numbers every committed event that has none, in the order they were inserted,
//! following the highest number given so far. A reader sees an event only once it is numbered,
//! and numbers become visible in order, one sequencer transaction after the other: no reader can
//! see N+1 while N is still to come. Two writes to one aggregate are ordered by their row locks,
//! so the later one inserts its event after the earlier committed, and is numbered after it.
//!
//! Each process runs one sequencer task: woken by its own commits, and every poll interval for
//! events that another replica committed but did not number (it died in between). A commit does
//! not wait for its events' numbers: they reach subscribers one numbering pass later (a
//! transaction of its own, with its own sync), which a writer need not sit through.

use std::sync::{Arc, Weak};

use tokio::sync::Notify;

use super::{Inner, POLL_INTERVAL};

/// Arbitrary constant naming the sequencer's advisory lock ("rti-outbox").
pub(crate) const SEQUENCER_LOCK_KEY: i64 = 0x7274_692d_6f75_7478;

/// Events numbered per sequencer transaction.
const BATCH: i64 = 5_000;

#[derive(Debug, Default)]
pub(super) struct Sequencer {
    /// Rung by each commit that appended events; several rings before a pass make one pass.
    wake: Arc<Notify>,
}

impl Sequencer {
    /// Asks for a numbering pass after this commit.
    pub(super) fn committed(&self) {
        self.wake.notify_one();
    }
}

/// Starts the sequencer task of an outbox; it ends with the outbox or its database.
pub(super) fn spawn(outbox: Weak<Inner>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!("the outbox was made outside the Tokio runtime: its events will not be numbered");
        return;
    };
    runtime.spawn(async move {
        loop {
            let Some(inner) = outbox.upgrade() else { return };
            let Some(sequencer) = &inner.sequencer else { return };
            match number_committed(&inner).await {
                Ok(numbered) if numbered > 0 => inner.woken(),
                Ok(_) => {}
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => tracing::warn!(%error, "numbering committed events failed; trying again"),
            }
            let wake = sequencer.wake.clone();
            drop(inner);
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    });
}

/// Numbers the committed events that have no number, oldest insert first; how many.
async fn number_committed(inner: &Inner) -> Result<u64, sqlx::Error> {
    let mut numbered = 0;
    loop {
        let mut transaction = inner.database.begin_write().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SEQUENCER_LOCK_KEY)
            .execute(&mut *transaction)
            .await?;
        // Read committed: this statement's snapshot, taken under the lock, holds every event
        // committed so far and every number given before.
        let pass = sqlx::query(
            "UPDATE outbox SET sequence = numbered.sequence \
             FROM (SELECT position, \
                          (SELECT COALESCE(MAX(sequence), 0) FROM outbox) \
                          + ROW_NUMBER() OVER (ORDER BY position) AS sequence \
                   FROM outbox WHERE sequence IS NULL ORDER BY position LIMIT $1) AS numbered \
             WHERE outbox.position = numbered.position",
        )
        .bind(BATCH)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        numbered += pass;
        if i64::try_from(pass).unwrap_or(i64::MAX) < BATCH {
            return Ok(numbered);
        }
    }
}
