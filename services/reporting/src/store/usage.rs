//! Usage records: each batch is checked and written in one transaction, as one row of the
//! usage journal (`store/journal.rs`). Under the usage writers' lock, the facts are brought up
//! to date with every batch committed before (by this process or another), so what they
//! remember of earlier records — ids, values, units used — is complete; the entitlements of the
//! batch's requests (what was granted and delivered, the slots) are those of the projections
//! as the transaction sees them (`store/entitlements.rs`); every record is checked against them in order, and the good ones are written
//! together: a record is either kept whole or reported, never half-written.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use rti_platform::db::Backend;
use rti_platform::time::now_micros;
use sqlx::Row;

use super::journal::{self, JournalRow};
use super::{ReportingStore, USAGE_LOCK_KEY};
use crate::domain::disclosure::UnitKind;
use crate::domain::facts::{FactInput, KnownKey, UsageFacts};
use crate::domain::usage::{Fingerprint, Refusal, UsageRecord, check};
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

/// A record that passed its checks, with its record keys and derived values.
struct Accepted<'record> {
    record: &'record UsageRecord,
    digest: u128,
    fingerprint: Fingerprint,
    lane: String,
    funding_scheme: &'static str,
    month: i32,
    user_rkey: u32,
    org_rkey: u32,
    group_rkey: u32,
}

impl Accepted<'_> {
    fn row<'a>(&'a self, recorded_by: &'a str, recorded_at: i64) -> JournalRow<'a> {
        let record = self.record;
        JournalRow(
            Cow::Borrowed(&record.record_id),
            Cow::Borrowed(&record.request_id),
            Cow::Borrowed(&record.installation_id),
            Cow::Borrowed(&record.slot_id),
            Cow::Borrowed(&record.user_id),
            i64::from(self.user_rkey),
            Cow::Borrowed(&record.organisation_id),
            i64::from(self.org_rkey),
            i64::from(self.group_rkey),
            Cow::Borrowed(&record.home_country),
            Cow::Borrowed(record.organisation_type),
            Cow::Borrowed(record.access_mode),
            Cow::Borrowed(&self.lane),
            Cow::Borrowed(self.funding_scheme),
            i32::from(record.eu_funded),
            i32::from(record.new_user),
            record.period_start,
            record.period_end,
            self.month,
            record.units_used,
            record.days_on_site,
            Cow::Owned(self.fingerprint.hex()),
            Cow::Borrowed(recorded_by),
            recorded_at,
        )
    }

    fn fact(&self) -> FactInput<'_> {
        FactInput {
            record: self.digest,
            fingerprint: self.fingerprint.leading(),
            user_key: &self.record.user_id,
            user_rkey: self.user_rkey,
            org_key: &self.record.organisation_id,
            org_rkey: self.org_rkey,
            request_id: &self.record.request_id,
            group_rkey: self.group_rkey,
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
        // Every batch committed before the lock was taken is in the facts from here on.
        let facts = self.current_facts().await?;
        let requests: BTreeSet<&str> = records.iter().map(|record| record.request_id.as_str()).collect();
        let mut entitlements = self.entitlements(&mut transaction, &requests).await?;
        let mut outcomes = Vec::with_capacity(records.len());
        let mut accepted = Vec::new();
        {
            let facts = facts.read();
            for (request_id, installation_id, entitlement) in entitlements.iter_mut() {
                entitlement.used_units = facts.used_units(request_id, installation_id);
            }
            let mut seen: HashMap<u128, u128> = HashMap::new();
            for record in records {
                let digest = record.id_digest();
                let fingerprint = record.fingerprint();
                let known = facts.fingerprint_of(digest).or_else(|| seen.get(&digest).copied());
                if let Some(known) = known {
                    outcomes.push(if known == fingerprint.leading() {
                        RecordOutcome::Unchanged
                    } else {
                        RecordOutcome::Conflict
                    });
                    continue;
                }
                let entitlement = entitlements.get_mut(&record.request_id, &record.installation_id);
                // An unknown request is named as such; anything more is told only to its operator.
                if let Some(known) = entitlement.as_deref()
                    && !may_record(known.infrastructure_id.as_deref())
                {
                    outcomes.push(RecordOutcome::NotYours);
                    continue;
                }
                match check(record, entitlement.as_deref()) {
                    Ok(used_units) => {
                        let lane = match entitlement {
                            Some(entitlement) => {
                                entitlement.used_units = used_units;
                                entitlement.lane.clone()
                            }
                            None => String::new(),
                        };
                        seen.insert(digest, fingerprint.leading());
                        accepted.push(self.accepted(&facts, record, digest, fingerprint, lane));
                        outcomes.push(RecordOutcome::Created);
                    }
                    Err(refusal) => outcomes.push(RecordOutcome::Refused(refusal)),
                }
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
        let rows: Vec<JournalRow<'_>> = accepted
            .iter()
            .map(|accepted| accepted.row(recorded_by, recorded_at))
            .collect();
        sqlx::query("INSERT INTO usage_batches (id, records, recorded_at, body) VALUES ($1, $2, $3, $4)")
            .bind(batch)
            .bind(i64::try_from(accepted.len()).unwrap_or(i64::MAX))
            .bind(recorded_at)
            .bind(journal::encode(&rows))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        self.facts.apply(batch, accepted.iter().map(Accepted::fact));
        Ok(IngestOutcome { outcomes })
    }

    /// A record that passed its checks, with what is derived from it for storage. The record
    /// keys of users, organisations and user groups the facts know are taken from them rather
    /// than computed again.
    fn accepted<'record>(
        &self,
        facts: &UsageFacts,
        record: &'record UsageRecord,
        digest: u128,
        fingerprint: Fingerprint,
        lane: String,
    ) -> Accepted<'record> {
        let key = |known: KnownKey, kind: UnitKind, id: &str| {
            facts.known_key(known, id).unwrap_or_else(|| self.key(kind, id))
        };
        Accepted {
            user_rkey: key(KnownKey::User, UnitKind::User, &record.user_id),
            org_rkey: key(KnownKey::Organisation, UnitKind::Organisation, &record.organisation_id),
            group_rkey: key(KnownKey::UserGroup, UnitKind::UserGroup, &record.request_id),
            funding_scheme: usage_funding_scheme(&lane, record.eu_funded, record.access_mode),
            month: month_of(record.period_start),
            record,
            digest,
            fingerprint,
            lane,
        }
    }
}
