//! Changes to an access request under its row lock: transitions checked against the lane's
//! status machine, each stored with its event; the industrial lane's decision clock (IND-7d)
//! started at submission, its milestones met and its breaches kept; and the clocks themselves.

use rti_platform::db::WriteTx;
use sqlx::Row;

use super::requests::{SELECT, complete_with, insert_transition, status_changed};
use super::{IntakeStore, now, proto as edge};
use crate::domain::clock::{self, Clock, ClockBreach, Deadlines, DecisionClock, Milestone};
use crate::domain::request::{AccessRequest, Lane, RequestStatus as Status, StatusTransition, Transition};
use crate::domain::{IntakeError, IntakeResult, lifecycle};

impl IntakeStore {
    /// Changes a request under a row lock: `change` sees the stored request, may set its
    /// screening, agreement acceptance and quote, and returns the transitions to take, each
    /// checked against the lane's status machine and stored with its actor and reason, with an
    /// event. With no transition returned, nothing is written.
    pub async fn change_access_request<F>(&self, id: &str, change: F) -> IntakeResult<AccessRequest>
    where
        F: FnOnce(&mut AccessRequest) -> IntakeResult<Vec<Transition>> + Send,
    {
        let (mut transaction, mut request) = self.begin_change(id).await?;
        let transitions = change(&mut request)?;
        self.finish_change(&mut transaction, &mut request, transitions).await?;
        self.outbox.commit(transaction).await?;
        Ok(request)
    }

    /// Opens a write transaction holding the request's row lock, and reads the request.
    pub(super) async fn begin_change(&self, id: &str) -> IntakeResult<(WriteTx, AccessRequest)> {
        let mut transaction = self.database.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE r.id = $1{}",
            self.lock_clause().replace("UPDATE", "UPDATE OF r")
        )))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| IntakeError::not_found("access request", id))?;
        let request = complete_with(&row, &mut transaction).await?;
        Ok((transaction, request))
    }

    /// Takes `transitions` (checked against the lane's machine, each stored with an event) and
    /// writes the request's mutable fields. With no transition, nothing is written.
    pub(super) async fn finish_change(
        &self,
        transaction: &mut WriteTx,
        request: &mut AccessRequest,
        transitions: Vec<Transition>,
    ) -> IntakeResult<()> {
        if transitions.is_empty() {
            return Ok(());
        }
        let at = now();
        for transition in transitions {
            let from = request.status;
            if !lifecycle::allowed(request.lane, from, transition.to) {
                return Err(IntakeError::FailedPrecondition(lifecycle::refusal(from, transition.to)));
            }
            request.status = transition.to;
            let step = StatusTransition {
                from: Some(from),
                to: transition.to,
                actor: transition.actor,
                reason: transition.reason,
                time: at,
            };
            insert_transition(transaction, &request.id, request.history.len(), &step).await?;
            let event = status_changed(transaction, request, &step).await?;
            self.outbox.append(transaction, &request.id, event).await?;
            request.history.push(step);
            if request.lane == Lane::Industrial {
                self.run_clock(transaction, request, transition.to, at).await?;
            }
        }
        self.write_request(transaction, request, at).await
    }

    /// Starts the decision clock at submission, marks the milestones a transition meets, and
    /// keeps every milestone met late, or left unmet past its deadline when the request ends.
    async fn run_clock(
        &self,
        transaction: &mut WriteTx,
        request: &mut AccessRequest,
        to: Status,
        at: i64,
    ) -> IntakeResult<()> {
        if to == Status::Submitted {
            let clock = clock_for(transaction, request).await?;
            request.deadlines = Some(Deadlines::starting(&clock, at));
            return Ok(());
        }
        for milestone in clock::met_by(to) {
            self.meet(transaction, request, *milestone, at, "").await?;
        }
        if lifecycle::is_final(to) {
            for (milestone, due) in clock::overdue(request.deadlines.as_ref(), at) {
                self.breach(transaction, request, milestone, due, None).await?;
            }
        }
        Ok(())
    }

    /// Records `milestone` as met at `at` (once), and a breach when that is past its deadline.
    async fn meet(
        &self,
        transaction: &mut WriteTx,
        request: &mut AccessRequest,
        milestone: Milestone,
        at: i64,
        actor: &str,
    ) -> IntakeResult<()> {
        let Some(deadlines) = request.deadlines.as_mut() else {
            return Ok(());
        };
        if let Some(due) = deadlines.meet(milestone, at, actor) {
            self.breach(transaction, request, milestone, due, Some(at)).await?;
        }
        Ok(())
    }

    async fn breach(
        &self,
        transaction: &mut WriteTx,
        request: &mut AccessRequest,
        milestone: Milestone,
        due: i64,
        met: Option<i64>,
    ) -> IntakeResult<()> {
        sqlx::query(
            "INSERT INTO clock_breaches (access_request_id, milestone, due_at, met_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (access_request_id, milestone) DO NOTHING",
        )
        .bind(&request.id)
        .bind(milestone.as_stored())
        .bind(due)
        .bind(met.unwrap_or(0))
        .execute(&mut **transaction)
        .await?;
        let breach = ClockBreach {
            milestone,
            due_time: due,
            met_time: met,
        };
        let event = edge::clock_breached(request, &breach);
        self.outbox.append(transaction, &request.id, event).await?;
        request.breaches.push(breach);
        Ok(())
    }

    /// Writes the request's mutable fields.
    pub(super) async fn write_request(
        &self,
        transaction: &mut WriteTx,
        request: &mut AccessRequest,
        at: i64,
    ) -> IntakeResult<()> {
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
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

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

    /// An operator acknowledges a submitted industrial-lane request, once (IND-7d).
    pub async fn acknowledge(&self, id: &str, actor: &str) -> IntakeResult<AccessRequest> {
        let (mut transaction, mut request) = self.begin_change(id).await?;
        if !clock::acknowledgeable(&request)? {
            return Ok(request);
        }
        let at = now();
        self.meet(&mut transaction, &mut request, Milestone::Acknowledge, at, actor)
            .await?;
        self.write_request(&mut transaction, &mut request, at).await?;
        self.outbox.commit(transaction).await?;
        Ok(request)
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
