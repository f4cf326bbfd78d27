//! The usage facts kept current with the database. Every process holds its own copy: before a
//! query it reads the number of the last batch of records written (by it or by any other
//! replica) and loads the batches it has not applied, in order, one whole batch at a time, so a
//! query never sees half a batch. The batches this process writes are applied as they commit.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use futures::TryStreamExt;
use sqlx::Row;

use super::ReportingStore;
use crate::domain::facts::{FactInput, Site, UsageFacts};
use crate::error::ReportingResult;

/// The facts and the lock that lets one load run at a time.
#[derive(Debug, Default)]
pub(super) struct SharedFacts {
    facts: RwLock<UsageFacts>,
    loading: tokio::sync::Mutex<()>,
}

/// A record as the database returns it, until its whole batch is read.
struct Loaded {
    batch: i64,
    user_key: String,
    user_rkey: i64,
    org_key: String,
    org_rkey: i64,
    request_id: String,
    group_rkey: i64,
    installation_id: String,
    home_country: String,
    requester_type: String,
    access_mode: String,
    lane: String,
    funding_scheme: String,
    new_user: i32,
    period_start: i64,
    month: i32,
    units_used: i64,
}

impl Loaded {
    fn input(&self) -> FactInput<'_> {
        FactInput {
            user_key: &self.user_key,
            user_rkey: rkey(self.user_rkey),
            org_key: &self.org_key,
            org_rkey: rkey(self.org_rkey),
            request_id: &self.request_id,
            group_rkey: rkey(self.group_rkey),
            installation_id: &self.installation_id,
            home_country: &self.home_country,
            requester_type: &self.requester_type,
            access_mode: &self.access_mode,
            lane: &self.lane,
            funding_scheme: &self.funding_scheme,
            new_user: self.new_user != 0,
            period_start: self.period_start,
            month: self.month,
            units_used: self.units_used,
        }
    }
}

fn rkey(value: i64) -> u32 {
    u32::try_from(value.rem_euclid(1 << 32)).unwrap_or(0)
}

impl SharedFacts {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, UsageFacts> {
        self.facts.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a batch this process has just committed, if every earlier one is applied.
    pub(super) fn apply<'record>(&self, batch: i64, records: impl IntoIterator<Item = FactInput<'record>>) {
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        facts.apply_next(batch, records);
    }

    fn apply_loaded(&self, batch: i64, records: &[Loaded]) {
        // A batch this process wrote may have been applied while the load read it.
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        facts.load(batch, records.iter().map(Loaded::input));
    }
}

impl ReportingStore {
    /// Brings the usage facts up to date with the database (at start, before the first query).
    pub async fn load_usage_facts(&self) -> ReportingResult<usize> {
        Ok(self.current_facts().await?.read().records())
    }

    /// The facts, with every batch committed before this call applied.
    pub(super) async fn current_facts(&self) -> ReportingResult<Arc<SharedFacts>> {
        let latest: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM usage_batches")
            .fetch_one(self.database.readers())
            .await?
            .try_get(0)?;
        if self.facts.read().batch() >= latest {
            return Ok(self.facts.clone());
        }
        let _loading = self.facts.loading.lock().await;
        let from = self.facts.read().batch();
        if from >= latest {
            return Ok(self.facts.clone());
        }
        let started = std::time::Instant::now();
        let mut rows = sqlx::query(
            "SELECT batch, user_key, user_rkey, org_key, org_rkey, request_id, group_rkey, installation_id, \
             home_country, requester_type, access_mode, lane, funding_scheme, new_user, period_start, month, \
             units_used FROM usage_records WHERE batch > $1 AND batch <= $2 ORDER BY batch",
        )
        .bind(from)
        .bind(latest)
        .fetch(self.database.readers());
        let mut pending: Vec<Loaded> = Vec::new();
        let mut loaded = 0usize;
        while let Some(row) = rows.try_next().await? {
            let record = Loaded {
                batch: row.try_get(0)?,
                user_key: row.try_get(1)?,
                user_rkey: row.try_get(2)?,
                org_key: row.try_get(3)?,
                org_rkey: row.try_get(4)?,
                request_id: row.try_get(5)?,
                group_rkey: row.try_get(6)?,
                installation_id: row.try_get(7)?,
                home_country: row.try_get(8)?,
                requester_type: row.try_get(9)?,
                access_mode: row.try_get(10)?,
                lane: row.try_get(11)?,
                funding_scheme: row.try_get(12)?,
                new_user: row.try_get(13)?,
                period_start: row.try_get(14)?,
                month: row.try_get(15)?,
                units_used: row.try_get(16)?,
            };
            if pending.last().is_some_and(|last| last.batch != record.batch) {
                self.facts.apply_loaded(pending[0].batch, &pending);
                loaded += pending.len();
                pending.clear();
            }
            pending.push(record);
        }
        if let Some(first) = pending.first() {
            self.facts.apply_loaded(first.batch, &pending);
            loaded += pending.len();
        }
        // Batches with no record left (none are written empty) and the records before batches.
        self.facts
            .facts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .caught_up(latest);
        if loaded > 0 {
            tracing::info!(
                records = loaded,
                batches = latest - from,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "usage facts loaded"
            );
        }
        Ok(self.facts.clone())
    }

    /// Where every installation the registry told of is.
    pub(super) async fn sites(&self) -> ReportingResult<HashMap<String, Site>> {
        let rows = sqlx::query("SELECT installation_id, infrastructure_id, provider_country FROM installation_sites")
            .fetch_all(self.database.readers())
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    Site {
                        infrastructure_id: row.try_get(1)?,
                        provider_country: row.try_get(2)?,
                    },
                ))
            })
            .collect()
    }
}
