//! The reporting store: projections of the other services' event streams (with each stream's
//! cursor in the same transaction), usage records, the facts statistics are computed from,
//! researcher counts, and the disclosure control's key secret. Portable SQL on SQLite and
//! PostgreSQL; where they differ it says so here.

mod entitlements;
mod facts;
mod journal;
mod projections;
mod reports;
mod statistics;
mod usage;

use std::collections::HashMap;

use rti_platform::db::{Backend, Database, WriteTx};
use sqlx::Row;

use crate::domain::disclosure::{KeySecret, UnitKind, record_key};
use crate::domain::researchers::ResearcherCount;
use crate::error::{ReportingError, ReportingResult};
pub use reports::InstallationSite;
pub use statistics::FactRows;
pub use usage::{IngestOutcome, RecordOutcome};

const SECRET_SETTING: &str = "record_key_secret";
/// Arbitrary constant naming the usage writers' advisory lock on PostgreSQL ("rti-usag"): the
/// units check of a record reads what earlier records used, so usage writes go one at a time
/// (SQLite's single writer does this by itself).
const USAGE_LOCK_KEY: i64 = 0x7274_692d_7573_6167;

#[derive(Debug, Clone)]
pub struct ReportingStore {
    database: Database,
    secret: std::sync::Arc<KeySecret>,
    facts: std::sync::Arc<facts::SharedFacts>,
    entitlements: std::sync::Arc<entitlements::EntitlementCache>,
}

impl ReportingStore {
    /// Opens the store over a migrated database. The record keys' secret is `configured` when
    /// given (tests), else the one stored at first start, else a new random one, stored.
    pub async fn open(database: Database, configured: Option<KeySecret>) -> ReportingResult<Self> {
        let secret = match configured {
            Some(secret) => secret,
            None => stored_or_new_secret(&database).await?,
        };
        Ok(Self {
            database,
            secret: std::sync::Arc::new(secret),
            facts: std::sync::Arc::default(),
            entitlements: std::sync::Arc::default(),
        })
    }

    fn key(&self, kind: UnitKind, id: &str) -> u32 {
        record_key(&self.secret, kind, id)
    }

    /// The last sequence applied from `source`'s stream, 0 for none.
    pub async fn cursor(&self, source: &str) -> ReportingResult<i64> {
        let row = sqlx::query("SELECT sequence FROM feed_cursors WHERE source = $1")
            .bind(source)
            .fetch_optional(self.database.readers())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    async fn write_cursor(transaction: &mut WriteTx, source: &str, sequence: i64) -> ReportingResult<()> {
        sqlx::query(
            "INSERT INTO feed_cursors (source, sequence) VALUES ($1, $2) \
             ON CONFLICT (source) DO UPDATE SET sequence = excluded.sequence",
        )
        .bind(source)
        .bind(sequence)
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Replaces the researcher counts of every (country, year) in `counts`; others stay.
    pub async fn store_researcher_counts(&self, counts: &[ResearcherCount]) -> ReportingResult<u64> {
        let mut transaction = self.database.begin_write().await?;
        for count in counts {
            sqlx::query(
                "INSERT INTO researcher_counts (country, year, researchers_fte, flag, dataset, source) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (country, year) DO UPDATE SET \
                 researchers_fte = excluded.researchers_fte, flag = excluded.flag, \
                 dataset = excluded.dataset, source = excluded.source",
            )
            .bind(&count.country)
            .bind(count.year)
            .bind(count.researchers_fte)
            .bind(&count.flag)
            .bind(&count.dataset)
            .bind(&count.source)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(counts.len() as u64)
    }

    /// Whether any researcher count is stored (the shipped table is loaded once, at first start).
    pub async fn has_researcher_counts(&self) -> ReportingResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) FROM researcher_counts")
            .fetch_one(self.database.readers())
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    pub async fn researcher_counts(&self, country: Option<&str>) -> ReportingResult<Vec<ResearcherCount>> {
        let rows = sqlx::query(
            "SELECT country, year, researchers_fte, flag, dataset, source FROM researcher_counts \
             WHERE ($1 = '' OR country = $1) ORDER BY country, year",
        )
        .bind(country.unwrap_or(""))
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ResearcherCount {
                    country: row.try_get(0)?,
                    year: row.try_get(1)?,
                    researchers_fte: row.try_get(2)?,
                    flag: row.try_get(3)?,
                    dataset: row.try_get(4)?,
                    source: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Readable names of installations and infrastructures, by id.
    pub async fn names(&self) -> ReportingResult<HashMap<String, String>> {
        let rows = sqlx::query("SELECT id, name FROM installations UNION ALL SELECT id, name FROM infrastructures")
            .fetch_all(self.database.readers())
            .await?;
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
    }
}

async fn stored_or_new_secret(database: &Database) -> ReportingResult<KeySecret> {
    let mut transaction = database.begin_write().await?;
    if database.backend() == Backend::Postgres {
        // Two replicas starting at once must agree on one secret.
        sqlx::query("LOCK TABLE settings IN EXCLUSIVE MODE")
            .execute(&mut *transaction)
            .await?;
    }
    let stored = sqlx::query("SELECT value FROM settings WHERE name = $1")
        .bind(SECRET_SETTING)
        .fetch_optional(&mut *transaction)
        .await?;
    let hex = match stored {
        Some(row) => row.try_get::<String, _>(0)?,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|error| ReportingError::Corrupt(format!("no randomness for the record keys: {error}")))?;
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2)")
                .bind(SECRET_SETTING)
                .bind(&hex)
                .execute(&mut *transaction)
                .await?;
            hex
        }
    };
    transaction.commit().await?;
    parse_secret(&hex)
}

fn parse_secret(hex: &str) -> ReportingResult<KeySecret> {
    let mut bytes = [0u8; 32];
    if hex.len() != 64 {
        return Err(ReportingError::Corrupt(
            "the stored record key secret is not 32 bytes".into(),
        ));
    }
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16)
            .map_err(|_| ReportingError::Corrupt("the stored record key secret is not hex".into()))?;
    }
    Ok(KeySecret::from_bytes(bytes))
}
