//! Access requests: the row, the installations asked for (with the infrastructure each belongs
//! to, for operators' scope), and the status history, one row per transition.

use rti_platform::db::WriteTx;
use rti_platform::pagination::PageRequest;
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_proto::common::event::Payload;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status, Milestone};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IdempotencyKey, IntakeStore, NewRecord, from_json, now, require_row, stored_enum, to_json};
use crate::domain::{IntakeError, IntakeResult, clock, lifecycle};

/// Which requests a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestScope {
    All,
    /// An applicant: its organisation's requests.
    Organisation(String),
    /// An operator: requests that ask for an installation of one of these infrastructures.
    Infrastructures(Vec<String>),
}

/// Filters of `ListAccessRequests`.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub statuses: Vec<Status>,
    pub lane: Option<proto::Lane>,
    pub organisation_id: String,
    /// Only open industrial-lane requests with a milestone past its deadline at this time.
    pub overdue_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub request: proto::AccessRequest,
    /// The infrastructure of each requested installation, in the same order.
    pub infrastructure_ids: Vec<String>,
}

/// One step a change takes the request through, and who took it: a token subject, or
/// [`INTAKE`] for the service's own screening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub actor: String,
    pub to: Status,
    pub reason: String,
}

/// The actor of the steps intake takes itself.
pub const INTAKE: &str = "intake";

impl Transition {
    pub fn by(actor: &str, to: Status, reason: impl Into<String>) -> Self {
        Self {
            actor: actor.to_owned(),
            to,
            reason: reason.into(),
        }
    }
}

#[derive(Clone)]
struct NewRequest<'a> {
    stored: &'a StoredRequest,
    actor: &'a str,
}

const SELECT: &str = "SELECT r.id, r.status, r.lane, r.organisation_id, r.title, r.description, r.confidentiality, \
     r.embargo_until, r.ip_regime, r.agreement_kind, r.agreement_template_id, r.agreement_accepted_by, \
     r.agreement_accepted_at, r.contact_person_id, r.user_group_id, r.call_id, r.end_use_statement, \
     r.outputs_leave_eu, r.screening, r.created_at, r.updated_at, t.version, r.quote, r.acknowledge_by, \
     r.feasibility_by, r.decide_by, r.acknowledged_at, r.feasibility_at, r.decided_at, r.acknowledged_by \
     FROM access_requests r LEFT JOIN agreement_templates t ON t.id = r.agreement_template_id";

impl IntakeStore {
    /// Stores a new draft and its first transition (created → DRAFT), once per idempotency key.
    pub async fn create_access_request(
        &self,
        stored: StoredRequest,
        actor: &str,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<StoredRequest> {
        let created = self.create_once(key, &NewRequest { stored: &stored, actor }).await?;
        self.get_access_request(created.id()).await
    }

    pub async fn get_access_request(&self, id: &str) -> IntakeResult<StoredRequest> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?
            .ok_or_else(|| IntakeError::not_found("access request", id))?;
        self.complete(&row).await
    }

