//! Calls with their versioned rulebooks (TA-15: a version is never edited) and their panels.

use rti_platform::db::WriteTx;
use rti_platform::pagination::PageRequest;
use rti_platform::store::{IdempotencyKey, NewRecord, create_once};
use rti_platform::time::now_micros;
use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AllocationStore, from_json, to_json};
use crate::convert;
use crate::domain::CallStatus;
use crate::domain::calls::{Call, PanelMember, RulebookVersion};
use crate::error::{AllocationError, AllocationResult};

/// A call's stored identity fields beside its JSON body.
const CALL_COLUMNS: &str = "id, status, body";

impl AllocationStore {
    /// Stores a new call with rulebook version 1, once per idempotency key: a retry of the same
    /// request returns the first call; the key with another request is refused.
    pub async fn create_call(&self, key: &IdempotencyKey, call: Call) -> AllocationResult<Call> {
        let created = create_once(&self.database, &self.outbox, Some(key), || NewCall(call.clone())).await?;
        self.get_call(created.id()).await
    }

    /// A call with every rulebook version, the latest in force.
    pub async fn get_call(&self, id: &str) -> AllocationResult<Call> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| AllocationError::not_found("call", id))?;
        self.call_from_row(&row).await
    }

    async fn call_from_row(&self, row: &AnyRow) -> AllocationResult<Call> {
        let id: String = row.try_get(0)?;
        let mut call = convert::call_from_proto(&from_json::<proto::Call>(&row.try_get::<String, _>(2)?)?);
        call.status = CallStatus::from_stored(&row.try_get::<String, _>(1)?);
        let mut versions = sqlx::query("SELECT body FROM rulebooks WHERE call_id = $1 ORDER BY version")
            .bind(&id)
            .fetch_all(self.database.readers())
            .await?
            .iter()
            .map(|row| {
                Ok(convert::rulebook_from_proto(&from_json::<proto::Rulebook>(
                    &row.try_get::<String, _>(0)?,
                )?))
            })
            .collect::<AllocationResult<Vec<_>>>()?;
        call.rulebook = versions.pop();
        call.rulebook_history = versions;
        Ok(call)
    }

    /// A page of calls, newest first, and the next page's token.
    pub async fn list_calls(&self, page: &PageRequest) -> AllocationResult<(Vec<Call>, String)> {
        // Newest first: ids are UUID v7, so descending ids are descending creation.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(page.after_id.clone().unwrap_or_default())
        .bind(page.fetch_limit())
        .fetch_all(self.database.readers())
        .await?;
        let mut calls = Vec::with_capacity(rows.len());
        for row in &rows {
            calls.push(self.call_from_row(row).await?);
        }
        let next = page.finish(&mut calls, |call| &call.id);
        Ok((calls, next))
    }

    /// TA-15: a new rulebook version; the earlier ones stay.
    pub async fn amend_rulebook(&self, call_id: &str, mut rulebook: RulebookVersion) -> AllocationResult<Call> {
        let mut transaction = self.database.begin_write().await?;
        let latest: Option<i64> = sqlx::query("SELECT CAST(MAX(version) AS BIGINT) FROM rulebooks WHERE call_id = $1")
            .bind(call_id)
            .fetch_one(&mut *transaction)
            .await?
            .try_get(0)?;
        let latest = latest.ok_or_else(|| AllocationError::not_found("call", call_id))?;
        rulebook.version = i32::try_from(latest + 1).unwrap_or(i32::MAX);
        rulebook.effective_at = Some(now_micros());
        insert_rulebook(&mut transaction, call_id, &rulebook).await?;
        let event = convert::rulebook_amended(call_id, &rulebook);
        self.finish(transaction, vec![(call_id.to_owned(), event)]).await?;
        self.get_call(call_id).await
    }

    /// Replaces the call's panel.
    pub async fn set_panel(&self, call_id: &str, members: &[PanelMember]) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query("DELETE FROM panel_members WHERE call_id = $1")
            .bind(call_id)
            .execute(&mut *transaction)
            .await?;
        for member in members {
            sqlx::query(
                "INSERT INTO panel_members (call_id, reviewer, independent, affiliation) VALUES ($1, $2, $3, $4)",
            )
            .bind(call_id)
            .bind(&member.reviewer)
            .bind(i32::from(member.independent))
            .bind(&member.affiliation)
            .execute(&mut *transaction)
            .await?;
        }
        self.finish(transaction, Vec::new()).await
    }

    /// The call's panel, by reviewer.
    pub async fn panel(&self, call_id: &str) -> AllocationResult<Vec<PanelMember>> {
        let rows = sqlx::query(
            "SELECT reviewer, independent, affiliation FROM panel_members WHERE call_id = $1 ORDER BY reviewer",
        )
        .bind(call_id)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PanelMember {
                    reviewer: row.try_get(0)?,
                    independent: row.try_get::<i32, _>(1)? != 0,
                    affiliation: row.try_get(2)?,
                })
            })
            .collect()
    }
}

/// A call as the platform's [`create_once`] writes it, with its first rulebook and its event.
struct NewCall(Call);

impl NewRecord for NewCall {
    type Error = AllocationError;

    fn id(&self) -> &str {
        &self.0.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, _lock: &'static str) -> AllocationResult<Option<Payload>> {
        let call = &self.0;
        // The body holds neither the rulebook nor the status: they have rows of their own.
        let mut body = convert::call_to_proto(call);
        body.rulebook = None;
        body.rulebook_history.clear();
        let rulebook = call.rulebook.clone().unwrap_or_default();
        let created = call.created_at.unwrap_or_else(now_micros);
        sqlx::query("INSERT INTO calls (id, grant_agreement, status, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&call.id)
            .bind(&call.grant_agreement)
            .bind(CallStatus::Open.as_stored())
            .bind(to_json(&body)?)
            .bind(created)
            .execute(&mut **transaction)
            .await?;
        insert_rulebook(transaction, &call.id, &rulebook).await?;
        Ok(Some(convert::call_created(call)))
    }
}

async fn insert_rulebook(transaction: &mut WriteTx, call_id: &str, rulebook: &RulebookVersion) -> AllocationResult<()> {
    let effective = rulebook.effective_at.unwrap_or_else(now_micros);
    sqlx::query("INSERT INTO rulebooks (call_id, version, body, effective_at) VALUES ($1, $2, $3, $4)")
        .bind(call_id)
        .bind(rulebook.version)
        .bind(to_json(&convert::rulebook_to_proto(rulebook))?)
        .bind(effective)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}
