//! The write side of search: follows the registry's outbox and applies each batch of events to the
//! full-text index (one commit per batch, with the outbox cursor) and to the installations'
//! embeddings (computed off the async workers, stored before the commit, so that a restart
//! neither loses nor recomputes them).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rti_platform::events::Outbox;
use rti_platform::time::now_micros;
use rti_proto::common::{Event, SubscribeRequest};
use rti_search::{Cursor, IndexWriter, SearchError, SearchIndex};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::meaning::{InstallationText, Meaning, installation_text};
use super::{IndexError, document};
use crate::domain::{Installation, InstallationStatus};
use crate::store::{RegistryStore, StoredEmbedding};

/// Events applied per index commit at most.
const BATCH: usize = 500;
/// Installations read per page while rebuilding.
const REBUILD_PAGE: i64 = 500;
/// Installations embedded per blocking task while catching up: a few seconds of one core at most.
const EMBED_PAGE: i64 = 64;
/// How long events are gathered before a batch is applied.
const GATHER: Duration = Duration::from_millis(50);
/// How long to wait before following the outbox again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

fn outbox_failed(status: Status) -> IndexError {
    IndexError::Subscribe(status.message().to_owned())
}

/// Applies the outbox to the index, one batch per commit.
pub(super) struct Follower {
    pub(super) store: RegistryStore,
    pub(super) outbox: Outbox,
    /// Moved into blocking tasks and back; `None` only while one runs.
    pub(super) writer: Option<IndexWriter>,
    pub(super) cursor: Cursor,
    /// The read side, where embeddings are set.
    pub(super) index: SearchIndex,
    pub(super) meaning: Option<Meaning>,
    /// The digest of the text each held embedding was made from.
    pub(super) digests: HashMap<String, String>,
}

impl Follower {
    pub(super) async fn names_a_stored_event(&self, cursor: &Cursor) -> Result<bool, IndexError> {
        if cursor.sequence == 0 {
            return Ok(self.outbox.latest_sequence().await? == 0);
        }
        let events = self.outbox.read_after(cursor.sequence - 1, 1).await?;
        Ok(events
            .first()
            .is_some_and(|event| event.sequence == cursor.sequence && event.id == cursor.event_id))
    }

