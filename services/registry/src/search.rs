//! Search over the catalogue: the registry's [`rti_search`] index, kept in step with the store
//! by following the registry's own outbox ([`indexer`]), and the `SearchInstallations` request
//! around it.
//!
//! The index holds published installations only. At start it is checked against the outbox:
//! an index whose cursor names an event the store does not have (another database, or a
//! schema change) is rebuilt from the store; otherwise it catches up from its cursor. Events
//! are applied by re-reading the installations they touch, so replaying one is harmless.
//! Calendar facts (the next free window, "free within N days") are read from the store at
//! query time, never indexed, so they are never stale.
//!
//! With the encoder's model ([`meaning`]), a query is also embedded (once, off the async
//! workers) and the installations nearest in meaning are fused with the words' hits; each hit
//! says which found it. Without the model, search is by words alone.

mod indexer;
pub mod meaning;

/// The search request's reading, for the fuzz targets in `fuzz/` only.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use super::{InvalidInput, PageRequest, Query, parse, proto};

    pub fn search_request(request: &proto::SearchInstallationsRequest) -> Result<(Query, PageRequest), InvalidInput> {
        parse(request)
    }
}

use std::collections::HashMap;
use std::path::PathBuf;

use rti_platform::error::{InvalidInput, Violations, internal_status};
use rti_platform::events::Outbox;
use rti_platform::pagination::PageRequest;
use rti_platform::time::now_micros;
use rti_proto::registry as proto;
use rti_search::{Cursor, Document, Matched, Query, SearchError, SearchIndex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::convert;
use crate::domain::{RegistryError, calendar};
use crate::store::{RegistryStore, SearchSource};
use indexer::Follower;
use meaning::Meaning;

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
pub const MAX_QUERY_CHARS: usize = 500;

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
    /// `None` without the encoder's model: search by words only.
    meaning: Option<Meaning>,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Search")
            .field("meaning", &self.meaning.is_some())
            .finish_non_exhaustive()
    }
}

impl Search {
    /// Opens the index (in `dir`, or in memory), brings it up to date with the store, and
    /// starts the task that keeps it there until `stopping` fires. With `meaning`, that task
    /// first brings the installations' embeddings up to date, then keeps them there too.
    pub async fn start(
        store: RegistryStore,
        outbox: Outbox,
        dir: Option<PathBuf>,
        meaning: Option<Meaning>,
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
            index: index.clone(),
            meaning: meaning.clone(),
            digests: HashMap::new(),
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
        Ok((Self { index, meaning }, task))
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
        let meaning = self.meaning.clone();
        let results = tokio::task::spawn_blocking(move || {
            if let Some(meaning) = meaning.filter(|_| !query.text.is_empty()) {
                query.meaning = Some(meaning.embed_query(&query.text));
            }
            index.search(&query)
        })
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
                    matched_by: matched_by(hit.matched) as i32,
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
        meaning: None,
        offset: usize::try_from(page.offset).unwrap_or(usize::MAX),
        limit: usize::try_from(page.size).unwrap_or(usize::MAX),
    };
    Ok((query, page))
}

fn matched_by(matched: Matched) -> proto::MatchedBy {
    match matched {
        Matched::Words => proto::MatchedBy::Words,
        Matched::Meaning => proto::MatchedBy::Meaning,
        Matched::WordsAndMeaning => proto::MatchedBy::WordsAndMeaning,
    }
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
