//! Proposals with their users (TA-7's "used before"), conflicts of interest, reviews and
//! feasibility.

use rti_platform::time::now_micros;
use rti_proto::allocation as proto;
use sqlx::Row;

use super::{AllocationStore, Change, Cursor, from_json, sql_list, to_json};
use crate::convert;
use crate::domain::proposals::{Feasibility, Proposal};
use crate::domain::review::Review;
use crate::domain::{Lane, ProposalStatus, SlotStatus};
use crate::error::{AllocationError, AllocationResult};

impl AllocationStore {
    /// Stores a proposal as evaluated (insert or replace), its users, its event, and, for a
    /// change caused by another service's event, the feed's cursor: all in one transaction.
    pub async fn save_proposal(
        &self,
        proposal: &Proposal,
        cursor: Cursor<'_>,
        events: Vec<Change>,
    ) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        // Reviews and feasibility have rows of their own.
        let mut body = convert::proposal_to_proto(proposal);
        body.reviews.clear();
        body.feasibility.clear();
        let now = now_micros();
        // One statement for a new proposal and a changed one; a changed one keeps its created_at.
        sqlx::query(
            "INSERT INTO proposals (id, call_id, lane, status, organisation_id, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, \
             lane = excluded.lane, status = excluded.status, organisation_id = excluded.organisation_id, \
             body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(&proposal.id)
        .bind(&proposal.call_id)
        .bind(Lane::stored_name(proposal.lane))
        .bind(ProposalStatus::stored_name(proposal.status))
        .bind(&proposal.organisation_id)
        .bind(to_json(&body)?)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM proposal_users WHERE proposal_id = $1")
            .bind(&proposal.id)
            .execute(&mut *transaction)
            .await?;
        for member in &proposal.members {
            sqlx::query("INSERT INTO proposal_users (proposal_id, person_id) VALUES ($1, $2)")
                .bind(&proposal.id)
                .bind(&member.person_id)
                .execute(&mut *transaction)
                .await?;
        }
        if let Some((source, sequence)) = cursor {
            Self::write_cursor(&mut transaction, source, sequence).await?;
        }
        self.finish(transaction, events).await
    }

    /// The proposal with its feasibility and every review (callers filter what a caller sees).
    pub async fn find_proposal(&self, id: &str) -> AllocationResult<Option<Proposal>> {
        let row = sqlx::query("SELECT body FROM proposals WHERE id = $1")
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut proposal = convert::proposal_from_proto(&from_json(&row.try_get::<String, _>(0)?)?);
        self.attach_assessments(&mut proposal).await?;
        Ok(Some(proposal))
    }

    /// The proposal with its assessments, or `NotFound`.
    pub async fn get_proposal(&self, id: &str) -> AllocationResult<Proposal> {
        self.find_proposal(id)
            .await?
            .ok_or_else(|| AllocationError::not_found("proposal", id))
    }

    async fn attach_assessments(&self, proposal: &mut Proposal) -> AllocationResult<()> {
        proposal.reviews = sqlx::query("SELECT body FROM reviews WHERE proposal_id = $1 ORDER BY reviewer")
            .bind(&proposal.id)
            .fetch_all(self.database.readers())
            .await?
            .iter()
            .map(|row| {
                let review: proto::Review = from_json(&row.try_get::<String, _>(0)?)?;
                Ok(convert::review_from_proto(&review))
            })
            .collect::<AllocationResult<_>>()?;
        let rows = sqlx::query(
            "SELECT installation_id, feasible, note, operator FROM feasibility WHERE proposal_id = $1 \
             ORDER BY installation_id",
        )
        .bind(&proposal.id)
        .fetch_all(self.database.readers())
        .await?;
        proposal.feasibility = rows
            .iter()
            .map(|row| {
                Ok(Feasibility {
                    installation_id: row.try_get(0)?,
                    feasible: row.try_get::<i32, _>(1)? != 0,
                    note: row.try_get(2)?,
                    operator: row.try_get(3)?,
                })
            })
            .collect::<AllocationResult<_>>()?;
        Ok(())
    }