    /// Replaces the index's content with the store's published installations.
    pub(super) async fn rebuild(&mut self) -> Result<(), IndexError> {
        // The cursor is read first: events committed while the catalogue is read are applied
        // again afterwards, which re-reads the same rows.
        let latest = self.outbox.latest_sequence().await?;
        let cursor = match self.outbox.read_after(latest - 1, 1).await?.into_iter().next() {
            Some(event) => Cursor {
                sequence: event.sequence,
                event_id: event.id,
            },
            None => Cursor {
                sequence: 0,
                event_id: String::new(),
            },
        };
        let mut documents = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.store.published_sources(&after, REBUILD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.installation.id);
            documents.extend(page.iter().map(document));
        }
        let count = documents.len();
        self.write(move |writer| {
            writer.clear()?;
            for document in &documents {
                writer.upsert(document)?;
            }
            Ok(())
        })
        .await?;
        self.commit(cursor).await?;
        tracing::info!(installations = count, "search index holds the published catalogue");
        Ok(())
    }

    /// Brings the embeddings in step with the store: drops those of another model or of
    /// installations no longer published, loads the stored ones, and embeds the published
    /// installations that have none (all of them after a model change).
    async fn catch_up_embeddings(&mut self) -> Result<(), IndexError> {
        let Some(meaning) = self.meaning.clone() else {
            return Ok(());
        };
        let version = Meaning::model_version();
        let deleted = self.store.delete_stale_embeddings(version).await?;
        let mut after = String::new();
        loop {
            let page = self.store.embeddings(version, &after, REBUILD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.installation_id);
            for embedding in page {
                self.index.set_vector(&embedding.installation_id, &embedding.vector)?;
                self.digests.insert(embedding.installation_id, embedding.text_digest);
            }
        }
        let loaded = self.digests.len();
        let started = Instant::now();
        let mut embedded = 0;
        loop {
            let ids = self.store.published_without_embedding(version, "", EMBED_PAGE).await?;
            if ids.is_empty() {
                break;
            }
            let sources = self.store.sources(&ids).await?;
            let texts: Vec<InstallationText> = sources
                .iter()
                .map(|source| installation_text(&source.installation))
                .collect();
            embedded += texts.len();
            self.embed_and_store(&meaning, texts).await?;
        }
        tracing::info!(
            model = version,
            loaded,
            embedded,
            deleted,
            seconds = started.elapsed().as_secs_f64(),
            "installation embeddings up to date"
        );
        Ok(())
    }

    /// Embeds `texts` in a blocking task, stores the vectors, then makes them searchable.
    async fn embed_and_store(&mut self, meaning: &Meaning, texts: Vec<InstallationText>) -> Result<(), IndexError> {
        if texts.is_empty() {
            return Ok(());
        }
        let encoder = meaning.clone();
        let (texts, vectors) = tokio::task::spawn_blocking(move || {
            let vectors = encoder.embed_installations(&texts);
            (texts, vectors)
        })
        .await?;
        let embeddings: Vec<StoredEmbedding> = texts
            .into_iter()
            .zip(vectors)
            .map(|(text, vector)| StoredEmbedding {
                installation_id: text.installation_id,
                text_digest: text.digest,
                vector,
            })
            .collect();
        self.store
            .save_embeddings(Meaning::model_version(), &embeddings, now_micros())
            .await?;
        for embedding in embeddings {
            self.index.set_vector(&embedding.installation_id, &embedding.vector)?;
            self.digests.insert(embedding.installation_id, embedding.text_digest);
        }
        Ok(())
    }

    /// Embeds what changed among `published` and forgets the embeddings of `withdrawn`.
    async fn update_embeddings(&mut self, published: &[&Installation], withdrawn: &[String]) -> Result<(), IndexError> {
        let Some(meaning) = self.meaning.clone() else {
            return Ok(());
        };
        let held: Vec<String> = withdrawn
            .iter()
            .filter(|id| self.digests.contains_key(*id))
            .cloned()
            .collect();
        if !held.is_empty() {
            self.store.delete_embeddings(&held).await?;
            for id in &held {
                self.index.remove_vector(id)?;
                self.digests.remove(id);
            }
        }
        let changed: Vec<InstallationText> = published
            .iter()
            .map(|installation| installation_text(installation))
            .filter(|text| self.digests.get(&text.installation_id) != Some(&text.digest))
            .collect();
        self.embed_and_store(&meaning, changed).await
    }

    pub(super) async fn follow(mut self, stopping: CancellationToken) {
        let mut embeddings_caught_up = false;
        while !stopping.is_cancelled() {
            let outcome = if embeddings_caught_up {
                self.follow_once(&stopping).await
            } else {
                match self.catch_up_embeddings().await {
                    Ok(()) => {
                        embeddings_caught_up = true;
                        self.follow_once(&stopping).await
                    }
                    Err(error) => Err(error),
                }
            };
            if let Err(error) = outcome {
                tracing::error!(error = %rti_platform::error::error_chain(&error), "search index fell behind; retrying");
                tokio::select! {
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                    () = stopping.cancelled() => {}
                }
            }
        }
    }

    async fn follow_once(&mut self, stopping: &CancellationToken) -> Result<(), IndexError> {
        let request = SubscribeRequest {
            after_sequence: self.cursor.sequence,
            types: Vec::new(),
        };
        let stream = self
            .outbox
            .subscribe(request, stopping.clone())
            .map_err(outbox_failed)?;
        let mut stream = std::pin::pin!(stream);
        // Events are gathered for a moment before they are applied: a commit costs a segment
        // and a sync, and a burst of writes (a catalogue import) should pay for few of them.
        while let Some(first) = stream.next().await {
            let mut events = vec![first.map_err(outbox_failed)?];
            let gathered_until = tokio::time::Instant::now() + GATHER;
            while events.len() < BATCH {
                match tokio::time::timeout_at(gathered_until, stream.next()).await {
                    Ok(Some(event)) => events.push(event.map_err(outbox_failed)?),
                    Ok(None) | Err(_) => break,
                }
            }
            self.apply(&events).await?;
        }
        Ok(())
    }

    async fn apply(&mut self, events: &[Event]) -> Result<(), IndexError> {
        let Some(last) = events.last() else { return Ok(()) };
        let cursor = Cursor {
            sequence: last.sequence,
            event_id: last.id.clone(),
        };
        let mut touched = BTreeSet::new();
        for event in events {
            // By the stored type, not the payload: the index is rebuilt from the store's rows,
            // so an event whose payload no longer decodes (a poison event, sent without it)
            // still names the record to index again.
            if event.payload.is_none() {
                tracing::warn!(
                    sequence = event.sequence,
                    event_type = %event.r#type,
                    aggregate_id = %event.aggregate_id,
                    "an outbox event without its payload; indexing its record from the store"
                );
            }
            match event.r#type.as_str() {
                "rti.registry.v1.InstallationCreated"
                | "rti.registry.v1.InstallationUpdated"
                | "rti.registry.v1.InstallationPublished" => {
                    touched.insert(event.aggregate_id.clone());
                }
                "rti.registry.v1.InfrastructureUpdated" | "rti.registry.v1.ProviderUpdated" => {
                    touched.extend(self.store.installation_ids_under(&event.aggregate_id).await?);
                }
                _ => {}
            }
        }
        if !touched.is_empty() {
            let ids: Vec<String> = touched.into_iter().collect();
            let sources = self.store.sources(&ids).await?;
            let published: Vec<&Installation> = sources
                .iter()
                .map(|source| &source.installation)
                .filter(|installation| installation.status == InstallationStatus::Published)
                .collect();
            let withdrawn: Vec<String> = ids
                .iter()
                .filter(|id| !published.iter().any(|installation| &installation.id == *id))
                .cloned()
                .collect();
            // Embeddings first: once the cursor is committed, these events are not applied again.
            self.update_embeddings(&published, &withdrawn).await?;
            self.write(move |writer| {
                for id in &ids {
                    match sources.iter().find(|source| &source.installation.id == id) {
                        Some(source) if source.installation.status == InstallationStatus::Published => {
                            writer.upsert(&document(source))?;
                        }
                        _ => writer.remove(id)?,
                    }
                }
                Ok(())
            })
            .await?;
        }
        self.commit(cursor).await
    }

    /// Runs `change` on the writer in a blocking task.
    async fn write(
        &mut self,
        change: impl FnOnce(&mut IndexWriter) -> Result<(), SearchError> + Send + 'static,
    ) -> Result<(), IndexError> {
        let mut writer = self.writer.take().expect("the index writer is back after each change");
        let (writer, result) = tokio::task::spawn_blocking(move || {
            let result = change(&mut writer);
            (writer, result)
        })
        .await?;
        self.writer = Some(writer);
        Ok(result?)
    }

    async fn commit(&mut self, cursor: Cursor) -> Result<(), IndexError> {
        let stored = cursor.clone();
        self.write(move |writer| writer.commit(&stored)).await?;
        self.cursor = cursor;
        Ok(())
    }
}