    /// A page of the requests in `scope` that pass `filter`, by id.
    pub async fn list_access_requests(
        &self,
        scope: &RequestScope,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> IntakeResult<(Vec<StoredRequest>, String)> {
        let mut binds: Vec<String> = vec![page.after_id.clone().unwrap_or_default()];
        let mut conditions = vec!["r.id > $1".to_owned()];
        let placeholder = |value: &str, binds: &mut Vec<String>| {
            binds.push(value.to_owned());
            format!("${}", binds.len())
        };
        if !filter.organisation_id.is_empty() {
            conditions.push(format!(
                "r.organisation_id = {}",
                placeholder(&filter.organisation_id, &mut binds)
            ));
        }
        if let Some(lane) = filter.lane {
            conditions.push(format!("r.lane = {}", placeholder(lane.as_str_name(), &mut binds)));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|status| placeholder(status.as_str_name(), &mut binds))
                .collect();
            conditions.push(format!("r.status IN ({})", list.join(", ")));
        }
        if let Some(at) = filter.overdue_at {
            let at = placeholder(&at.to_string(), &mut binds);
            let open: Vec<String> = [Status::Draft, Status::Closed, Status::Declined, Status::Withdrawn]
                .iter()
                .map(|status| format!("'{}'", status.as_str_name()))
                .collect();
            conditions.push(format!(
                "r.lane = '{}' AND r.status NOT IN ({}) AND ((r.acknowledged_at = 0 AND r.acknowledge_by < CAST({at} AS BIGINT)) \
                 OR (r.feasibility_at = 0 AND r.feasibility_by < CAST({at} AS BIGINT)) \
                 OR (r.decided_at = 0 AND r.decide_by < CAST({at} AS BIGINT)))",
                proto::Lane::Industrial.as_str_name(),
                open.join(", ")
            ));
        }
        match scope {
            RequestScope::All => {}
            RequestScope::Organisation(organisation) => {
                conditions.push(format!("r.organisation_id = {}", placeholder(organisation, &mut binds)));
            }
            RequestScope::Infrastructures(infrastructures) => {
                // An operator of nothing sees nothing.
                let mut list: Vec<String> = infrastructures
                    .iter()
                    .map(|infrastructure| placeholder(infrastructure, &mut binds))
                    .collect();
                if list.is_empty() {
                    list.push("NULL".to_owned());
                }
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM access_request_installations i WHERE i.access_request_id = r.id \
                     AND i.infrastructure_id IN ({}))",
                    list.join(", ")
                ));
            }
        }
        let sql = format!(
            "{SELECT} WHERE {} ORDER BY r.id LIMIT {}",
            conditions.join(" AND "),
            page.fetch_limit()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in &binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(self.database.readers()).await?;
        let mut requests = Vec::with_capacity(rows.len());
        for row in &rows {
            requests.push(self.complete(row).await?);
        }
        let next = page.finish(&mut requests, |stored| &stored.request.id);
        Ok((requests, next))
    }

    /// Changes a request under a row lock: `change` sees the stored request, may set its
    /// screening and agreement acceptance, and returns the transitions to take, each checked
    /// against the lane's status machine and stored with its actor and reason, with an event.
    /// With no transition returned, nothing is written.
    pub async fn change_access_request<F>(&self, id: &str, change: F) -> IntakeResult<StoredRequest>
    where
        F: FnOnce(&mut proto::AccessRequest) -> IntakeResult<Vec<Transition>> + Send,
    {
        let (mut transaction, mut stored) = self.begin_change(id).await?;
        let transitions = change(&mut stored.request)?;
        self.finish_change(&mut transaction, &mut stored, transitions).await?;
        self.outbox.commit(transaction).await?;
        Ok(stored)
    }

    /// Opens a write transaction holding the request's row lock, and reads the request.
    pub(super) async fn begin_change(&self, id: &str) -> IntakeResult<(WriteTx, StoredRequest)> {
        let mut transaction = self.database.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE r.id = $1{}",
            self.lock_clause().replace("UPDATE", "UPDATE OF r")
        )))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| IntakeError::not_found("access request", id))?;
        let stored = complete_with(&row, &mut transaction).await?;
        Ok((transaction, stored))
    }

    /// Takes `transitions` (checked against the lane's machine, each stored with an event) and
    /// writes the request's mutable fields. With no transition, nothing is written.
    pub(super) async fn finish_change(
        &self,
        transaction: &mut WriteTx,
        stored: &mut StoredRequest,
        transitions: Vec<Transition>,
    ) -> IntakeResult<()> {
        if transitions.is_empty() {
            return Ok(());
        }
        let lane = stored.request.lane();
        let at = now();
        for transition in transitions {
            let from = stored.request.status();
            if !lifecycle::allowed(lane, from, transition.to) {
                return Err(IntakeError::FailedPrecondition(lifecycle::refusal(from, transition.to)));
            }
            stored.request.set_status(transition.to);
            let step = proto::StatusTransition {
                from: from.into(),
                to: transition.to.into(),
                actor: transition.actor,
                reason: transition.reason,
                time: Some(timestamp_from_micros(at)),
            };
            insert_transition(transaction, &stored.request.id, stored.request.history.len(), &step).await?;
            let event = status_changed(transaction, &stored.request, &step).await?;
            self.outbox.append(transaction, &stored.request.id, event).await?;
            stored.request.history.push(step);
            if lane == proto::Lane::Industrial {
                self.run_clock(transaction, stored, transition.to, at).await?;
            }
        }
        self.write_request(transaction, stored, at).await
    }

    /// Starts the decision clock at submission, marks the milestones a transition meets, and
    /// keeps every milestone met late, or left unmet past its deadline when the request ends.
    async fn run_clock(
        &self,
        transaction: &mut WriteTx,
        stored: &mut StoredRequest,
        to: Status,
        at: i64,
    ) -> IntakeResult<()> {
        if to == Status::Submitted {
            let installation_ids: Vec<&str> = stored
                .request
                .installations
                .iter()
                .map(|installation| installation.installation_id.as_str())
                .collect();
            let clock = clock_for(transaction, &installation_ids).await?;
            let [(_, acknowledge_by), (_, feasibility_by), (_, decide_by)] = clock.deadlines(at);
            stored.request.deadlines = Some(proto::Deadlines {
                acknowledge_by: Some(timestamp_from_micros(acknowledge_by)),
                feasibility_by: Some(timestamp_from_micros(feasibility_by)),
                decide_by: Some(timestamp_from_micros(decide_by)),
                ..Default::default()
            });
            return Ok(());
        }
        for milestone in clock::met_by(to) {
            self.meet(transaction, stored, *milestone, at, "").await?;
        }
        if lifecycle::is_final(to) {
            let deadlines = stored.request.deadlines.clone().unwrap_or_default();
            for (milestone, due) in clock::overdue(&deadlines, at) {
                self.breach(transaction, stored, milestone, due, None).await?;
            }
        }
        Ok(())
    }

    /// Records `milestone` as met at `at` (once), and a breach when that is past its deadline.
    pub(super) async fn meet(
        &self,
        transaction: &mut WriteTx,
        stored: &mut StoredRequest,
        milestone: Milestone,
        at: i64,
        actor: &str,
    ) -> IntakeResult<()> {
        let Some(deadlines) = stored.request.deadlines.as_mut() else {
            return Ok(());
        };
        let met_at = Some(timestamp_from_micros(at));
        let (due, met) = match milestone {
            Milestone::Acknowledge => {
                if deadlines.acknowledge_time.is_none() {
                    deadlines.acknowledged_by = actor.to_owned();
                }
                (&deadlines.acknowledge_by, &mut deadlines.acknowledge_time)
            }
            Milestone::Feasibility => (&deadlines.feasibility_by, &mut deadlines.feasibility_time),
            Milestone::Decision | Milestone::Unspecified => (&deadlines.decide_by, &mut deadlines.decide_time),
        };
        if met.is_some() {
            return Ok(());
        }
        *met = met_at;
        let due = due.as_ref().map_or(i64::MAX, micros_from_timestamp);
        if at > due {
            self.breach(transaction, stored, milestone, due, Some(at)).await?;
        }
        Ok(())
    }

    async fn breach(
        &self,
        transaction: &mut WriteTx,
        stored: &mut StoredRequest,
        milestone: Milestone,
        due: i64,
        met: Option<i64>,
    ) -> IntakeResult<()> {
        sqlx::query(
            "INSERT INTO clock_breaches (access_request_id, milestone, due_at, met_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (access_request_id, milestone) DO NOTHING",
        )
        .bind(&stored.request.id)
        .bind(milestone.as_str_name())
        .bind(due)
        .bind(met.unwrap_or(0))
        .execute(&mut **transaction)
        .await?;
        let breach = proto::ClockBreach {
            milestone: milestone.into(),
            due_time: Some(timestamp_from_micros(due)),
            met_time: met.map(timestamp_from_micros),
        };
        let event = Payload::DecisionClockBreached(proto::DecisionClockBreached {
            access_request_id: stored.request.id.clone(),
            milestone: breach.milestone,
            due_time: breach.due_time,
            met_time: breach.met_time,
            installation_ids: stored
                .request
                .installations
                .iter()
                .map(|installation| installation.installation_id.clone())
                .collect(),
            organisation_id: stored.request.organisation_id.clone(),
        });
        self.outbox.append(transaction, &stored.request.id, event).await?;
        stored.request.breaches.push(breach);
        Ok(())
    }

    /// Writes the request's mutable fields.
    pub(super) async fn write_request(
        &self,
        transaction: &mut WriteTx,
        stored: &mut StoredRequest,
        at: i64,
    ) -> IntakeResult<()> {
        stored.request.update_time = Some(timestamp_from_micros(at));
        let acceptance = stored.request.agreement_acceptance.clone().unwrap_or_default();
        let deadlines = stored.request.deadlines.clone().unwrap_or_default();
        let micros = |time: &Option<rti_proto::pbjson_types::Timestamp>| time.as_ref().map_or(0, micros_from_timestamp);
        sqlx::query(
            "UPDATE access_requests SET status = $2, agreement_template_id = $3, agreement_accepted_by = $4, \
             agreement_accepted_at = $5, screening = $6, quote = $7, updated_at = $8, acknowledge_by = $9, \
             feasibility_by = $10, decide_by = $11, acknowledged_at = $12, feasibility_at = $13, decided_at = $14, \
             acknowledged_by = $15 WHERE id = $1",
        )
        .bind(&stored.request.id)
        .bind(stored.request.status().as_str_name())
        .bind((!acceptance.template_id.is_empty()).then_some(acceptance.template_id.clone()))
        .bind(&acceptance.accepted_by)
        .bind(acceptance.accept_time.as_ref().map_or(0, micros_from_timestamp))
        .bind(stored.request.screening.as_ref().map(to_json).unwrap_or_default())
        .bind(stored.request.quote.as_ref().map(to_json).unwrap_or_default())
        .bind(at)
        .bind(micros(&deadlines.acknowledge_by))
        .bind(micros(&deadlines.feasibility_by))
        .bind(micros(&deadlines.decide_by))
        .bind(micros(&deadlines.acknowledge_time))
        .bind(micros(&deadlines.feasibility_time))
        .bind(micros(&deadlines.decide_time))
        .bind(&deadlines.acknowledged_by)
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Reads the installations and the history of a request row, outside a transaction.
    async fn complete(&self, row: &AnyRow) -> IntakeResult<StoredRequest> {
        let mut connection = self.database.readers().acquire().await?;
        complete_with(row, &mut connection).await
    }
}

