//! The allocation's tables (migrations `0200_allocation.sql`), on SQLite and PostgreSQL through
//! sqlx `Any`. Every change writes its event to the outbox in the same transaction.

mod slots;

use rti_platform::db::{Database, WriteTx};
use rti_platform::events::Outbox;
use rti_platform::pagination::PageRequest;
use rti_platform::store::{IdempotencyKey, NewRecord, create_once};
use rti_platform::time::{micros_from_timestamp, now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

pub use self::slots::OfferStart;
use crate::convert::leader_work_country;
use crate::domain::ledger::LedgerUnits;
use crate::domain::{CallStatus, LineDecision, ProposalStatus, SlotStatus};
use crate::error::{AllocationError, AllocationResult};

#[derive(Debug, Clone)]
pub struct AllocationStore {
    database: Database,
    outbox: Outbox,
}

/// A call's stored identity fields beside its JSON body.
const CALL_COLUMNS: &str = "id, status, body";

pub(crate) fn to_json(message: &impl Serialize) -> AllocationResult<String> {
    Ok(serde_json::to_string(message)?)
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> AllocationResult<T> {
    Ok(serde_json::from_str(text)?)
}

/// An event to append with a change.
pub type Change = (String, Payload);

impl AllocationStore {
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    fn lock_clause(&self) -> &'static str {
        self.database.lock_clause()
    }

    /// Appends `events` and commits.
    async fn finish(&self, mut transaction: WriteTx, events: Vec<Change>) -> AllocationResult<()> {
        for (aggregate, payload) in events {
            self.outbox.append(&mut transaction, &aggregate, payload).await?;
        }
        self.outbox.commit(transaction).await?;
        Ok(())
    }

    // ----- calls -----

    /// Stores a new call with rulebook version 1, once per idempotency key: a retry of the same
    /// request returns the first call; the key with another request is refused.
    pub async fn create_call(&self, key: &IdempotencyKey, call: proto::Call) -> AllocationResult<proto::Call> {
        let created = create_once(&self.database, &self.outbox, Some(key), || NewCall(call.clone())).await?;
        self.get_call(created.id()).await
    }

    pub async fn get_call(&self, id: &str) -> AllocationResult<proto::Call> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| AllocationError::not_found("call", id))?;
        self.call_from_row(&row).await
    }

    async fn call_from_row(&self, row: &AnyRow) -> AllocationResult<proto::Call> {
        let id: String = row.try_get(0)?;
        let mut call: proto::Call = from_json(&row.try_get::<String, _>(2)?)?;
        call.status = proto::CallStatus::from_str_name(&row.try_get::<String, _>(1)?)
            .unwrap_or_default()
            .into();
        let mut versions = sqlx::query("SELECT body FROM rulebooks WHERE call_id = $1 ORDER BY version")
            .bind(&id)
            .fetch_all(self.database.readers())
            .await?
            .iter()
            .map(|row| from_json::<proto::Rulebook>(&row.try_get::<String, _>(0)?))
            .collect::<AllocationResult<Vec<_>>>()?;
        call.rulebook = versions.pop();
        call.rulebook_history = versions;
        Ok(call)
    }

    pub async fn list_calls(&self, page: &PageRequest) -> AllocationResult<(Vec<proto::Call>, String)> {
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
    pub async fn amend_rulebook(&self, call_id: &str, mut rulebook: proto::Rulebook) -> AllocationResult<proto::Call> {
        let mut transaction = self.database.begin_write().await?;
        let latest: Option<i64> = sqlx::query("SELECT CAST(MAX(version) AS BIGINT) FROM rulebooks WHERE call_id = $1")
            .bind(call_id)
            .fetch_one(&mut *transaction)
            .await?
            .try_get(0)?;
        let latest = latest.ok_or_else(|| AllocationError::not_found("call", call_id))?;
        rulebook.version = i32::try_from(latest + 1).unwrap_or(i32::MAX);
        rulebook.effective_time = Some(timestamp_from_micros(now_micros()));
        insert_rulebook(&mut transaction, call_id, &rulebook).await?;
        let event = Payload::RulebookAmended(proto::RulebookAmended {
            call_id: call_id.to_owned(),
            rulebook: Some(rulebook),
        });
        self.finish(transaction, vec![(call_id.to_owned(), event)]).await?;
        self.get_call(call_id).await
    }

    pub async fn set_panel(&self, call_id: &str, members: &[proto::PanelMember]) -> AllocationResult<()> {
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

    pub async fn panel(&self, call_id: &str) -> AllocationResult<Vec<proto::PanelMember>> {
        let rows = sqlx::query(
            "SELECT reviewer, independent, affiliation FROM panel_members WHERE call_id = $1 ORDER BY reviewer",
        )
        .bind(call_id)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(proto::PanelMember {
                    reviewer: row.try_get(0)?,
                    independent: row.try_get::<i32, _>(1)? != 0,
                    affiliation: row.try_get(2)?,
                })
            })
            .collect()
    }

    // ----- proposals -----

    /// Stores a proposal as evaluated (insert or replace), its users, its event, and, for a
    /// change caused by another service's event, the feed's cursor: all in one transaction.
    pub async fn save_proposal(
        &self,
        proposal: &proto::Proposal,
        cursor: Option<(&str, i64)>,
        events: Vec<Change>,
    ) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        let mut body = proposal.clone();
        body.reviews.clear();
        body.feasibility.clear();
        let now = now_micros();
        let updated = sqlx::query(
            "UPDATE proposals SET call_id = $2, lane = $3, status = $4, organisation_id = $5, body = $6, \
             updated_at = $7 WHERE id = $1",
        )
        .bind(&proposal.id)
        .bind(&proposal.call_id)
        .bind(proposal.lane().as_str_name())
        .bind(proposal.status().as_str_name())
        .bind(&proposal.organisation_id)
        .bind(to_json(&body)?)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO proposals (id, call_id, lane, status, organisation_id, body, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(&proposal.id)
            .bind(&proposal.call_id)
            .bind(proposal.lane().as_str_name())
            .bind(proposal.status().as_str_name())
            .bind(&proposal.organisation_id)
            .bind(to_json(&body)?)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
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

    async fn write_cursor(transaction: &mut WriteTx, source: &str, sequence: i64) -> AllocationResult<()> {
        let updated = sqlx::query("UPDATE feed_cursors SET sequence = $2 WHERE source = $1")
            .bind(source)
            .bind(sequence)
            .execute(&mut **transaction)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO feed_cursors (source, sequence) VALUES ($1, $2)")
                .bind(source)
                .bind(sequence)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// Moves the cursor past an event that changes nothing here.
    pub async fn advance_cursor(&self, source: &str, sequence: i64) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        Self::write_cursor(&mut transaction, source, sequence).await?;
        transaction.commit().await?;
        Ok(())
    }

    pub async fn cursor(&self, source: &str) -> AllocationResult<i64> {
        let row = sqlx::query("SELECT sequence FROM feed_cursors WHERE source = $1")
            .bind(source)
            .fetch_optional(self.database.readers())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    /// The proposal with its feasibility and every review (callers filter what a caller sees).
    pub async fn find_proposal(&self, id: &str) -> AllocationResult<Option<proto::Proposal>> {
        let row = sqlx::query("SELECT body FROM proposals WHERE id = $1")
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut proposal: proto::Proposal = from_json(&row.try_get::<String, _>(0)?)?;
        self.attach_assessments(&mut proposal).await?;
        Ok(Some(proposal))
    }

    pub async fn get_proposal(&self, id: &str) -> AllocationResult<proto::Proposal> {
        self.find_proposal(id)
            .await?
            .ok_or_else(|| AllocationError::not_found("proposal", id))
    }

    async fn attach_assessments(&self, proposal: &mut proto::Proposal) -> AllocationResult<()> {
        proposal.reviews = sqlx::query("SELECT body FROM reviews WHERE proposal_id = $1 ORDER BY reviewer")
            .bind(&proposal.id)
            .fetch_all(self.database.readers())
            .await?
            .iter()
            .map(|row| from_json(&row.try_get::<String, _>(0)?))
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
                Ok(proto::Feasibility {
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
    pub async fn call_proposals(&self, call_id: &str) -> AllocationResult<Vec<proto::Proposal>> {
        let rows = sqlx::query("SELECT body FROM proposals WHERE call_id = $1 ORDER BY id")
            .bind(call_id)
            .fetch_all(self.database.readers())
            .await?;
        let mut proposals = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut proposal: proto::Proposal = from_json(&row.try_get::<String, _>(0)?)?;
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

    pub async fn put_review(&self, review: &proto::Review) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query("DELETE FROM reviews WHERE proposal_id = $1 AND reviewer = $2")
            .bind(&review.proposal_id)
            .bind(&review.reviewer)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO reviews (proposal_id, reviewer, body, submitted_at) VALUES ($1, $2, $3, $4)")
            .bind(&review.proposal_id)
            .bind(&review.reviewer)
            .bind(to_json(review)?)
            .bind(now_micros())
            .execute(&mut *transaction)
            .await?;
        self.finish(transaction, Vec::new()).await
    }

    pub async fn put_feasibility(&self, proposal_id: &str, feasibility: &proto::Feasibility) -> AllocationResult<()> {
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
            stored_names(&SlotStatus::BOOKED)
        )))
        .bind(installation_id)
        .bind(proposal_id)
        .fetch_all(self.database.readers())
        .await?;
        let used: Vec<String> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
        Ok(person_ids.iter().filter(|id| used.contains(id)).cloned().collect())
    }

    // ----- allocations -----

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
    pub async fn store_allocation(
        &self,
        call: &proto::Call,
        allocation: &proto::Allocation,
        non_eu: &[(String, bool)],
    ) -> AllocationResult<()> {
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
            .bind(to_json(allocation)?)
            .bind(now_micros())
            .execute(&mut *transaction)
            .await?;
        let mut events = Vec::new();
        for line in &allocation.lines {
            let non_eu_line = non_eu.iter().any(|(id, flag)| *id == line.proposal_id && *flag);
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
                .bind(i32::from(non_eu_line))
                .execute(&mut *transaction)
                .await?;
            }
            let decision = LineDecision::from_stored(line.decision().as_str_name()).unwrap_or(LineDecision::Granted);
            let status = ProposalStatus::after(decision);
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT body FROM proposals WHERE id = $1{}",
                self.lock_clause()
            )))
            .bind(&line.proposal_id)
            .fetch_one(&mut *transaction)
            .await?;
            let mut proposal: proto::Proposal = from_json(&row.try_get::<String, _>(0)?)?;
            proposal.set_status(crate::convert::proposal_status_to_proto(status));
            sqlx::query("UPDATE proposals SET status = $2, body = $3, updated_at = $4 WHERE id = $1")
                .bind(&line.proposal_id)
                .bind(status.as_stored())
                .bind(to_json(&proposal)?)
                .bind(now_micros())
                .execute(&mut *transaction)
                .await?;
            events.push((
                line.proposal_id.clone(),
                Payload::AllocationDecided(proto::AllocationDecided {
                    call_id: call.id.clone(),
                    allocation_id: allocation.id.clone(),
                    proposal_id: line.proposal_id.clone(),
                    decision: line.decision,
                    granted: line.granted.clone(),
                    requested: line.requested.clone(),
                    non_eu_majority: line.non_eu_majority,
                    organisation_id: proposal.organisation_id.clone(),
                    leader_work_country: leader_work_country(&proposal),
                    explanation: line.explanation.clone(),
                    decide_time: allocation.create_time,
                }),
            ));
        }
        self.finish(transaction, events).await
    }

    pub async fn get_allocation(&self, call_id: &str) -> AllocationResult<proto::Allocation> {
        let row = sqlx::query("SELECT body FROM allocations WHERE call_id = $1")
            .bind(call_id)
            .fetch_optional(self.database.readers())
            .await?
            .ok_or_else(|| AllocationError::not_found("allocation of call", call_id))?;
        from_json(&row.try_get::<String, _>(0)?)
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

/// States as an SQL list of their storage names (constants of the domain, never caller input).
fn stored_names(statuses: &[SlotStatus]) -> String {
    statuses
        .iter()
        .map(|status| format!("'{}'", status.as_stored()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A call as the platform's [`create_once`] writes it, with its first rulebook and its event.
struct NewCall(proto::Call);

impl NewRecord for NewCall {
    type Error = AllocationError;

    fn id(&self) -> &str {
        &self.0.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, _lock: &'static str) -> AllocationResult<Option<Payload>> {
        let call = &self.0;
        let mut body = call.clone();
        let rulebook = body.rulebook.take().unwrap_or_default();
        body.rulebook_history.clear();
        let created = call.create_time.as_ref().map_or_else(now_micros, micros_from_timestamp);
        sqlx::query("INSERT INTO calls (id, grant_agreement, status, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&call.id)
            .bind(&call.grant_agreement)
            .bind(CallStatus::Open.as_stored())
            .bind(to_json(&body)?)
            .bind(created)
            .execute(&mut **transaction)
            .await?;
        insert_rulebook(transaction, &call.id, &rulebook).await?;
        Ok(Some(Payload::CallCreated(proto::CallCreated {
            call_id: call.id.clone(),
            programme: call.programme.clone(),
            installations: call.installations.clone(),
            close_time: call.close_time,
            grant_planned_units: call.grant_planned_units,
            grant_agreement: call.grant_agreement.clone(),
            open_time: call.open_time,
        })))
    }
}

async fn insert_rulebook(transaction: &mut WriteTx, call_id: &str, rulebook: &proto::Rulebook) -> AllocationResult<()> {
    let effective = rulebook
        .effective_time
        .as_ref()
        .map_or_else(now_micros, micros_from_timestamp);
    sqlx::query("INSERT INTO rulebooks (call_id, version, body, effective_at) VALUES ($1, $2, $3, $4)")
        .bind(call_id)
        .bind(rulebook.version)
        .bind(to_json(rulebook)?)
        .bind(effective)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}
