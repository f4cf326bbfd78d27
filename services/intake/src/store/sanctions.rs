//! Imported versions of the EU consolidated financial sanctions list (SEC-2): the raw file with
//! its hash for audit, and every listed name for screening. The newest by generation date screens.

use rti_platform::time::timestamp_from_micros;
use rti_proto::common::event::Payload;
use rti_proto::intake as proto;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IntakeStore, stored_enum};
use crate::domain::IntakeResult;
use crate::domain::names::ListedName;

/// A parsed list, ready to store.
#[derive(Debug, Clone)]
pub struct NewSanctionsList {
    pub id: String,
    pub generation_time: i64,
    pub format: proto::SanctionsListFormat,
    pub sha256: String,
    pub parties: i64,
    pub names: Vec<ListedName>,
    pub imported_by: String,
    pub imported_at: i64,
    pub raw: Vec<u8>,
}

const SELECT: &str =
    "SELECT id, generation_time, format, sha256, parties, names, imported_by, imported_at FROM sanctions_lists";

impl IntakeStore {
    /// Stores a version once: a file whose hash is already stored returns that version.
    pub async fn import_sanctions_list(&self, list: NewSanctionsList) -> IntakeResult<proto::SanctionsListVersion> {
        let mut transaction = self.database.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO sanctions_lists (id, generation_time, format, sha256, parties, names, imported_by, \
             imported_at, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&list.id)
        .bind(list.generation_time)
        .bind(list.format.as_str_name())
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
        for (position, name) in list.names.iter().enumerate() {
            sqlx::query(
                "INSERT INTO sanctions_names (sanctions_list_id, position, party, name) VALUES ($1, $2, $3, $4)",
            )
            .bind(&list.id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(&name.party)
            .bind(&name.name)
            .execute(&mut *transaction)
            .await?;
        }
        let version = proto::SanctionsListVersion {
            id: list.id.clone(),
            generation_time: Some(timestamp_from_micros(list.generation_time)),
            format: list.format.into(),
            sha256: list.sha256.clone(),
            parties: list.parties,
            names: i64::try_from(list.names.len()).unwrap_or(i64::MAX),
            imported_by: list.imported_by.clone(),
            import_time: Some(timestamp_from_micros(list.imported_at)),
        };
        let event = Payload::SanctionsListImported(proto::SanctionsListImported {
            sanctions_list_id: version.id.clone(),
            generation_time: version.generation_time,
            parties: version.parties,
            names: version.names,
        });
        self.outbox.append(&mut transaction, &version.id, event).await?;
        self.outbox.commit(transaction).await?;
        Ok(version)
    }

    /// The version with the latest generation date; of two with the same date, the later import.
    pub async fn newest_sanctions_list(&self) -> IntakeResult<Option<proto::SanctionsListVersion>> {
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
        rows.iter()
            .map(|row| {
                Ok(ListedName {
                    party: row.try_get(0)?,
                    name: row.try_get(1)?,
                })
            })
            .collect()
    }
}

fn version_from_row(row: &AnyRow) -> IntakeResult<proto::SanctionsListVersion> {
    Ok(proto::SanctionsListVersion {
        id: row.try_get(0)?,
        generation_time: Some(timestamp_from_micros(row.try_get(1)?)),
        format: stored_enum(row, 2, proto::SanctionsListFormat::from_str_name)?,
        sha256: row.try_get(3)?,
        parties: row.try_get(4)?,
        names: row.try_get(5)?,
        imported_by: row.try_get(6)?,
        import_time: Some(timestamp_from_micros(row.try_get(7)?)),
    })
}