async fn complete_with(row: &AnyRow, connection: &mut sqlx::AnyConnection) -> IntakeResult<StoredRequest> {
    let id: String = row.try_get(0)?;
    let installations = sqlx::query(
        "SELECT installation_id, infrastructure_id, units FROM access_request_installations \
         WHERE access_request_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?;
    let mut requested = Vec::with_capacity(installations.len());
    let mut infrastructure_ids = Vec::with_capacity(installations.len());
    for installation in &installations {
        requested.push(proto::RequestedInstallation {
            installation_id: installation.try_get(0)?,
            units: installation.try_get(2)?,
        });
        infrastructure_ids.push(installation.try_get(1)?);
    }
    let history = sqlx::query(
        "SELECT from_status, to_status, actor, reason, at FROM access_request_transitions \
         WHERE access_request_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|step| {
        Ok(proto::StatusTransition {
            from: stored_enum(step, 0, Status::from_str_name)?,
            to: stored_enum(step, 1, Status::from_str_name)?,
            actor: step.try_get(2)?,
            reason: step.try_get(3)?,
            time: Some(timestamp_from_micros(step.try_get(4)?)),
        })
    })
    .collect::<IntakeResult<Vec<_>>>()?;
    let breaches = sqlx::query(
        "SELECT milestone, due_at, met_at FROM clock_breaches WHERE access_request_id = $1 ORDER BY due_at, milestone",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|breach| {
        let met: i64 = breach.try_get(2)?;
        Ok(proto::ClockBreach {
            milestone: stored_enum(breach, 0, Milestone::from_str_name)?,
            due_time: Some(timestamp_from_micros(breach.try_get(1)?)),
            met_time: (met > 0).then(|| timestamp_from_micros(met)),
        })
    })
    .collect::<IntakeResult<Vec<_>>>()?;
    let template_id: Option<String> = row.try_get(10)?;
    let agreement_kind = stored_enum(row, 9, proto::AgreementKind::from_str_name)?;
    let agreement_acceptance = match template_id {
        Some(template_id) => Some(proto::AgreementAcceptance {
            template_id,
            kind: agreement_kind,
            version: row.try_get::<Option<i32>, _>(21)?.unwrap_or_default(),
            accepted_by: row.try_get(11)?,
            accept_time: Some(timestamp_from_micros(row.try_get(12)?)),
        }),
        None => None,
    };
    let request = proto::AccessRequest {
        id,
        status: stored_enum(row, 1, Status::from_str_name)?,
        lane: stored_enum(row, 2, proto::Lane::from_str_name)?,
        organisation_id: row.try_get(3)?,
        installations: requested,
        title: row.try_get(4)?,
        description: row.try_get(5)?,
        confidentiality: stored_enum(row, 6, proto::ConfidentialityLevel::from_str_name)?,
        embargo_until: row.try_get(7)?,
        ip_regime: stored_enum(row, 8, proto::IpRegime::from_str_name)?,
        agreement_kind,
        agreement_acceptance,
        contact_person_id: row.try_get(13)?,
        user_group_id: row.try_get(14)?,
        call_id: row.try_get(15)?,
        end_use_statement: row.try_get(16)?,
        outputs_leave_eu: row.try_get::<i32, _>(17)? != 0,
        screening: optional_json(row, 18)?,
        history,
        quote: optional_json(row, 22)?,
        deadlines: deadlines_from(row)?,
        breaches,
        create_time: Some(timestamp_from_micros(row.try_get(19)?)),
        update_time: Some(timestamp_from_micros(row.try_get(20)?)),
    };
    Ok(StoredRequest {
        request,
        infrastructure_ids,
    })
}

