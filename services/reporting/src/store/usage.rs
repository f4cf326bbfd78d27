//! Usage records: each batch is checked and written in one transaction. The entitlements of the
//! batch's requests are read inside it (what was granted, delivered and already used), every
//! record is checked against them in order, and the good ones are inserted together: a record is
//! either kept whole or reported, never half-written.

use std::collections::{BTreeSet, HashMap};

use rti_platform::db::{Backend, WriteTx};
use rti_platform::time::now_micros;
use sqlx::Row;

use super::{ReportingStore, USAGE_LOCK_KEY};
use crate::domain::disclosure::UnitKind;
use crate::domain::facts::FactInput;
use crate::domain::usage::{Entitlement, Refusal, SlotPeriod, UsageRecord, check};
use crate::domain::{month_of, usage_funding_scheme};
use crate::error::ReportingResult;

/// What became of one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Created,
    /// The same record was already there (a retry).
    Unchanged,
    /// Another record already has this id with other values.
    Conflict,
    /// The installation is not run by an infrastructure the caller operates.
    NotYours,
    Refused(Refusal),
}

/// A batch's outcomes, in the batch's order.
#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    pub outcomes: Vec<RecordOutcome>,
}

type Pair = (String, String);

/// A record that passed its checks, with its record keys and derived values.
struct Accepted<'record> {
    record: &'record UsageRecord,
    fingerprint: String,
    lane: String,
    funding_scheme: &'static str,
    month: i32,
    user_rkey: i64,
    org_rkey: i64,
    group_rkey: i64,
}

impl Accepted<'_> {
    fn fact(&self) -> FactInput<'_> {
        let rkey = |key: i64| u32::try_from(key).unwrap_or(0);
        FactInput {
            user_key: &self.record.user_id,
            user_rkey: rkey(self.user_rkey),
            org_key: &self.record.organisation_id,
            org_rkey: rkey(self.org_rkey),
            request_id: &self.record.request_id,
            group_rkey: rkey(self.group_rkey),
            installation_id: &self.record.installation_id,
            home_country: &self.record.home_country,
            requester_type: self.record.organisation_type,
            access_mode: self.record.access_mode,
            lane: &self.lane,
            funding_scheme: self.funding_scheme,
            new_user: self.record.new_user,
            period_start: self.record.period_start,
            month: self.month,
            units_used: self.record.units_used,
        }
    }
}

