//! What the projections say a batch's usage records may use (TA-10): per request, the
//! installations it asked for with their infrastructure, the units granted and delivered there,
//! and the windows its slots hold. Each request is read from the projections once and kept
//! until a projection changes: every projection is written with its stream's cursor in one
//! transaction, so the cursors, read inside the usage writer's transaction, say whether what is
//! kept is still what the projections hold.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use rti_platform::db::{Backend, WriteTx};
use sqlx::Row;

use super::ReportingStore;
use crate::domain::usage::{Entitlement, SlotPeriod};
use crate::error::ReportingResult;

/// A request's installations and what it may use at each; `None`: no projection knows it.
type Known = Option<Vec<(String, Entitlement)>>;

/// The requests read so far, and the cursors they were read at.
#[derive(Debug, Default)]
pub(super) struct EntitlementCache(Mutex<Cached>);

#[derive(Debug, Default)]
struct Cached {
    cursors: Option<(i64, i64)>,
    requests: HashMap<String, Known>,
}

/// What the projections say of a batch's (request, installation) pairs: per request, the
/// installations it names (a few), so that a record finds its pair by its own strings.
#[derive(Debug, Default)]
pub(super) struct Entitlements(HashMap<String, Vec<(String, Entitlement)>>);

impl Entitlements {
    /// The pair's entitlement: `None` for a request no projection knows; a default (not
    /// requested here) for an installation the request did not name.
    pub(super) fn get_mut(&mut self, request_id: &str, installation_id: &str) -> Option<&mut Entitlement> {
        if self.requested(request_id, installation_id).is_none() {
            self.0
                .get_mut(request_id)?
                .push((installation_id.to_owned(), Entitlement::default()));
        }
        self.requested(request_id, installation_id)
    }

    /// The entitlement at an installation the request asked for.
    fn requested(&mut self, request_id: &str, installation_id: &str) -> Option<&mut Entitlement> {
        self.0
            .get_mut(request_id)?
            .iter_mut()
            .find_map(|(installation, entitlement)| (installation == installation_id).then_some(entitlement))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &str, &mut Entitlement)> {
        self.0.iter_mut().flat_map(|(request, installations)| {
            installations
                .iter_mut()
                .map(move |(installation, entitlement)| (request.as_str(), installation.as_str(), entitlement))
        })
    }
}

impl ReportingStore {
    /// The entitlements of `requests`, read in the usage writer's `transaction` (units used so
    /// far are the facts' to add).
    pub(super) async fn entitlements(
        &self,
        transaction: &mut WriteTx,
        requests: &BTreeSet<&str>,
    ) -> ReportingResult<Entitlements> {
        let row = sqlx::query("SELECT COUNT(*), CAST(COALESCE(SUM(sequence), 0) AS BIGINT) FROM feed_cursors")
            .fetch_one(&mut **transaction)
            .await?;
        let cursors = (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?);
        let missing: BTreeSet<&str> = {
            let mut cached = self.entitlements.lock();
            if cached.cursors != Some(cursors) {
                cached.requests.clear();
                cached.cursors = Some(cursors);
            }
            requests
                .iter()
                .copied()
                .filter(|request| !cached.requests.contains_key(*request))
                .collect()
        };
        let mut loaded = if missing.is_empty() {
            HashMap::new()
        } else {
            load(transaction, self.database.backend(), &missing).await?
        };
        let mut cached = self.entitlements.lock();
        for request in missing {
            let known = loaded.remove(request);
            cached.requests.insert(request.to_owned(), known);
        }
        let mut batch = Entitlements::default();
        for request in requests {
            if let Some(Some(installations)) = cached.requests.get(*request) {
                batch.0.insert((*request).to_owned(), installations.clone());
            }
        }
        Ok(batch)
    }
}

impl EntitlementCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A subquery of the ids in the JSON array bound as `$1`.
fn json_ids(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SELECT value FROM json_each($1)",
        Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($1 AS JSONB))",
    }
}

fn ids_json<'ids>(ids: impl IntoIterator<Item = &'ids str>) -> String {
    serde_json::Value::Array(ids.into_iter().map(serde_json::Value::from).collect()).to_string()
}

/// What the projections say of `requests`, by request; a request no projection knows is absent.
async fn load(
    transaction: &mut WriteTx,
    backend: Backend,
    requests: &BTreeSet<&str>,
) -> ReportingResult<HashMap<String, Vec<(String, Entitlement)>>> {
    let requests = ids_json(requests.iter().copied());
    let list = json_ids(backend);
    let mut found = Entitlements::default();
    let queries = [
        // The request and each installation it asked for, with the installation's infrastructure.
        format!(
            "SELECT r.id, ri.installation_id, r.lane, COALESCE(i.infrastructure_id, ''), CAST(0 AS BIGINT) \
             FROM requests r JOIN request_installations ri ON ri.request_id = r.id \
             LEFT JOIN installations i ON i.id = ri.installation_id WHERE r.id IN ({list})"
        ),
        format!("SELECT request_id, installation_id, '', '', units FROM grants WHERE request_id IN ({list})"),
        format!(
            "SELECT request_id, installation_id, '', '', CAST(SUM(delivered_units) AS BIGINT) FROM slots \
             WHERE request_id IN ({list}) GROUP BY request_id, installation_id"
        ),
    ];
    for (step, sql) in queries.into_iter().enumerate() {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(requests.clone())
            .fetch_all(&mut **transaction)
            .await?;
        for row in rows {
            let (request_id, installation_id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let value: i64 = row.try_get(4)?;
            if step == 0 {
                let infrastructure: String = row.try_get(3)?;
                found.0.entry(request_id).or_default().push((
                    installation_id,
                    Entitlement {
                        lane: row.try_get(2)?,
                        requested_here: true,
                        infrastructure_id: (!infrastructure.is_empty()).then_some(infrastructure),
                        ..Entitlement::default()
                    },
                ));
                continue;
            }
            let Some(entitlement) = found.requested(&request_id, &installation_id) else {
                continue;
            };
            if step == 1 {
                entitlement.granted_units = value;
            } else {
                entitlement.delivered_units = value;
            }
        }
    }
    let sql = format!(
        "SELECT s.request_id, s.installation_id, s.id, w.starts_at, w.ends_at FROM slots s \
         JOIN slot_windows w ON w.slot_id = s.id \
         WHERE s.request_id IN ({list}) AND s.status IN ('held', 'accepted', 'confirmed', 'delivered')"
    );
    for row in sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(requests)
        .fetch_all(&mut **transaction)
        .await?
    {
        let (request_id, installation_id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(entitlement) = found.requested(&request_id, &installation_id) {
            entitlement.slots.push(SlotPeriod {
                slot_id: row.try_get(2)?,
                starts_at: row.try_get(3)?,
                ends_at: row.try_get(4)?,
            });
        }
    }
    Ok(found.0)
}