impl NewRecord for NewRequest<'_> {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.stored.request.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> IntakeResult<Option<Payload>> {
        let request = &self.stored.request;
        require_row(
            transaction,
            "organisations",
            "organisation",
            &request.organisation_id,
            lock,
        )
        .await?;
        let at = request.create_time.as_ref().map_or_else(now, micros_from_timestamp);
        sqlx::query(
            "INSERT INTO access_requests (id, status, lane, organisation_id, title, description, confidentiality, \
             embargo_until, ip_regime, agreement_kind, agreement_template_id, agreement_accepted_by, \
             agreement_accepted_at, contact_person_id, user_group_id, call_id, end_use_statement, \
             outputs_leave_eu, screening, quote, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, '', 0, $11, $12, $13, $14, $15, '', '', $16, $16)",
        )
        .bind(&request.id)
        .bind(Status::Draft.as_str_name())
        .bind(request.lane().as_str_name())
        .bind(&request.organisation_id)
        .bind(&request.title)
        .bind(&request.description)
        .bind(request.confidentiality().as_str_name())
        .bind(&request.embargo_until)
        .bind(request.ip_regime().as_str_name())
        .bind(request.agreement_kind().as_str_name())
        .bind(&request.contact_person_id)
        .bind(&request.user_group_id)
        .bind(&request.call_id)
        .bind(&request.end_use_statement)
        .bind(i32::from(request.outputs_leave_eu))
        .bind(at)
        .execute(&mut **transaction)
        .await?;
        for (position, (installation, infrastructure)) in request
            .installations
            .iter()
            .zip(&self.stored.infrastructure_ids)
            .enumerate()
        {
            sqlx::query(
                "INSERT INTO access_request_installations (access_request_id, position, installation_id, \
                 infrastructure_id, units) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&request.id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(&installation.installation_id)
            .bind(infrastructure)
            .bind(installation.units)
            .execute(&mut **transaction)
            .await?;
        }
        let created = proto::StatusTransition {
            from: Status::Unspecified.into(),
            to: Status::Draft.into(),
            actor: self.actor.to_owned(),
            reason: "created".to_owned(),
            time: Some(timestamp_from_micros(at)),
        };
        insert_transition(transaction, &request.id, 0, &created).await?;
        let mut draft = request.clone();
        draft.set_status(Status::Draft);
        Ok(Some(status_changed(transaction, &draft, &created).await?))
    }
}