impl ReportingStore {
    /// Checks and writes `records` in one transaction. `may_record` says whether the caller may
    /// record usage at an infrastructure (`None`: the installation's is not known here).
    pub async fn record_usage(
        &self,
        records: &[UsageRecord],
        may_record: impl Fn(Option<&str>) -> bool,
        recorded_by: &str,
    ) -> ReportingResult<IngestOutcome> {
        let mut transaction = self.database.begin_write().await?;
        if self.database.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(USAGE_LOCK_KEY)
                .execute(&mut *transaction)
                .await?;
        }
        let backend = self.database.backend();
        let existing = existing_fingerprints(&mut transaction, backend, records).await?;
        let pairs: BTreeSet<Pair> = records
            .iter()
            .map(|record| (record.request_id.clone(), record.installation_id.clone()))
            .collect();
        let mut entitlements = load_entitlements(&mut transaction, backend, &pairs).await?;
        let mut seen: HashMap<&str, String> = HashMap::new();
        let mut outcomes = Vec::with_capacity(records.len());
        let mut accepted = Vec::new();
        for record in records {
            let fingerprint = record.fingerprint();
            let known = existing
                .get(&record.record_id)
                .or_else(|| seen.get(record.record_id.as_str()));
            if let Some(known) = known {
                outcomes.push(if *known == fingerprint {
                    RecordOutcome::Unchanged
                } else {
                    RecordOutcome::Conflict
                });
                continue;
            }
            let pair = (record.request_id.clone(), record.installation_id.clone());
            let entitlement = entitlements.get_mut(&pair);
            // An unknown request is named as such; anything more is told only to its operator.
            if let Some(known) = entitlement.as_deref()
                && !may_record(known.infrastructure_id.as_deref())
            {
                outcomes.push(RecordOutcome::NotYours);
                continue;
            }
            match check(record, entitlement.as_deref()) {
                Ok(()) => {
                    if let Some(entitlement) = entitlement {
                        entitlement.used_units += record.units_used;
                    }
                    seen.insert(&record.record_id, fingerprint.clone());
                    accepted.push(self.accepted(record, fingerprint, entitlements_lane(&entitlements, &pair)));
                    outcomes.push(RecordOutcome::Created);
                }
                Err(refusal) => outcomes.push(RecordOutcome::Refused(refusal)),
            }
        }
        if accepted.is_empty() {
            return Ok(IngestOutcome { outcomes });
        }
        let recorded_at = now_micros();
        let batch: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) + 1 AS BIGINT) FROM usage_batches")
            .fetch_one(&mut *transaction)
            .await?
            .try_get(0)?;
        sqlx::query("INSERT INTO usage_batches (id, records, recorded_at) VALUES ($1, $2, $3)")
            .bind(batch)
            .bind(i64::try_from(accepted.len()).unwrap_or(i64::MAX))
            .bind(recorded_at)
            .execute(&mut *transaction)
            .await?;
        self.insert_records(&mut transaction, &accepted, batch, recorded_by, recorded_at)
            .await?;
        let mut added: HashMap<Pair, i64> = HashMap::new();
        for Accepted { record, .. } in &accepted {
            *added
                .entry((record.request_id.clone(), record.installation_id.clone()))
                .or_default() += record.units_used;
        }
        if !added.is_empty() {
            let rows: Vec<serde_json::Value> = added
                .into_iter()
                .map(|((request_id, installation_id), units)| serde_json::json!([request_id, installation_id, units]))
                .collect();
            // SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT, to tell the two apart.
            let sql = format!(
                "INSERT INTO usage_totals (request_id, installation_id, units_used) {} WHERE 1 = 1 \
                 ON CONFLICT (request_id, installation_id) DO UPDATE \
                 SET units_used = usage_totals.units_used + excluded.units_used",
                json_rows(self.database.backend(), &TOTALS_COLUMNS)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        self.facts.apply(batch, accepted.iter().map(Accepted::fact));
        Ok(IngestOutcome { outcomes })
    }

    /// A record that passed its checks, with what is derived from it for storage.
    fn accepted<'record>(&self, record: &'record UsageRecord, fingerprint: String, lane: String) -> Accepted<'record> {
        Accepted {
            user_rkey: self.key(UnitKind::User, &record.user_id),
            org_rkey: self.key(UnitKind::Organisation, &record.organisation_id),
            group_rkey: self.key(UnitKind::UserGroup, &record.request_id),
            funding_scheme: usage_funding_scheme(&lane, record.eu_funded, record.access_mode),
            month: month_of(record.period_start),
            record,
            fingerprint,
            lane,
        }
    }

    /// Inserts the accepted records with one statement fed a JSON array of rows: SQLite's cost
    /// of a statement grows faster than its parameters (2,000 records took 40 ms in statements
    /// of 10 rows, 550 ms in statements of 400), one parameter costs nothing.
    async fn insert_records(
        &self,
        transaction: &mut WriteTx,
        records: &[Accepted<'_>],
        batch: i64,
        recorded_by: &str,
        recorded_at: i64,
    ) -> ReportingResult<()> {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|accepted| {
                let record = accepted.record;
                serde_json::json!([
                    record.record_id,
                    record.request_id,
                    record.installation_id,
                    record.slot_id,
                    record.user_id,
                    accepted.user_rkey,
                    record.organisation_id,
                    accepted.org_rkey,
                    accepted.group_rkey,
                    record.home_country,
                    record.organisation_type,
                    record.access_mode,
                    accepted.lane,
                    accepted.funding_scheme,
                    i32::from(record.eu_funded),
                    i32::from(record.new_user),
                    record.period_start,
                    record.period_end,
                    accepted.month,
                    record.units_used,
                    record.days_on_site,
                    accepted.fingerprint,
                    recorded_by,
                    recorded_at,
                    batch,
                ])
            })
            .collect();
        let names: Vec<&str> = RECORD_COLUMNS.iter().map(|(name, _)| *name).collect();
        let sql = format!(
            "INSERT INTO usage_records ({}) {}",
            names.join(", "),
            json_rows(self.database.backend(), &RECORD_COLUMNS)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }
}

/// How a column of a JSON-fed statement is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    BigInt,
}

const RECORD_COLUMNS: [(&str, Kind); 25] = [
    ("record_id", Kind::Text),
    ("request_id", Kind::Text),
    ("installation_id", Kind::Text),
    ("slot_id", Kind::Text),
    ("user_key", Kind::Text),
    ("user_rkey", Kind::BigInt),
    ("org_key", Kind::Text),
    ("org_rkey", Kind::BigInt),
    ("group_rkey", Kind::BigInt),
    ("home_country", Kind::Text),
    ("requester_type", Kind::Text),
    ("access_mode", Kind::Text),
    ("lane", Kind::Text),
    ("funding_scheme", Kind::Text),
    ("eu_funded", Kind::Integer),
    ("new_user", Kind::Integer),
    ("period_start", Kind::BigInt),
    ("period_end", Kind::BigInt),
    ("month", Kind::Integer),
    ("units_used", Kind::BigInt),
    ("days_on_site", Kind::Integer),
    ("fingerprint", Kind::Text),
    ("recorded_by", Kind::Text),
    ("recorded_at", Kind::BigInt),
    ("batch", Kind::BigInt),
];

