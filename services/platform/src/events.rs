//! The outbox and its `Subscribe` stream (DESIGN §5).
//!
//! A service appends events inside the transaction that makes the change, then commits through
//! [`Outbox::commit`], which wakes the subscribers. A subscriber gets the backlog after its
//! cursor, then live events, in sequence order, each exactly once.
//!
//! No gap: a reader must never see sequence N+1 committed while N is still in flight, or a
//! cursor would skip N for ever. SQLite has one writer, so commits follow sequence order and an
//! event is numbered as it is inserted. On PostgreSQL, writers commit side by side (so that their
//! commits share the log's syncs), and their events are numbered only once committed, by one
//! sequencer at a time (`sequencer`), which the commit wakes: they reach readers once numbered.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use prost::Message;
use rti_proto::common::{Event, SubscribeRequest, event::Payload};
use sqlx::Row;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::db::{Backend, Database, WriteTx};
use crate::error::{Violations, internal_status};
use crate::ids::new_id;
use crate::time::{now_micros, timestamp_from_micros};
use crate::validate::at_most;

mod sequencer;

use sequencer::Sequencer;

/// The stream a `Subscribe` handler returns.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send>>;

/// Events read per query while catching up.
const BATCH: i64 = 500;
/// Event types one subscriber may ask for: every type a service has, with room to spare.
pub const MAX_SUBSCRIBED_TYPES: usize = 64;
/// A second replica on the same PostgreSQL commits without telling this process; a waiting
/// subscriber looks again this often, and so does the sequencer.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The full protobuf name of an event payload; stored beside it and sent as `Event.type`.
pub fn event_type(payload: &Payload) -> &'static str {
    match payload {
        Payload::ProviderCreated(_) => "rti.registry.v1.ProviderCreated",
        Payload::ProviderUpdated(_) => "rti.registry.v1.ProviderUpdated",
        Payload::InfrastructureCreated(_) => "rti.registry.v1.InfrastructureCreated",
        Payload::InfrastructureUpdated(_) => "rti.registry.v1.InfrastructureUpdated",
        Payload::InstallationCreated(_) => "rti.registry.v1.InstallationCreated",
        Payload::InstallationUpdated(_) => "rti.registry.v1.InstallationUpdated",
        Payload::InstallationPublished(_) => "rti.registry.v1.InstallationPublished",
        Payload::TariffSet(_) => "rti.registry.v1.TariffSet",
        Payload::CapacityWindowAdded(_) => "rti.registry.v1.CapacityWindowAdded",
        Payload::DowntimeAdded(_) => "rti.registry.v1.DowntimeAdded",
        Payload::CapacityReserved(_) => "rti.registry.v1.CapacityReserved",
        Payload::CapacityReleased(_) => "rti.registry.v1.CapacityReleased",
        Payload::OrganisationRegistered(_) => "rti.intake.v1.OrganisationRegistered",
        Payload::AccessRequestStatusChanged(_) => "rti.intake.v1.AccessRequestStatusChanged",
        Payload::SanctionsListImported(_) => "rti.intake.v1.SanctionsListImported",
        Payload::DecisionClockBreached(_) => "rti.intake.v1.DecisionClockBreached",
        Payload::CallCreated(_) => "rti.allocation.v1.CallCreated",
        Payload::RulebookAmended(_) => "rti.allocation.v1.RulebookAmended",
        Payload::EligibilityEvaluated(_) => "rti.allocation.v1.EligibilityEvaluated",
        Payload::AllocationDecided(_) => "rti.allocation.v1.AllocationDecided",
        Payload::SlotStatusChanged(_) => "rti.allocation.v1.SlotStatusChanged",
    }
}

/// A service's outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    database: Database,
    source: &'static str,
    /// Bumped after every commit that appended events (on PostgreSQL, once they are numbered);
    /// subscribers wait on it.
    commits: watch::Sender<u64>,
    /// PostgreSQL's sequencer; none on SQLite.
    sequencer: Option<Sequencer>,
}