fn deadlines_from(row: &AnyRow) -> IntakeResult<Option<proto::Deadlines>> {
    let time = |column: usize| -> IntakeResult<Option<rti_proto::pbjson_types::Timestamp>> {
        let micros: i64 = row.try_get(column)?;
        Ok((micros > 0).then(|| timestamp_from_micros(micros)))
    };
    let Some(acknowledge_by) = time(23)? else {
        return Ok(None);
    };
    Ok(Some(proto::Deadlines {
        acknowledge_by: Some(acknowledge_by),
        feasibility_by: time(24)?,
        decide_by: time(25)?,
        acknowledge_time: time(26)?,
        feasibility_time: time(27)?,
        decide_time: time(28)?,
        acknowledged_by: row.try_get(29)?,
    }))
}

/// The clock of a request for these installations: the strictest of their clocks, each
/// installation's own or else the default.
async fn clock_for(transaction: &mut WriteTx, installation_ids: &[&str]) -> IntakeResult<clock::Clock> {
    let rows =
        sqlx::query("SELECT installation_id, acknowledge_days, feasibility_days, decide_days FROM decision_clocks")
            .fetch_all(&mut **transaction)
            .await?;
    let mut default = clock::DEFAULT;
    let mut own = std::collections::HashMap::new();
    for row in &rows {
        let installation: String = row.try_get(0)?;
        let clock = clock::Clock {
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
    Ok(installation_ids
        .iter()
        .map(|id| own.get(*id).copied().unwrap_or(default))
        .reduce(clock::Clock::strictest)
        .unwrap_or(default))
}

/// A nested record stored as JSON, empty when absent.
fn optional_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: usize) -> IntakeResult<Option<T>> {
    let text: String = row.try_get(column)?;
    if text.is_empty() {
        Ok(None)
    } else {
        from_json(&text).map(Some)
    }
}

async fn insert_transition(
    transaction: &mut WriteTx,
    request_id: &str,
    position: usize,
    step: &proto::StatusTransition,
) -> IntakeResult<()> {
    sqlx::query(
        "INSERT INTO access_request_transitions (access_request_id, position, from_status, to_status, actor, \
         reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(request_id)
    .bind(i32::try_from(position).unwrap_or(i32::MAX))
    .bind(step.from().as_str_name())
    .bind(step.to().as_str_name())
    .bind(&step.actor)
    .bind(&step.reason)
    .bind(step.time.as_ref().map_or(0, micros_from_timestamp))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// The event of one transition: what reporting and allocation need, and no names of people.
async fn status_changed(
    transaction: &mut WriteTx,
    request: &proto::AccessRequest,
    step: &proto::StatusTransition,
) -> IntakeResult<Payload> {
    let organisation = sqlx::query("SELECT kind, country, sme_category, start_up FROM organisations WHERE id = $1")
        .bind(&request.organisation_id)
        .fetch_one(&mut **transaction)
        .await?;
    Ok(Payload::AccessRequestStatusChanged(proto::AccessRequestStatusChanged {
        access_request_id: request.id.clone(),
        from: step.from,
        to: step.to,
        lane: request.lane,
        organisation_id: request.organisation_id.clone(),
        requester_kind: stored_enum(&organisation, 0, proto::OrganisationKind::from_str_name)?,
        sme_category: stored_enum(&organisation, 2, proto::SmeCategory::from_str_name)?,
        start_up: organisation.try_get::<i32, _>(3)? != 0,
        country: organisation.try_get(1)?,
        installations: request.installations.clone(),
        call_id: request.call_id.clone(),
        user_group_id: request.user_group_id.clone(),
        time: step.time,
        confidentiality: request.confidentiality,
        screening_verdict: request.screening.as_ref().map_or(0, |screening| screening.verdict),
        screening_held: request.screening.as_ref().is_some_and(|screening| {
            screening.verdict == proto::ScreeningVerdict::Possible as i32
                || !screening.security_flags.is_empty()
                || screening.review.is_some()
        }),
    }))
}

impl IntakeStore {
    /// Stores an installation's clock (or the default, for `''`), replacing the earlier one.
    /// Requests already submitted keep the deadlines they were given.
    pub async fn set_decision_clock(&self, clock: proto::DecisionClock) -> IntakeResult<proto::DecisionClock> {
        let mut transaction = self.database.begin_write().await?;
        let at = now();
        sqlx::query(
            "INSERT INTO decision_clocks (installation_id, acknowledge_days, feasibility_days, decide_days, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (installation_id) DO UPDATE SET \
             acknowledge_days = $2, feasibility_days = $3, decide_days = $4, updated_by = $5, updated_at = $6",
        )
        .bind(&clock.installation_id)
        .bind(clock.acknowledge_within_days)
        .bind(clock.feasibility_within_days)
        .bind(clock.decide_within_days)
        .bind(&clock.updated_by)
        .bind(at)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(proto::DecisionClock {
            update_time: Some(timestamp_from_micros(at)),
            ..clock
        })
    }

    /// An operator acknowledges a submitted industrial-lane request, once (IND-7d).
    pub async fn acknowledge(&self, id: &str, actor: &str) -> IntakeResult<StoredRequest> {
        let (mut transaction, mut stored) = self.begin_change(id).await?;
        let status = stored.request.status();
        if stored.request.lane() != proto::Lane::Industrial {
            return Err(IntakeError::FailedPrecondition(
                "only industrial-lane requests run on a decision clock".to_owned(),
            ));
        }
        if status == Status::Draft || lifecycle::is_final(status) {
            return Err(IntakeError::FailedPrecondition(format!(
                "the request is {}; only an open submitted request is acknowledged",
                lifecycle::short_name(status)
            )));
        }
        let acknowledged = stored
            .request
            .deadlines
            .as_ref()
            .is_some_and(|deadlines| deadlines.acknowledge_time.is_some());
        if acknowledged {
            return Ok(stored);
        }
        let at = now();
        self.meet(&mut transaction, &mut stored, Milestone::Acknowledge, at, actor)
            .await?;
        self.write_request(&mut transaction, &mut stored, at).await?;
        self.outbox.commit(transaction).await?;
        Ok(stored)
    }
}
