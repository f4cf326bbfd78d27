//! What the search index reads from the store: published installations with their
//! infrastructure and provider names, which installations an event touches, and the calendar
//! facts a search filters and decorates hits with.

use std::collections::HashMap;

use super::RegistryStore;
use super::rows::{InstallationRow, WindowRow};
use crate::domain::{CapacityWindow, Installation, RegistryResult, next_free_window};

/// A published installation as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSource {
    pub installation: Installation,
    pub infrastructure_name: String,
    pub infrastructure_acronym: String,
    pub provider_name: String,
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    #[sqlx(flatten)]
    installation: InstallationRow,
    infrastructure_name: String,
    infrastructure_acronym: String,
    provider_name: String,
}

/// Installation columns qualified by the `i` alias, for joins.
fn installation_columns() -> String {
    InstallationRow::COLUMNS
        .split(',')
        .map(|column| format!("i.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest number of ids bound into one `IN (…)` list.
const MAX_IDS_PER_QUERY: usize = 500;

pub(super) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RegistryStore {
    /// Published installations after `after_id` in id order, at most `limit`: a rebuild reads
    /// the catalogue page by page.
    pub async fn published_sources(&self, after_id: &str, limit: i64) -> RegistryResult<Vec<SearchSource>> {
        let query = sql!(
            "SELECT {}, f.name AS infrastructure_name, f.acronym AS infrastructure_acronym, p.name AS provider_name \
             FROM installations i JOIN infrastructures f ON f.id = i.infrastructure_id \
             JOIN providers p ON p.id = f.provider_id \
             WHERE i.status = 'published' AND i.id > $1 ORDER BY i.id LIMIT $2",
            installation_columns()
        );
        let rows: Vec<SourceRow> = sqlx::query_as(query)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.database.readers())
            .await?;
        rows.into_iter().map(SearchSource::try_from).collect()
    }

    /// The installations with these ids, published or not, with their parents' names; the
    /// ones that no longer exist are missing from the answer.
    pub async fn sources(&self, ids: &[String]) -> RegistryResult<Vec<SearchSource>> {
        let mut sources = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            let query = sql!(
                "SELECT {}, f.name AS infrastructure_name, f.acronym AS infrastructure_acronym, \
                 p.name AS provider_name FROM installations i JOIN infrastructures f ON f.id = i.infrastructure_id \
                 JOIN providers p ON p.id = f.provider_id WHERE i.id IN ({})",
                installation_columns(),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, SourceRow>(query);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.database.readers()).await? {
                sources.push(SearchSource::try_from(row)?);
            }
        }
        Ok(sources)
    }

    /// The installations of an infrastructure, or of every infrastructure of a provider.
    pub async fn installation_ids_under(&self, parent_id: &str) -> RegistryResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT i.id FROM installations i JOIN infrastructures f ON f.id = i.infrastructure_id \
             WHERE f.id = $1 OR f.provider_id = $1 ORDER BY i.id",
        )
        .bind(parent_id)
        .fetch_all(self.database.readers())
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// The next window with free units of each of these installations, from `now` on.
    pub async fn next_free_windows(&self, ids: &[String], now: i64) -> RegistryResult<HashMap<String, CapacityWindow>> {
        let mut windows: HashMap<String, Vec<CapacityWindow>> = HashMap::new();
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            let query = sql!(
                "{} WHERE end_at > $1 AND units - closed_units - reserved_units > 0 AND installation_id IN ({}) \
                 ORDER BY start_at",
                WindowRow::SELECT,
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query_as::<_, WindowRow>(query).bind(now);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.database.readers()).await? {
                let window = CapacityWindow::from(row);
                windows.entry(window.installation_id.clone()).or_default().push(window);
            }
        }
        Ok(windows
            .into_iter()
            .filter_map(|(id, list)| next_free_window(&list, now).cloned().map(|window| (id, window)))
            .collect())
    }

    /// Installations with free units in a window that has not ended at `now` and opens before
    /// `until`.
    pub async fn installations_free_between(&self, now: i64, until: i64) -> RegistryResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT installation_id FROM capacity_windows \
             WHERE end_at > $1 AND start_at < $2 AND units - closed_units - reserved_units > 0",
        )
        .bind(now)
        .bind(until)
        .fetch_all(self.database.readers())
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}

impl TryFrom<SourceRow> for SearchSource {
    type Error = crate::domain::RegistryError;

    fn try_from(row: SourceRow) -> Result<Self, Self::Error> {
        Ok(SearchSource {
            installation: Installation::try_from(row.installation)?,
            infrastructure_name: row.infrastructure_name,
            infrastructure_acronym: row.infrastructure_acronym,
            provider_name: row.provider_name,
        })
    }
}