impl Inner {
    /// Wakes the subscribers: events were committed (and numbered).
    fn woken(&self) {
        self.commits.send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl Outbox {
    /// `source` names the emitting service in every event (`"registry"`). On PostgreSQL, call
    /// it inside the Tokio runtime: the sequencer runs as a task of its own.
    pub fn new(database: Database, source: &'static str) -> Self {
        let (commits, _) = watch::channel(0);
        let sequencer = (database.backend() == Backend::Postgres).then(Sequencer::default);
        let outbox = Self {
            inner: Arc::new(Inner {
                database,
                source,
                commits,
                sequencer,
            }),
        };
        if outbox.inner.sequencer.is_some() {
            sequencer::spawn(Arc::downgrade(&outbox.inner));
        }
        outbox
    }

    /// Appends an event in `transaction`, then [`Outbox::commit`] it. The event's sequence is
    /// its number on SQLite, and 0 on PostgreSQL, where it is numbered once committed.
    pub async fn append(
        &self,
        transaction: &mut WriteTx,
        aggregate_id: &str,
        payload: Payload,
    ) -> Result<Event, sqlx::Error> {
        let occurred_at = now_micros();
        let mut event = Event {
            sequence: 0,
            id: new_id(),
            r#type: event_type(&payload).to_owned(),
            occurred_at: Some(timestamp_from_micros(occurred_at)),
            aggregate_id: aggregate_id.to_owned(),
            source: self.inner.source.to_owned(),
            payload: Some(payload),
        };
        let row = sqlx::query(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, occurred_at, payload) \
             VALUES ($1, $2, $3, $4, $5) RETURNING COALESCE(sequence, 0)",
        )
        .bind(&event.id)
        .bind(&event.r#type)
        .bind(&event.aggregate_id)
        .bind(occurred_at)
        .bind(event.encode_to_vec())
        .fetch_one(&mut **transaction)
        .await?;
        event.sequence = row.try_get::<i64, _>(0)?;
        Ok(event)
    }

    /// Commits a transaction that appended events and wakes the subscribers (on PostgreSQL, the
    /// sequencer, which wakes them once it has numbered the events).
    pub async fn commit(&self, transaction: WriteTx) -> Result<(), sqlx::Error> {
        transaction.commit().await?;
        match &self.inner.sequencer {
            Some(sequencer) => sequencer.committed(),
            None => self.inner.woken(),
        }
        Ok(())
    }

    /// Up to `limit` committed events after `after_sequence`, oldest first.
    ///
    /// A stored payload that no longer decodes (a poison event: written by a faulty release, or
    /// damaged) comes back as its envelope without a payload, with a warning: every subscriber
    /// then moves past it and decides for itself what to report, where failing the whole read
    /// would stop every stream of this service at that sequence for ever.
    pub async fn read_after(&self, after_sequence: i64, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT sequence, payload, event_id, event_type, aggregate_id, occurred_at FROM outbox \
             WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .bind(after_sequence)
        .bind(limit)
        .fetch_all(self.inner.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                let sequence: i64 = row.try_get(0)?;
                let payload: Vec<u8> = row.try_get(1)?;
                let mut event = match Event::decode(payload.as_slice()) {
                    Ok(event) => event,
                    Err(error) => {
                        let event_type: String = row.try_get(3)?;
                        tracing::warn!(
                            source = self.inner.source,
                            sequence,
                            event_type,
                            %error,
                            "an outbox event does not decode; sent without its payload"
                        );
                        Event {
                            id: row.try_get(2)?,
                            r#type: event_type,
                            occurred_at: Some(timestamp_from_micros(row.try_get(5)?)),
                            aggregate_id: row.try_get(4)?,
                            source: self.inner.source.to_owned(),
                            ..Event::default()
                        }
                    }
                };
                event.sequence = sequence;
                Ok(event)
            })
            .collect()
    }

    /// The newest committed sequence, 0 when the outbox is empty.
    pub async fn latest_sequence(&self) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COALESCE(MAX(sequence), 0) FROM outbox")
            .fetch_one(self.inner.database.readers())
            .await?;
        row.try_get::<i64, _>(0)
    }

    /// Serves `Subscribe`: the backlog after the cursor, then live events, until the client
    /// goes away or `shutdown` fires (the stream then ends with OK, and the client resumes from
    /// its cursor elsewhere).
    pub fn subscribe(&self, request: SubscribeRequest, shutdown: CancellationToken) -> Result<EventStream, Status> {
        let mut violations = Violations::new();
        if request.after_sequence < 0 {
            violations.add("after_sequence", "must be 0 or a sequence the stream gave");
        }
        at_most(&request.types, "types", MAX_SUBSCRIBED_TYPES, &mut violations);
        violations.into_result()?;
        let types: HashSet<String> = request.types.iter().cloned().collect();
        let (sender, receiver) = mpsc::channel(64);
        let outbox = self.clone();
        tokio::spawn(async move { outbox.feed(request.after_sequence, types, sender, shutdown).await });
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }

    /// Sends the events after `after_sequence` whose type is in `types` (every type when empty).
    async fn feed(
        &self,
        after_sequence: i64,
        types: HashSet<String>,
        sender: mpsc::Sender<Result<Event, Status>>,
        shutdown: CancellationToken,
    ) {
        let mut cursor = after_sequence;
        let mut commits = self.inner.commits.subscribe();
        loop {
            // Mark the commit count seen *before* reading, so a commit that lands during the
            // read wakes the wait below instead of being missed.
            commits.borrow_and_update();
            let batch = match self.read_after(cursor, BATCH).await {
                Ok(batch) => batch,
                Err(error) => {
                    let status = internal_status("reading the outbox for a subscriber failed", &error);
                    let _ = sender.send(Err(Status::unavailable(status.message().to_owned()))).await;
                    return;
                }
            };
            let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) == BATCH;
            for event in batch {
                cursor = event.sequence;
                if !types.is_empty() && !types.contains(&event.r#type) {
                    continue;
                }
                tokio::select! {
                    sent = sender.send(Ok(event)) => if sent.is_err() { return },
                    () = shutdown.cancelled() => return,
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = sender.closed() => return,
                () = shutdown.cancelled() => return,
            }
        }
    }
}
