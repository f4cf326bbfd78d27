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

/// Rows per INSERT statement. The cost of a statement grows faster than its parameters on
/// SQLite (measured: 2,000 records took 40 ms in statements of 10 rows, 80 ms of 40, 550 ms of
/// 400), so rows go in small statements.
const ROWS_PER_INSERT: usize = 16;
/// Ids per `IN` list when reading a batch's records and entitlements.
const IDS_PER_LOOKUP: usize = 200;

type Pair = (String, String);

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
        let existing = existing_fingerprints(&mut transaction, records).await?;
        let pairs: BTreeSet<Pair> = records
            .iter()
            .map(|record| (record.request_id.clone(), record.installation_id.clone()))
            .collect();
        let mut entitlements = load_entitlements(&mut transaction, &pairs).await?;
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
                    accepted.push((record, fingerprint, entitlements_lane(&entitlements, &pair)));
                    outcomes.push(RecordOutcome::Created);
                }
                Err(refusal) => outcomes.push(RecordOutcome::Refused(refusal)),
            }
        }
        let recorded_at = now_micros();
        for chunk in accepted.chunks(ROWS_PER_INSERT) {
            self.insert_records(&mut transaction, chunk, recorded_by, recorded_at)
                .await?;
        }
        let mut added: HashMap<Pair, i64> = HashMap::new();
        for (record, _, _) in &accepted {
            *added
                .entry((record.request_id.clone(), record.installation_id.clone()))
                .or_default() += record.units_used;
        }
        let added: Vec<(Pair, i64)> = added.into_iter().collect();
        for chunk in added.chunks(ROWS_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|row| format!("({})", placeholders(row * 3 + 1, 3)))
                .collect();
            let sql = format!(
                "INSERT INTO usage_totals (request_id, installation_id, units_used) VALUES {} \
                 ON CONFLICT (request_id, installation_id) DO UPDATE \
                 SET units_used = usage_totals.units_used + excluded.units_used",
                rows.join(",")
            );
            let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((request_id, installation_id), units) in chunk {
                statement = statement
                    .bind(request_id.clone())
                    .bind(installation_id.clone())
                    .bind(*units);
            }
            statement.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(IngestOutcome { outcomes })
    }

    async fn insert_records(
        &self,
        transaction: &mut WriteTx,
        records: &[(&UsageRecord, String, String)],
        recorded_by: &str,
        recorded_at: i64,
    ) -> ReportingResult<()> {
        const COLUMNS: usize = 24;
        let mut sql = String::from(
            "INSERT INTO usage_records (record_id, request_id, installation_id, slot_id, user_key, user_rkey, \
             org_key, org_rkey, group_rkey, home_country, requester_type, access_mode, lane, funding_scheme, \
             eu_funded, new_user, period_start, period_end, month, units_used, days_on_site, fingerprint, \
             recorded_by, recorded_at) VALUES ",
        );
        for row in 0..records.len() {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 0..COLUMNS {
                if column > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", row * COLUMNS + column + 1));
            }
            sql.push(')');
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (record, fingerprint, lane) in records {
            query = query
                .bind(record.record_id.clone())
                .bind(record.request_id.clone())
                .bind(record.installation_id.clone())
                .bind(record.slot_id.clone())
                .bind(record.user_id.clone())
                .bind(self.key(UnitKind::User, &record.user_id))
                .bind(record.organisation_id.clone())
                .bind(self.key(UnitKind::Organisation, &record.organisation_id))
                .bind(self.key(UnitKind::UserGroup, &record.request_id))
                .bind(record.home_country.clone())
                .bind(record.organisation_type)
                .bind(record.access_mode)
                .bind(lane.clone())
                .bind(usage_funding_scheme(lane, record.eu_funded, record.access_mode))
                .bind(i32::from(record.eu_funded))
                .bind(i32::from(record.new_user))
                .bind(record.period_start)
                .bind(record.period_end)
                .bind(month_of(record.period_start))
                .bind(record.units_used)
                .bind(record.days_on_site)
                .bind(fingerprint.clone())
                .bind(recorded_by.to_owned())
                .bind(recorded_at);
        }
        query.execute(&mut **transaction).await?;
        Ok(())
    }
}

fn entitlements_lane(entitlements: &HashMap<Pair, Entitlement>, pair: &Pair) -> String {
    entitlements
        .get(pair)
        .map(|entitlement| entitlement.lane.clone())
        .unwrap_or_default()
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn existing_fingerprints(
    transaction: &mut WriteTx,
    records: &[UsageRecord],
) -> ReportingResult<HashMap<String, String>> {
    let ids: BTreeSet<&str> = records.iter().map(|record| record.record_id.as_str()).collect();
    let mut found = HashMap::new();
    let ids: Vec<&str> = ids.into_iter().collect();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let sql = format!(
            "SELECT record_id, fingerprint FROM usage_records WHERE record_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **transaction).await? {
            found.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(found)
}

/// What the projections say of each (request, installation) pair, read in the transaction.
async fn load_entitlements(
    transaction: &mut WriteTx,
    pairs: &BTreeSet<Pair>,
) -> ReportingResult<HashMap<Pair, Entitlement>> {
    let requests: Vec<&str> = pairs
        .iter()
        .map(|(request, _)| request.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut entitlements: HashMap<Pair, Entitlement> = HashMap::new();
    for chunk in requests.chunks(IDS_PER_LOOKUP) {
        let list = placeholders(1, chunk.len());
        let queries = [
            // The request and each installation it asked for, with the installation's infrastructure.
            format!(
                "SELECT r.id, ri.installation_id, r.lane, COALESCE(i.infrastructure_id, ''), CAST(0 AS BIGINT) FROM requests r \
                 JOIN request_installations ri ON ri.request_id = r.id \
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
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut **transaction).await? {
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
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **transaction).await? {
            let pair: Pair = (row.try_get(0)?, row.try_get(1)?);
            if let Some(entitlement) = entitlements.get_mut(&pair) {
                entitlement.slots.push(SlotPeriod {
                    slot_id: row.try_get(2)?,
                    starts_at: row.try_get(3)?,
                    ends_at: row.try_get(4)?,
                });
            }
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
