//! Changes to an access request: the request read under its row lock in a write transaction
//! that the operation ends ([`RequestChange`]); transitions checked against the lane's status
//! machine and each stored with its event; the industrial lane's decision clock (IND-7d)
//! started at submission, kept as the request moves, and its breaches stored and announced;
//! and the clocks themselves.

use rti_platform::db::WriteTx;
use sqlx::Row;

use super::requests::{SELECT, complete_with, insert_transition, status_changed};
use super::{IntakeStore, aid, now, proto as edge};
use crate::domain::clock::{self, Clock, ClockBreach, Deadlines, DecisionClock};
use crate::domain::request::{AccessRequest, Lane, RequestStatus as Status, StatusTransition, Transition};
use crate::domain::{IntakeError, IntakeResult, lifecycle};

/// A request read under its row lock, in a write transaction. The operation looks at it,
/// applies the domain's rules and ends the change with [`RequestChange::commit`]; dropped, the
/// change rolls back.
pub struct RequestChange<'a> {
    store: &'a IntakeStore,
    transaction: WriteTx,
    request: AccessRequest,
}

impl std::fmt::Debug for RequestChange<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RequestChange")
            .field("request", &self.request.id)
            .finish_non_exhaustive()
    }
}

impl IntakeStore {
    /// Opens a write transaction holding the request's row lock, and reads the request.
    pub async fn begin_change(&self, id: &str) -> IntakeResult<RequestChange<'_>> {
        let mut transaction = self.database.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE r.id = $1{}",
            self.database.lock_clause().replace("UPDATE", "UPDATE OF r")
        )))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| IntakeError::not_found("access request", id))?;
        let request = complete_with(&row, &mut transaction).await?;
        Ok(RequestChange {
            store: self,
            transaction,
            request,
        })
    }
}

impl RequestChange<'_> {
    pub fn request(&self) -> &AccessRequest {
        &self.request
    }

    /// Where the operation sets the screening, the agreement acceptance or the quote.
    pub fn request_mut(&mut self) -> &mut AccessRequest {
        &mut self.request
    }

    /// The request as read, the change given up.
    pub fn into_request(self) -> AccessRequest {
        self.request
    }

    /// SA-6: records `aid` (EUR cents) granted at `at` in the requester's ledger, checked
    /// against the ceiling again with the organisation's row locked, so that two acceptances
    /// cannot both fit into the same headroom.
    pub async fn grant_aid(&mut self, aid: i64, at: i64) -> IntakeResult<()> {
        let lock = self.store.database.lock_clause();
        aid::record_aid(&mut self.transaction, &self.request, aid, at, lock).await
    }

    /// Takes `transitions` (each checked against the lane's machine and stored with an event),
    /// writes the request's mutable fields and commits. With no transition, nothing is written.
    pub async fn commit(mut self, transitions: Vec<Transition>) -> IntakeResult<AccessRequest> {
        if !transitions.is_empty() {
            let at = now();
            for transition in transitions {
                self.take(transition, at).await?;
            }
            self.write(at).await?;
        }
        self.store.outbox.commit(self.transaction).await?;
        Ok(self.request)
    }

    /// Stores `breach` with the request's mutable fields, and commits: a change without a
    /// transition (an acknowledgement).
    pub async fn commit_fields(mut self, breach: Option<ClockBreach>, at: i64) -> IntakeResult<AccessRequest> {
        if let Some(breach) = breach {
            self.breach(breach).await?;
        }
        self.write(at).await?;
        self.store.outbox.commit(self.transaction).await?;
        Ok(self.request)
    }

    async fn take(&mut self, transition: Transition, at: i64) -> IntakeResult<()> {
        let from = self.request.status;
        if !lifecycle::allowed(self.request.lane, from, transition.to) {
            return Err(IntakeError::FailedPrecondition(lifecycle::refusal(from, transition.to)));
        }
        self.request.status = transition.to;
        let step = StatusTransition {
            from: Some(from),
            to: transition.to,
            actor: transition.actor,
            reason: transition.reason,
            time: at,
        };
        let position = self.request.history.len();
        insert_transition(&mut self.transaction, &self.request.id, position, &step).await?;
        let event = status_changed(&mut self.transaction, &self.request, &step).await?;
        self.store
            .outbox
            .append(&mut self.transaction, &self.request.id, event)
            .await?;
        self.request.history.push(step);
        if self.request.lane == Lane::Industrial {
            if transition.to == Status::Submitted {
                let clock = clock_for(&mut self.transaction, &self.request).await?;
                self.request.deadlines = Some(Deadlines::starting(&clock, at));
            } else {
                for breach in clock::advance(self.request.deadlines.as_mut(), transition.to, at) {
                    self.breach(breach).await?;
                }
            }
        }
        Ok(())
    }

    async fn breach(&mut self, breach: ClockBreach) -> IntakeResult<()> {
        sqlx::query(
            "INSERT INTO clock_breaches (access_request_id, milestone, due_at, met_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (access_request_id, milestone) DO NOTHING",
        )
        .bind(&self.request.id)
        .bind(breach.milestone.as_stored())
        .bind(breach.due_time)
        .bind(breach.met_time.unwrap_or(0))
        .execute(&mut *self.transaction)
        .await?;
        let event = edge::clock_breached(&self.request, &breach);
        self.store
            .outbox
            .append(&mut self.transaction, &self.request.id, event)
            .await?;
        self.request.breaches.push(breach);
        Ok(())
    }

    /// Writes the request's mutable fields.
    async fn write(&mut self, at: i64) -> IntakeResult<()> {
        let request = &mut self.request;
        request.update_time = at;
        let acceptance = request.agreement_acceptance.as_ref();
        let deadlines = request.deadlines.clone().unwrap_or_default();
        sqlx::query(
            "UPDATE access_requests SET status = $2, agreement_template_id = $3, agreement_accepted_by = $4, \
             agreement_accepted_at = $5, screening = $6, quote = $7, updated_at = $8, acknowledge_by = $9, \
             feasibility_by = $10, decide_by = $11, acknowledged_at = $12, feasibility_at = $13, decided_at = $14, \
             acknowledged_by = $15 WHERE id = $1",
        )
        .bind(&request.id)
        .bind(request.status.as_stored())
        .bind(acceptance.map(|acceptance| acceptance.template_id.clone()))
        .bind(
            acceptance
                .map(|acceptance| acceptance.accepted_by.clone())
                .unwrap_or_default(),
        )
        .bind(acceptance.map_or(0, |acceptance| acceptance.accept_time))
        .bind(edge::screening_json(request.screening.as_ref()))
        .bind(edge::quote_json(request.quote.as_ref()))
        .bind(at)
        .bind(deadlines.acknowledge_by)
        .bind(deadlines.feasibility_by)
        .bind(deadlines.decide_by)
        .bind(deadlines.acknowledge_time.unwrap_or(0))
        .bind(deadlines.feasibility_time.unwrap_or(0))
        .bind(deadlines.decide_time.unwrap_or(0))
        .bind(&deadlines.acknowledged_by)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }
}

