//! Approved allocations, their grants (the ledger's "granted"; TA-6 counts them across the calls
//! of one grant agreement), and the unit ledger.

use rti_platform::time::now_micros;
use rti_proto::allocation as proto;
use sqlx::Row;

use super::{AllocationStore, from_json, to_json};
use crate::convert;
use crate::domain::allocations::Allocation;
use crate::domain::calls::Call;
use crate::domain::ledger::LedgerUnits;
use crate::domain::{CallStatus, LineDecision, ProposalStatus, SlotStatus};
use crate::error::{AllocationError, AllocationResult};

impl AllocationStore {
    /// TA-6's ledger across calls: units already granted to non-EU/AC-majority groups under the
    /// grant agreement, in calls other than `call_id`.
    pub async fn non_eu_granted_elsewhere(&self, grant_agreement: &str, call_id: &str) -> AllocationResult<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM grants \
             WHERE grant_agreement = $1 AND call_id <> $2 AND non_eu = 1",
        )
        .bind(grant_agreement)
        .bind(call_id)
        .fetch_one(self.database.readers())
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Stores the approved allocation: the call turns ALLOCATED (once), grants are written,
    /// proposals are GRANTED or REFUSED, one event per line.
    pub async fn store_allocation(&self, call: &Call, allocation: &Allocation) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        let claimed = sqlx::query("UPDATE calls SET status = $2 WHERE id = $1 AND status = $3")
            .bind(&call.id)
            .bind(CallStatus::Allocated.as_stored())
            .bind(CallStatus::Open.as_stored())
            .execute(&mut *transaction)
            .await?;
        if claimed.rows_affected() == 0 {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; an allocation is approved once",
                call.id
            )));
        }
        sqlx::query("INSERT INTO allocations (id, call_id, body, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&allocation.id)
            .bind(&call.id)
            .bind(to_json(&convert::allocation_to_proto(allocation))?)
            .bind(now_micros())
            .execute(&mut *transaction)
            .await?;
        let mut events = Vec::new();
        for line in &allocation.lines {
            for granted in line.granted.iter().filter(|granted| granted.units > 0) {
                sqlx::query(
                    "INSERT INTO grants (proposal_id, installation_id, call_id, grant_agreement, units, non_eu) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&line.proposal_id)
                .bind(&granted.installation_id)
                .bind(&call.id)
                .bind(&call.grant_agreement)
                .bind(granted.units)
                .bind(i32::from(line.non_eu_majority))
                .execute(&mut *transaction)
                .await?;
            }
            let status = ProposalStatus::after(line.decision.unwrap_or(LineDecision::Granted));
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT body FROM proposals WHERE id = $1{}",
                self.database.lock_clause()
            )))
            .bind(&line.proposal_id)
            .fetch_one(&mut *transaction)
            .await?;
            let mut proposal = convert::proposal_from_proto(&from_json(&row.try_get::<String, _>(0)?)?);
            proposal.status = Some(status);
            sqlx::query("UPDATE proposals SET status = $2, body = $3, updated_at = $4 WHERE id = $1")
                .bind(&line.proposal_id)
                .bind(status.as_stored())
                .bind(to_json(&convert::proposal_to_proto(&proposal))?)
                .bind(now_micros())
                .execute(&mut *transaction)
                .await?;
            events.push((
                line.proposal_id.clone(),
                convert::allocation_decided(allocation, line, &proposal),
            ));
        }
        self.finish(transaction, events).await
    }

    /// The call's approved allocation.
    pub async fn get_allocation(&self, call_id: &str) -> AllocationResult<Allocation> {
        let row = sqlx::query("SELECT body FROM allocations WHERE call_id = $1")
            .bind(call_id)
            .fetch_optional(self.database.readers())
            .await?
            .ok_or_else(|| AllocationError::not_found("allocation of call", call_id))?;
        let allocation: proto::Allocation = from_json(&row.try_get::<String, _>(0)?)?;
        Ok(convert::allocation_from_proto(&allocation))
    }

    /// Units granted to a proposal at an installation (0 when none).
    pub async fn granted_units(&self, proposal_id: &str, installation_id: &str) -> AllocationResult<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM grants WHERE proposal_id = $1 AND installation_id = $2",
        )
        .bind(proposal_id)
        .bind(installation_id)
        .fetch_one(self.database.readers())
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The unit ledger of a call: granted (from the grants), delivered and lost (from slots),
    /// split by TA-6 class.
    pub async fn ledger_units(&self, call_id: &str) -> AllocationResult<LedgerUnits> {
        let granted = sqlx::query(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN non_eu = 1 THEN units ELSE 0 END), 0) AS BIGINT) \
             FROM grants WHERE call_id = $1",
        )
        .bind(call_id)
        .fetch_one(self.database.readers())
        .await?;
        let delivered = sqlx::query(
            "SELECT CAST(COALESCE(SUM(s.delivered_units), 0) AS BIGINT), CAST(COALESCE(SUM(s.lost_units), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN g.non_eu = 1 THEN s.delivered_units ELSE 0 END), 0) AS BIGINT) \
             FROM slots s JOIN grants g ON g.proposal_id = s.access_request_id AND g.installation_id = s.installation_id \
             WHERE g.call_id = $1 AND s.status = $2",
        )
        .bind(call_id)
        .bind(SlotStatus::Delivered.as_stored())
        .fetch_one(self.database.readers())
        .await?;
        Ok(LedgerUnits {
            granted: granted.try_get(0)?,
            non_eu_granted: granted.try_get(1)?,
            delivered: delivered.try_get(0)?,
            lost: delivered.try_get(1)?,
            non_eu_delivered: delivered.try_get(2)?,
        })
    }
}
