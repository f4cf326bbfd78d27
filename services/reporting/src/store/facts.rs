//! The usage facts kept current with the database. Every process holds its own copy: before a
//! query it reads the number of the last batch of records written (by it or by any other
//! replica) and loads the batches it has not applied, in order, one whole batch at a time, so a
//! query never sees half a batch. The batches this process writes are applied as they commit.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use futures::TryStreamExt;
use sqlx::Row;

use super::ReportingStore;
use super::journal::{self, JournalRow};
use crate::domain::facts::{FactInput, Site, UsageFacts};
use crate::domain::usage::{Fingerprint, id_digest};
use crate::error::{ReportingError, ReportingResult};

/// The facts and the lock that lets one load run at a time.
#[derive(Debug, Default)]
pub(super) struct SharedFacts {
    facts: RwLock<UsageFacts>,
    loading: tokio::sync::Mutex<()>,
}

impl JournalRow<'_> {
    fn input(&self) -> ReportingResult<FactInput<'_>> {
        let fingerprint = Fingerprint::leading_of_hex(&self.21)
            .ok_or_else(|| ReportingError::Corrupt(format!("usage record {} has no hex fingerprint", self.0)))?;
        Ok(FactInput {
            record: id_digest(&self.0),
            fingerprint,
            user_key: &self.4,
            user_rkey: rkey(self.5),
            org_key: &self.6,
            org_rkey: rkey(self.7),
            request_id: &self.1,
            group_rkey: rkey(self.8),
            installation_id: &self.2,
            home_country: &self.9,
            requester_type: &self.10,
            access_mode: &self.11,
            lane: &self.12,
            funding_scheme: &self.13,
            new_user: self.15 != 0,
            period_start: self.16,
            month: self.18,
            units_used: self.19,
        })
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

    fn apply_loaded(&self, batch: i64, records: Vec<FactInput<'_>>) {
        // A batch this process wrote may have been applied while the load read it.
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        facts.load(batch, records);
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
        let mut batches = sqlx::query("SELECT id, body FROM usage_batches WHERE id > $1 AND id <= $2 ORDER BY id")
            .bind(from)
            .bind(latest)
            .fetch(self.database.readers());
        let mut loaded = 0usize;
        while let Some(row) = batches.try_next().await? {
            let batch: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            let records = journal::decode(&body)
                .map_err(|error| ReportingError::Corrupt(format!("usage batch {batch} does not read back: {error}")))?;
            let inputs = records
                .iter()
                .map(JournalRow::input)
                .collect::<ReportingResult<Vec<_>>>()?;
            loaded += inputs.len();
            self.facts.apply_loaded(batch, inputs);
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
