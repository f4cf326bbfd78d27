//! SEC-3: the slots of a request that matched a newer sanctions list are suspended, with the
//! reason, and the suspension lifted when intake's review clears the request; each with the
//! feed's cursor in the same transaction, so a replay changes nothing twice.

use rti_platform::time::now_micros;

use super::{AllocationStore, Cursor, sql_list};
use crate::domain::SlotStatus;
use crate::error::AllocationResult;

impl AllocationStore {
    /// Sets `reason` (empty lifts it) on the request's slots that are not ended or delivered:
    /// pending, held, accepted and confirmed. Returns how many slots changed.
    pub async fn set_suspension(
        &self,
        access_request_id: &str,
        reason: &str,
        cursor: Cursor<'_>,
    ) -> AllocationResult<u64> {
        let mut transaction = self.database.begin_write().await?;
        let open = [
            SlotStatus::Pending,
            SlotStatus::Held,
            SlotStatus::Accepted,
            SlotStatus::Confirmed,
        ];
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE slots SET suspended_reason = $2, updated_at = $3 WHERE access_request_id = $1 \
             AND suspended_reason <> $2 AND status IN ({})",
            sql_list(&open)
        )))
        .bind(access_request_id)
        .bind(reason)
        .bind(now_micros())
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if let Some((source, sequence)) = cursor {
            Self::write_cursor(&mut transaction, source, sequence).await?;
        }
        transaction.commit().await?;
        Ok(changed)
    }
}
