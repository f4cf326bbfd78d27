//! Access requests: the row, the installations asked for (with the infrastructure each belongs
//! to, for operators' scope), and the status history, one row per transition.

use rti_platform::db::WriteTx;
use rti_platform::pagination::PageRequest;
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_proto::common::event::Payload;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IdempotencyKey, IntakeStore, NewRecord, from_json, now, require_row, stored_enum, to_json};
use crate::domain::{IntakeError, IntakeResult, lifecycle};

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

struct NewRequest<'a> {
    stored: &'a StoredRequest,
    actor: &'a str,
}

const SELECT: &str = "SELECT r.id, r.status, r.lane, r.organisation_id, r.title, r.description, r.confidentiality, \
     r.embargo_until, r.ip_regime, r.agreement_kind, r.agreement_template_id, r.agreement_accepted_by, \
     r.agreement_accepted_at, r.contact_person_id, r.user_group_id, r.call_id, r.end_use_statement, \
     r.outputs_leave_eu, r.screening, r.created_at, r.updated_at, t.version, r.quote \
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
        }
        stored.request.update_time = Some(timestamp_from_micros(at));
        let acceptance = stored.request.agreement_acceptance.clone().unwrap_or_default();
        sqlx::query(
            "UPDATE access_requests SET status = $2, agreement_template_id = $3, agreement_accepted_by = $4, \
             agreement_accepted_at = $5, screening = $6, quote = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(&stored.request.id)
        .bind(stored.request.status().as_str_name())
        .bind((!acceptance.template_id.is_empty()).then_some(acceptance.template_id.clone()))
        .bind(&acceptance.accepted_by)
        .bind(acceptance.accept_time.as_ref().map_or(0, micros_from_timestamp))
        .bind(stored.request.screening.as_ref().map(to_json).unwrap_or_default())
        .bind(stored.request.quote.as_ref().map(to_json).unwrap_or_default())
        .bind(at)
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
        create_time: Some(timestamp_from_micros(row.try_get(19)?)),
        update_time: Some(timestamp_from_micros(row.try_get(20)?)),
    };
    Ok(StoredRequest {
        request,
        infrastructure_ids,
    })
}

impl NewRecord for NewRequest<'_> {
    fn id(&self) -> &str {
        &self.stored.request.id
    }

    async fn insert(&self, transaction: &mut WriteTx, lock: &'static str) -> IntakeResult<Option<Payload>> {
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
    }))
}
