//! Search over the catalogue: the registry's [`rti_search`] index, kept in step with the store
//! by following the registry's own outbox, and the `SearchInstallations` request around it.
//!
//! The index holds published installations only. At start it is checked against the outbox:
//! an index whose cursor names an event the store does not have (another database, or a
//! schema change) is rebuilt from the store; otherwise it catches up from its cursor. Events
//! are applied by re-reading the installations they touch, so replaying one is harmless.
//! Calendar facts (the next free window, "free within N days") are read from the store at
//! query time, never indexed, so they are never stale.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use rti_platform::error::{InvalidInput, Violations, internal_status};
use rti_platform::events::Outbox;
use rti_platform::pagination::PageRequest;
use rti_platform::time::now_micros;
use rti_proto::common::event::Payload;
use rti_proto::common::{Event, SubscribeRequest};
use rti_proto::registry as proto;
use rti_search::{Cursor, Document, IndexWriter, Query, SearchError, SearchIndex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::convert;
use crate::domain::{InstallationStatus, RegistryError, calendar};
use crate::store::{RegistryStore, SearchSource};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
pub const MAX_QUERY_CHARS: usize = 500;
/// Events applied per index commit at most.
const BATCH: usize = 500;
/// Installations read per page while rebuilding.
const REBUILD_PAGE: i64 = 500;
/// How long events are gathered before a batch is applied.
const GATHER: Duration = Duration::from_millis(50);
/// How long to wait before following the outbox again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Index(#[from] SearchError),
    #[error("reading the catalogue for the search index: {0}")]
    Store(#[from] RegistryError),
    #[error("reading the outbox for the search index: {0}")]
    Outbox(#[from] sqlx::Error),
    #[error("following the outbox for the search index: {0}")]
    Subscribe(String),
    #[error("the search index task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The read side of the search, shared by the handlers.
#[derive(Clone)]
pub struct Search {
    index: SearchIndex,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Search").finish_non_exhaustive()
    }
}

impl Search {
    /// Opens the index (in `dir`, or in memory), brings it up to date with the store, and
    /// starts the task that keeps it there until `stopping` fires.
    pub async fn start(
        store: RegistryStore,
        outbox: Outbox,
        dir: Option<PathBuf>,
        stopping: CancellationToken,
    ) -> Result<(Self, JoinHandle<()>), IndexError> {
        let (index, writer, cursor) = tokio::task::spawn_blocking(move || SearchIndex::open(dir.as_deref())).await??;
        let mut follower = Follower {
            store,
            outbox,
            writer: Some(writer),
            cursor: Cursor {
                sequence: 0,
                event_id: String::new(),
            },
        };
        match cursor {
            Some(cursor) if follower.names_a_stored_event(&cursor).await? => {
                tracing::info!(sequence = cursor.sequence, "search index resumes from its cursor");
                follower.cursor = cursor;
            }
            stale => {
                tracing::info!(found = stale.is_some(), "search index rebuilt from the store");
                follower.rebuild().await?;
            }
        }
        let task = tokio::spawn(async move { follower.follow(stopping).await });
        Ok((Self { index }, task))
    }

    /// Answers `SearchInstallations`.
    pub async fn search(
        &self,
        store: &RegistryStore,
        request: proto::SearchInstallationsRequest,
    ) -> Result<proto::SearchInstallationsResponse, Status> {
        let (mut query, page) = parse(&request)?;
        let now = now_micros();
        if request.free_within_days > 0 {
            let until = now + i64::from(request.free_within_days) * calendar::MICROS_PER_DAY;
            query.restrict_to = Some(store.installations_free_between(now, until).await?);
        }
        let index = self.index.clone();
        let results = tokio::task::spawn_blocking(move || index.search(&query))
            .await
            .map_err(|error| internal_status("the search task failed", &error))?
            .map_err(|error| internal_status("searching the index failed", &error))?;
        let ids: Vec<String> = results.hits.iter().map(|hit| hit.id.clone()).collect();
        let mut sources = store.sources(&ids).await?;
        let mut windows = store.next_free_windows(&ids, now).await?;
        let hits: Vec<proto::SearchHit> = results
            .hits
            .iter()
            .filter_map(|hit| {
                let position = sources.iter().position(|source| source.installation.id == hit.id)?;
                let source = sources.swap_remove(position);
                Some(proto::SearchHit {
                    installation: Some(convert::installation(&source.installation)),
                    score: hit.score,
                    next_free_window: windows.remove(&hit.id).as_ref().map(convert::free_window),
                    infrastructure_name: source.infrastructure_name,
                    infrastructure_acronym: source.infrastructure_acronym,
                })
            })
            .collect();
        Ok(proto::SearchInstallationsResponse {
            next_page_token: page.next_ranked(results.hits.len(), results.total),
            hits,
            total_hits: i64::try_from(results.total).unwrap_or(i64::MAX),
            facets: results
                .facets
                .into_iter()
                .map(|facet| proto::Facet {
                    field: facet.field.to_owned(),
                    counts: facet
                        .counts
                        .into_iter()
                        .map(|count| proto::FacetCount {
                            value: facet_value_name(facet.field, &count.value),
                            count: i64::try_from(count.count).unwrap_or(i64::MAX),
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// Validates a search request into an index query and its page, naming every bad field.
fn parse(request: &proto::SearchInstallationsRequest) -> Result<(Query, PageRequest), InvalidInput> {
    let mut violations = Violations::new();
    let text = request.query.trim().to_owned();
    if text.chars().count() > MAX_QUERY_CHARS {
        violations.add("query", format!("must be at most {MAX_QUERY_CHARS} characters"));
    }
    let mut countries = request.countries.clone();
    crate::domain::countries(&mut countries, "countries", &mut violations);
    let access_modes = convert::enum_list(
        &request.access_modes,
        "access_modes",
        convert::access_mode_from_proto,
        &mut violations,
    );
    let access_types = convert::enum_list(
        &request.access_types,
        "access_types",
        convert::access_type_from_proto,
        &mut violations,
    );
    let unit_kinds = convert::enum_list(
        &request.unit_kinds,
        "unit_kinds",
        convert::unit_kind_from_proto,
        &mut violations,
    );
    let domains = convert::enum_list(
        &request.scientific_domains,
        "scientific_domains",
        convert::domain_from_proto,
        &mut violations,
    );
    let areas = convert::enum_list(
        &request.critical_technology_areas,
        "critical_technology_areas",
        convert::area_from_proto,
        &mut violations,
    );
    if !(0..=9).contains(&request.trl) {
        violations.add("trl", "must be 0 (any) or a TRL between 1 and 9");
    }
    let max_days = i32::try_from(calendar::MAX_SPAN_DAYS).unwrap_or(i32::MAX);
    if !(0..=max_days).contains(&request.free_within_days) {
        violations.add("free_within_days", format!("must be between 0 (any) and {max_days}"));
    }
    let filters = [
        text.clone(),
        countries.join(","),
        stored_names(&access_modes, |value| value.as_stored()),
        stored_names(&access_types, |value| value.as_stored()),
        stored_names(&unit_kinds, |value| value.as_stored()),
        stored_names(&domains, |value| value.as_stored()),
        stored_names(&areas, |value| value.as_stored()),
        request.trl.to_string(),
        request.free_within_days.to_string(),
    ];
    let filter_refs: Vec<&str> = filters.iter().map(String::as_str).collect();
    let page = PageRequest::parse_bounded(
        request.page_size,
        &request.page_token,
        &filter_refs,
        (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        &mut violations,
    );
    violations.into_result()?;
    let query = Query {
        text,
        countries,
        access_modes: names(&access_modes, |value| value.as_stored()),
        access_types: names(&access_types, |value| value.as_stored()),
        unit_kinds: names(&unit_kinds, |value| value.as_stored()),
        scientific_domains: names(&domains, |value| value.as_stored()),
        critical_technology_areas: names(&areas, |value| value.as_stored()),
        trl: u8::try_from(request.trl).ok().filter(|trl| *trl > 0),
        restrict_to: None,
        offset: usize::try_from(page.offset).unwrap_or(usize::MAX),
        limit: usize::try_from(page.size).unwrap_or(usize::MAX),
    };
    Ok((query, page))
}

fn names<T>(values: &[T], name: impl Fn(&T) -> &'static str) -> Vec<String> {
    values.iter().map(|value| name(value).to_owned()).collect()
}

fn stored_names<T>(values: &[T], name: impl Fn(&T) -> &'static str) -> String {
    names(values, name).join(",")
}

/// The name a client sees for a facet value: the protobuf enum value's name (e.g.
/// `ACCESS_MODE_MARKET`), or the country code as it is.
fn facet_value_name(field: &str, stored: &str) -> String {
    use crate::domain::{AccessMode, AccessType, CriticalTechnologyArea, ScientificDomain, UnitKind};
    let name = match field {
        "access_modes" => AccessMode::from_stored(stored)
            .map(convert::access_mode_to_proto)
            .and_then(|value| proto::AccessMode::try_from(value).ok())
            .map(|value| value.as_str_name()),
        "access_types" => AccessType::from_stored(stored)
            .map(convert::access_type_to_proto)
            .and_then(|value| proto::AccessType::try_from(value).ok())
            .map(|value| value.as_str_name()),
        "unit_kinds" => UnitKind::from_stored(stored)
            .map(convert::unit_kind_to_proto)
            .and_then(|value| proto::UnitKind::try_from(value).ok())
            .map(|value| value.as_str_name()),
        "scientific_domains" => ScientificDomain::from_stored(stored)
            .map(convert::domain_to_proto)
            .and_then(|value| proto::ScientificDomain::try_from(value).ok())
            .map(|value| value.as_str_name()),
        "critical_technology_areas" => CriticalTechnologyArea::from_stored(stored)
            .map(convert::area_to_proto)
            .and_then(|value| proto::CriticalTechnologyArea::try_from(value).ok())
            .map(|value| value.as_str_name()),
        _ => None,
    };
    name.map_or_else(|| stored.to_owned(), str::to_owned)
}

/// The index as a search document.
pub fn document(source: &SearchSource) -> Document {
    let fields = &source.installation.fields;
    let infrastructure = if source.infrastructure_acronym.is_empty() {
        source.infrastructure_name.clone()
    } else {
        format!("{} {}", source.infrastructure_name, source.infrastructure_acronym)
    };
    Document {
        id: source.installation.id.clone(),
        name: fields.name.clone(),
        infrastructure,
        provider: source.provider_name.clone(),
        countries: fields.countries.clone(),
        access_types: names(&fields.access_types, |value| value.as_stored()),
        access_modes: names(&fields.access_modes, |value| value.as_stored()),
        unit_kind: fields
            .unit_kind
            .map(|kind| kind.as_stored())
            .unwrap_or_default()
            .to_owned(),
        scientific_domains: names(&fields.scientific_domains, |value| value.as_stored()),
        critical_technology_areas: names(&fields.critical_technology_areas, |value| value.as_stored()),
        trl: fields
            .trl
            .and_then(|(min, max)| Some((u8::try_from(min).ok()?, u8::try_from(max).ok()?))),
        techniques: fields.techniques.clone(),
        descriptions: fields
            .descriptions
            .iter()
            .map(|text| (text.language.clone(), text.text.clone()))
            .collect(),
    }
}

fn outbox_failed(status: Status) -> IndexError {
    IndexError::Subscribe(status.message().to_owned())
}

/// The write side: applies the outbox to the index, one batch per commit.
struct Follower {
    store: RegistryStore,
    outbox: Outbox,
    /// Moved into blocking tasks and back; `None` only while one runs.
    writer: Option<IndexWriter>,
    cursor: Cursor,
}

impl Follower {
    async fn names_a_stored_event(&self, cursor: &Cursor) -> Result<bool, IndexError> {
        if cursor.sequence == 0 {
            return Ok(self.outbox.latest_sequence().await? == 0);
        }
        let events = self.outbox.read_after(cursor.sequence - 1, 1).await?;
        Ok(events
            .first()
            .is_some_and(|event| event.sequence == cursor.sequence && event.id == cursor.event_id))
    }

    /// Replaces the index's content with the store's published installations.
    async fn rebuild(&mut self) -> Result<(), IndexError> {
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

    async fn follow(mut self, stopping: CancellationToken) {
        while !stopping.is_cancelled() {
            if let Err(error) = self.follow_once(&stopping).await {
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
            match &event.payload {
                Some(
                    Payload::InstallationCreated(_)
                    | Payload::InstallationUpdated(_)
                    | Payload::InstallationPublished(_),
                ) => {
                    touched.insert(event.aggregate_id.clone());
                }
                Some(Payload::InfrastructureUpdated(_) | Payload::ProviderUpdated(_)) => {
                    touched.extend(self.store.installation_ids_under(&event.aggregate_id).await?);
                }
                _ => {}
            }
        }
        if !touched.is_empty() {
            let ids: Vec<String> = touched.into_iter().collect();
            let sources = self.store.sources(&ids).await?;
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