const TOTALS_COLUMNS: [(&str, Kind); 3] = [
    ("request_id", Kind::Text),
    ("installation_id", Kind::Text),
    ("units_used", Kind::BigInt),
];

/// A SELECT that reads the JSON array of rows bound as `$1` as a table of `columns`: the one
/// place where the backends differ for it.
fn json_rows(backend: Backend, columns: &[(&str, Kind)]) -> String {
    let selected: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(index, (name, kind))| match (backend, kind) {
            (Backend::Sqlite, _) => format!("json_extract(value, '$[{index}]') AS {name}"),
            (Backend::Postgres, Kind::Text) => format!("row_value->>{index} AS {name}"),
            (Backend::Postgres, Kind::Integer) => format!("CAST(row_value->>{index} AS INTEGER) AS {name}"),
            (Backend::Postgres, Kind::BigInt) => format!("CAST(row_value->>{index} AS BIGINT) AS {name}"),
        })
        .collect();
    match backend {
        Backend::Sqlite => format!("SELECT {} FROM json_each($1)", selected.join(", ")),
        Backend::Postgres => format!(
            "SELECT {} FROM jsonb_array_elements(CAST($1 AS JSONB)) AS row_value",
            selected.join(", ")
        ),
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

fn entitlements_lane(entitlements: &HashMap<Pair, Entitlement>, pair: &Pair) -> String {
    entitlements
        .get(pair)
        .map(|entitlement| entitlement.lane.clone())
        .unwrap_or_default()
}

async fn existing_fingerprints(
    transaction: &mut WriteTx,
    backend: Backend,
    records: &[UsageRecord],
) -> ReportingResult<HashMap<String, String>> {
    let ids: BTreeSet<&str> = records.iter().map(|record| record.record_id.as_str()).collect();
    let sql = format!(
        "SELECT record_id, fingerprint FROM usage_records WHERE record_id IN ({})",
        json_ids(backend)
    );
    let mut found = HashMap::new();
    for row in sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids_json(ids))
        .fetch_all(&mut **transaction)
        .await?
    {
        found.insert(row.try_get(0)?, row.try_get(1)?);
    }
    Ok(found)
}

/// What the projections say of each (request, installation) pair, read in the transaction.
async fn load_entitlements(
    transaction: &mut WriteTx,
    backend: Backend,
    pairs: &BTreeSet<Pair>,
) -> ReportingResult<HashMap<Pair, Entitlement>> {
    let requests: BTreeSet<&str> = pairs.iter().map(|(request, _)| request.as_str()).collect();
    let requests = ids_json(requests);
    let list = json_ids(backend);
    let mut entitlements: HashMap<Pair, Entitlement> = HashMap::new();
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
        format!(
            "SELECT request_id, installation_id, '', '', units_used FROM usage_totals WHERE request_id IN ({list})"
        ),
    ];
    for (step, sql) in queries.into_iter().enumerate() {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(requests.clone())
            .fetch_all(&mut **transaction)
            .await?;
        for row in rows {
            let pair: Pair = (row.try_get(0)?, row.try_get(1)?);
            let value: i64 = row.try_get(4)?;
            if step == 0 {
                let infrastructure: String = row.try_get(3)?;
                entitlements.insert(
                    pair,
                    Entitlement {
                        lane: row.try_get(2)?,
                        requested_here: true,
                        infrastructure_id: (!infrastructure.is_empty()).then_some(infrastructure),
                        ..Entitlement::default()
                    },
                );
                continue;
            }
            let Some(entitlement) = entitlements.get_mut(&pair) else {
                continue;
            };
            match step {
                1 => entitlement.granted_units = value,
                2 => entitlement.delivered_units = value,
                _ => entitlement.used_units = value,
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
        let pair: Pair = (row.try_get(0)?, row.try_get(1)?);
        if let Some(entitlement) = entitlements.get_mut(&pair) {
            entitlement.slots.push(SlotPeriod {
                slot_id: row.try_get(2)?,
                starts_at: row.try_get(3)?,
                ends_at: row.try_get(4)?,
            });
        }
    }
    // A pair whose request is known but which did not ask for the installation.
    let known_requests: BTreeSet<String> = entitlements.keys().map(|(request, _)| request.clone()).collect();
    for pair in pairs {
        if known_requests.contains(&pair.0) && !entitlements.contains_key(pair) {
            entitlements.insert(pair.clone(), Entitlement::default());
        }
    }
    Ok(entitlements)
}
