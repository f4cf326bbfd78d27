//! Imported versions of the EU consolidated financial sanctions list (SEC-2): the raw file with
//! its hash for audit, and every listed name for screening. The newest by generation date screens.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IntakeStore, proto as edge, stored};
use crate::domain::IntakeResult;
use crate::domain::names::ListedName;
use crate::domain::sanctions::{NewSanctionsList, SanctionsListFormat, SanctionsListVersion};

pub(super) const SELECT: &str =
    "SELECT id, generation_time, format, sha256, parties, names, imported_by, imported_at FROM sanctions_lists";

/// Names inserted by one statement: four parameters each, far below SQLite's and PostgreSQL's
/// limits on parameters per statement.
const NAMES_PER_STATEMENT: usize = 500;

/// `INSERT INTO sanctions_names … VALUES ($1, $2, $3, $4), ($5, …)` for `rows` names.
fn insert_names_statement(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * 4 + 1;
            format!("(${}, ${}, ${}, ${})", first, first + 1, first + 2, first + 3)
        })
        .collect();
    format!(
        "INSERT INTO sanctions_names (sanctions_list_id, position, party, name) VALUES {}",
        values.join(", ")
    )
}

impl IntakeStore {
    /// Stores a version once: a file whose hash is already stored returns that version.
    pub async fn import_sanctions_list(&self, list: NewSanctionsList) -> IntakeResult<SanctionsListVersion> {
        let mut transaction = self.database.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO sanctions_lists (id, generation_time, format, sha256, parties, names, imported_by, \
             imported_at, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&list.id)
        .bind(list.generation_time)
        .bind(list.format.as_stored())
        .bind(&list.sha256)
        .bind(list.parties)
        .bind(i64::try_from(list.names.len()).unwrap_or(i64::MAX))
        .bind(&list.imported_by)
        .bind(list.imported_at)
        .bind(&list.raw)
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            transaction.rollback().await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE sha256 = $1")))
                .bind(&list.sha256)
                .fetch_one(self.database.readers())
                .await?;
            return version_from_row(&row);
        }
        // Many rows a statement: a list of tens of thousands of names holds the one writer for
        // a few hundred statements, not one per name.
        for (chunk_index, chunk) in list.names.chunks(NAMES_PER_STATEMENT).enumerate() {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_names_statement(chunk.len())));
            for (offset, name) in chunk.iter().enumerate() {
                let position = chunk_index * NAMES_PER_STATEMENT + offset;
                query = query
                    .bind(&list.id)
                    .bind(i32::try_from(position).unwrap_or(i32::MAX))
                    .bind(&name.party)
                    .bind(&name.name);
            }
            query.execute(&mut *transaction).await?;
        }
        let version = SanctionsListVersion {
            id: list.id.clone(),
            generation_time: list.generation_time,
            format: list.format,
            sha256: list.sha256.clone(),
            parties: list.parties,
            names: i64::try_from(list.names.len()).unwrap_or(i64::MAX),
            imported_by: list.imported_by.clone(),
            import_time: list.imported_at,
        };
        // SEC-3: a new version re-screens the open requests, resumed after a restart.
        sqlx::query("INSERT INTO rescreening_runs (sanctions_list_id, created_at) VALUES ($1, $2)")
            .bind(&version.id)
            .bind(list.imported_at)
            .execute(&mut *transaction)
            .await?;
        let event = edge::sanctions_list_imported(&version);
        self.outbox.append(&mut transaction, &version.id, event).await?;
        self.outbox.commit(transaction).await?;
        Ok(version)
    }

    /// The version with the latest generation date; of two with the same date, the later import.
    pub async fn newest_sanctions_list(&self) -> IntakeResult<Option<SanctionsListVersion>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY generation_time DESC, imported_at DESC, id DESC LIMIT 1"
        )))
        .fetch_optional(self.database.readers())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    pub async fn sanctions_names(&self, list_id: &str) -> IntakeResult<Vec<ListedName>> {
        let rows =
            sqlx::query("SELECT party, name FROM sanctions_names WHERE sanctions_list_id = $1 ORDER BY position")
                .bind(list_id)
                .fetch_all(self.database.readers())
                .await?;
        listed_names(&rows)
    }
}

/// Rows of (party, name) as listed names.
pub(super) fn listed_names(rows: &[AnyRow]) -> IntakeResult<Vec<ListedName>> {
    rows.iter()
        .map(|row| {
            Ok(ListedName {
                party: row.try_get(0)?,
                name: row.try_get(1)?,
            })
        })
        .collect()
}

pub(super) fn version_from_row(row: &AnyRow) -> IntakeResult<SanctionsListVersion> {
    Ok(SanctionsListVersion {
        id: row.try_get(0)?,
        generation_time: row.try_get(1)?,
        format: stored(row, 2, SanctionsListFormat::from_stored)?,
        sha256: row.try_get(3)?,
        parties: row.try_get(4)?,
        names: row.try_get(5)?,
        imported_by: row.try_get(6)?,
        import_time: row.try_get(7)?,
    })
}