impl IntakeStore {
    /// Stores an installation's clock (or the default, for `''`), replacing the earlier one.
    /// Requests already submitted keep the deadlines they were given.
    pub async fn set_decision_clock(&self, mut clock: DecisionClock) -> IntakeResult<DecisionClock> {
        let mut transaction = self.database.begin_write().await?;
        let at = now();
        sqlx::query(
            "INSERT INTO decision_clocks (installation_id, acknowledge_days, feasibility_days, decide_days, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (installation_id) DO UPDATE SET \
             acknowledge_days = $2, feasibility_days = $3, decide_days = $4, updated_by = $5, updated_at = $6",
        )
        .bind(&clock.installation_id)
        .bind(clock.clock.acknowledge_days)
        .bind(clock.clock.feasibility_days)
        .bind(clock.clock.decide_days)
        .bind(&clock.updated_by)
        .bind(at)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        clock.update_time = at;
        Ok(clock)
    }
}

/// The clock of a request: the strictest of its installations' clocks, each installation's own
/// or else the default.
async fn clock_for(transaction: &mut WriteTx, request: &AccessRequest) -> IntakeResult<Clock> {
    let rows =
        sqlx::query("SELECT installation_id, acknowledge_days, feasibility_days, decide_days FROM decision_clocks")
            .fetch_all(&mut **transaction)
            .await?;
    let mut default = clock::DEFAULT;
    let mut own = std::collections::HashMap::new();
    for row in &rows {
        let installation: String = row.try_get(0)?;
        let clock = Clock {
            acknowledge_days: row.try_get(1)?,
            feasibility_days: row.try_get(2)?,
            decide_days: row.try_get(3)?,
        };
        if installation.is_empty() {
            default = clock;
        } else {
            own.insert(installation, clock);
        }
    }
    Ok(request
        .installation_ids()
        .map(|id| own.get(id).copied().unwrap_or(default))
        .reduce(Clock::strictest)
        .unwrap_or(default))
}