    /// Every proposal of a call, oldest id first, with assessments.
    pub async fn call_proposals(&self, call_id: &str) -> AllocationResult<Vec<Proposal>> {
        let rows = sqlx::query("SELECT body FROM proposals WHERE call_id = $1 ORDER BY id")
            .bind(call_id)
            .fetch_all(self.database.readers())
            .await?;
        let mut proposals = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut proposal = convert::proposal_from_proto(&from_json(&row.try_get::<String, _>(0)?)?);
            self.attach_assessments(&mut proposal).await?;
            proposals.push(proposal);
        }
        Ok(proposals)
    }

    /// Reviewers who declared a conflict on the proposal.
    pub async fn conflicted(&self, proposal_id: &str) -> AllocationResult<Vec<String>> {
        sqlx::query("SELECT reviewer FROM conflicts WHERE proposal_id = $1")
            .bind(proposal_id)
            .fetch_all(self.database.readers())
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    /// Records a conflict of interest and drops the reviewer's review, if any.
    pub async fn declare_conflict(&self, proposal_id: &str, reviewer: &str, reason: &str) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM conflicts WHERE proposal_id = $1 AND reviewer = $2")
            .bind(proposal_id)
            .bind(reviewer)
            .fetch_optional(&mut *transaction)
            .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO conflicts (proposal_id, reviewer, reason, declared_at) VALUES ($1, $2, $3, $4)")
                .bind(proposal_id)
                .bind(reviewer)
                .bind(reason)
                .bind(now_micros())
                .execute(&mut *transaction)
                .await?;
        }
        sqlx::query("DELETE FROM reviews WHERE proposal_id = $1 AND reviewer = $2")
            .bind(proposal_id)
            .bind(reviewer)
            .execute(&mut *transaction)
            .await?;
        self.finish(transaction, Vec::new()).await
    }

    /// Stores a reviewer's review, replacing an earlier one.
    pub async fn put_review(&self, review: &Review) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query("DELETE FROM reviews WHERE proposal_id = $1 AND reviewer = $2")
            .bind(&review.proposal_id)
            .bind(&review.reviewer)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO reviews (proposal_id, reviewer, body, submitted_at) VALUES ($1, $2, $3, $4)")
            .bind(&review.proposal_id)
            .bind(&review.reviewer)
            .bind(to_json(&convert::review_to_proto(review))?)
            .bind(now_micros())
            .execute(&mut *transaction)
            .await?;
        self.finish(transaction, Vec::new()).await
    }

    /// Stores an operator's verdict on one installation, replacing an earlier one.
    pub async fn put_feasibility(&self, proposal_id: &str, feasibility: &Feasibility) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query("DELETE FROM feasibility WHERE proposal_id = $1 AND installation_id = $2")
            .bind(proposal_id)
            .bind(&feasibility.installation_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO feasibility (proposal_id, installation_id, feasible, note, operator, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(proposal_id)
        .bind(&feasibility.installation_id)
        .bind(i32::from(feasibility.feasible))
        .bind(&feasibility.note)
        .bind(&feasibility.operator)
        .bind(now_micros())
        .execute(&mut *transaction)
        .await?;
        self.finish(transaction, Vec::new()).await
    }

    /// TA-7: the persons among `person_ids` who had a confirmed or delivered slot at the
    /// installation under another request.
    pub async fn used_before(
        &self,
        proposal_id: &str,
        installation_id: &str,
        person_ids: &[String],
    ) -> AllocationResult<Vec<String>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT u.person_id FROM proposal_users u JOIN slots s ON s.access_request_id = u.proposal_id \
             WHERE s.installation_id = $1 AND s.status IN ({}) AND u.proposal_id <> $2",
            sql_list(&SlotStatus::BOOKED)
        )))
        .bind(installation_id)
        .bind(proposal_id)
        .fetch_all(self.database.readers())
        .await?;
        let used: Vec<String> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
        Ok(person_ids.iter().filter(|id| used.contains(id)).cloned().collect())
    }
}
