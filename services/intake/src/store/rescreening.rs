//! What re-screening reads and keeps (SEC-3): a version by id, the names a version adds or
//! changes since another, the open requests, and the runs an import starts.

use sqlx::Row;

use super::IntakeStore;
use super::sanctions::{SELECT, listed_names, version_from_row};
use crate::domain::IntakeResult;
use crate::domain::names::ListedName;
use crate::domain::request::RequestStatus;
use crate::domain::rescreening::is_open;
use crate::domain::sanctions::SanctionsListVersion;

impl IntakeStore {
    pub async fn sanctions_list(&self, id: &str) -> IntakeResult<Option<SanctionsListVersion>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// The names of version `list` that version `baseline` does not hold as they are: added
    /// parties, and names added or changed.
    pub async fn sanctions_names_added(&self, baseline: &str, list: &str) -> IntakeResult<Vec<ListedName>> {
        let rows = sqlx::query(
            "SELECT n.party, n.name FROM sanctions_names n WHERE n.sanctions_list_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM sanctions_names o WHERE o.sanctions_list_id = $2 AND o.name = n.name AND o.party = n.party) \
             ORDER BY n.position",
        )
        .bind(list)
        .bind(baseline)
        .fetch_all(self.database.readers())
        .await?;
        listed_names(&rows)
    }

    /// The ids of the open requests (`rescreening::is_open`), in id order.
    pub async fn open_request_ids(&self) -> IntakeResult<Vec<String>> {
        let open: Vec<String> = RequestStatus::ALL
            .iter()
            .filter(|status| is_open(**status))
            .map(|status| format!("'{}'", status.as_stored()))
            .collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM access_requests WHERE status IN ({}) ORDER BY id",
            open.join(", ")
        )))
        .fetch_all(self.database.readers())
        .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// The versions whose re-screening has not finished.
    pub async fn unfinished_rescreening_runs(&self) -> IntakeResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT sanctions_list_id FROM rescreening_runs WHERE finished_at IS NULL ORDER BY created_at")
                .fetch_all(self.database.readers())
                .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    pub async fn finish_rescreening_runs(&self, list_ids: &[String], at: i64) -> IntakeResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for list_id in list_ids {
            sqlx::query("UPDATE rescreening_runs SET finished_at = $2 WHERE sanctions_list_id = $1")
                .bind(list_id)
                .bind(at)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
