//! Access requests: the row, the installations asked for (with the infrastructure each belongs
//! to, for operators' scope), the status history (one row per transition) and the clock's
//! breaches; created once per idempotency key, read one by one or a page at a time.

use rti_platform::db::WriteTx;
use rti_platform::pagination::PageRequest;
use rti_proto::common::event::Payload;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::proto::{self as edge, Requester};
use super::{IdempotencyKey, IntakeStore, NewRecord, require_row, stored};
use crate::domain::access::RequestScope;
use crate::domain::clock::{ClockBreach, Deadlines, Milestone};
use crate::domain::organisation::OrganisationKind;
use crate::domain::request::{
    AccessRequest, AgreementAcceptance, AgreementKind, Confidentiality, IpRegime, Lane, RequestStatus as Status,
    RequestedInstallation, StatusTransition,
};
use crate::domain::sme::SmeCategory;
use crate::domain::{IntakeError, IntakeResult};

/// Filters of `ListAccessRequests`.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub statuses: Vec<Status>,
    pub lane: Option<Lane>,
    pub organisation_id: String,
    /// Only open industrial-lane requests with a milestone past its deadline at this time.
    pub overdue_at: Option<i64>,
}

#[derive(Clone)]
struct NewRequest<'a> {
    request: &'a AccessRequest,
    actor: &'a str,
}

pub(super) const SELECT: &str = "SELECT r.id, r.status, r.lane, r.organisation_id, r.title, r.description, \
     r.confidentiality, r.embargo_until, r.ip_regime, r.agreement_kind, r.agreement_template_id, \
     r.agreement_accepted_by, r.agreement_accepted_at, r.contact_person_id, r.user_group_id, r.call_id, \
     r.end_use_statement, r.outputs_leave_eu, r.screening, r.created_at, r.updated_at, t.version, r.quote, \
     r.acknowledge_by, r.feasibility_by, r.decide_by, r.acknowledged_at, r.feasibility_at, r.decided_at, \
     r.acknowledged_by FROM access_requests r LEFT JOIN agreement_templates t ON t.id = r.agreement_template_id";

impl IntakeStore {
    /// Stores a new draft and its first transition (created → DRAFT), once per idempotency key.
    pub async fn create_access_request(
        &self,
        request: AccessRequest,
        actor: &str,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<AccessRequest> {
        let created = self
            .create_once(
                key,
                &NewRequest {
                    request: &request,
                    actor,
                },
            )
            .await?;
        self.get_access_request(created.id()).await
    }

    pub async fn get_access_request(&self, id: &str) -> IntakeResult<AccessRequest> {
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
    ) -> IntakeResult<(Vec<AccessRequest>, String)> {
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
            conditions.push(format!("r.lane = {}", placeholder(lane.as_stored(), &mut binds)));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|status| placeholder(status.as_stored(), &mut binds))
                .collect();
            conditions.push(format!("r.status IN ({})", list.join(", ")));
        }
        if let Some(at) = filter.overdue_at {
            let at = placeholder(&at.to_string(), &mut binds);
            let open: Vec<String> = [Status::Draft, Status::Closed, Status::Declined, Status::Withdrawn]
                .iter()
                .map(|status| format!("'{}'", status.as_stored()))
                .collect();
            conditions.push(format!(
                "r.lane = '{}' AND r.status NOT IN ({}) AND ((r.acknowledged_at = 0 AND r.acknowledge_by < CAST({at} AS BIGINT)) \
                 OR (r.feasibility_at = 0 AND r.feasibility_by < CAST({at} AS BIGINT)) \
                 OR (r.decided_at = 0 AND r.decide_by < CAST({at} AS BIGINT)))",
                Lane::Industrial.as_stored(),
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
        let next = page.finish(&mut requests, |request| &request.id);
        Ok((requests, next))
    }

    /// Reads the installations and the history of a request row, outside a transaction.
    async fn complete(&self, row: &AnyRow) -> IntakeResult<AccessRequest> {
        let mut connection = self.database.readers().acquire().await?;
        complete_with(row, &mut connection).await
    }
}

/// A request from its row, with its installations, history and breaches.
pub(super) async fn complete_with(row: &AnyRow, connection: &mut sqlx::AnyConnection) -> IntakeResult<AccessRequest> {
    let id: String = row.try_get(0)?;
    let installations = sqlx::query(
        "SELECT installation_id, infrastructure_id, units FROM access_request_installations \
         WHERE access_request_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|installation| {
        Ok(RequestedInstallation {
            installation_id: installation.try_get(0)?,
            infrastructure_id: installation.try_get(1)?,
            units: installation.try_get(2)?,
        })
    })
    .collect::<IntakeResult<Vec<_>>>()?;
    let history = sqlx::query(
        "SELECT from_status, to_status, actor, reason, at FROM access_request_transitions \
         WHERE access_request_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|step| {
        Ok(StatusTransition {
            // The first step comes from no state (stored as the unspecified status).
            from: Status::from_stored(&step.try_get::<String, _>(0)?),
            to: stored(step, 1, Status::from_stored)?,
            actor: step.try_get(2)?,
            reason: step.try_get(3)?,
            time: step.try_get(4)?,
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
        Ok(ClockBreach {
            milestone: stored(breach, 0, Milestone::from_stored)?,
            due_time: breach.try_get(1)?,
            met_time: (met > 0).then_some(met),
        })
    })
    .collect::<IntakeResult<Vec<_>>>()?;
    let template_id: Option<String> = row.try_get(10)?;
    let agreement_kind = stored(row, 9, AgreementKind::from_stored)?;
    let agreement_acceptance = match template_id {
        Some(template_id) => Some(AgreementAcceptance {
            template_id,
            kind: agreement_kind,
            version: row.try_get::<Option<i32>, _>(21)?.unwrap_or_default(),
            accepted_by: row.try_get(11)?,
            accept_time: row.try_get(12)?,
        }),
        None => None,
    };
    Ok(AccessRequest {
        id,
        status: stored(row, 1, Status::from_stored)?,
        lane: stored(row, 2, Lane::from_stored)?,
        organisation_id: row.try_get(3)?,
        installations,
        title: row.try_get(4)?,
        description: row.try_get(5)?,
        confidentiality: stored(row, 6, Confidentiality::from_stored)?,
        embargo_until: row.try_get(7)?,
        ip_regime: stored(row, 8, IpRegime::from_stored)?,
        agreement_kind,
        agreement_acceptance,
        contact_person_id: row.try_get(13)?,
        user_group_id: row.try_get(14)?,
        call_id: row.try_get(15)?,
        end_use_statement: row.try_get(16)?,
        outputs_leave_eu: row.try_get::<i32, _>(17)? != 0,
        screening: edge::screening_from_json(row, 18)?,
        history,
        quote: edge::quote_from_json(row, 22)?,
        deadlines: deadlines_from(row)?,
        breaches,
        create_time: row.try_get(19)?,
        update_time: row.try_get(20)?,
    })
}

impl NewRecord for NewRequest<'_> {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.request.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> IntakeResult<Option<Payload>> {
        let request = self.request;
        require_row(
            transaction,
            "organisations",
            "organisation",
            &request.organisation_id,
            lock,
        )
        .await?;
        let at = request.create_time;
        sqlx::query(
            "INSERT INTO access_requests (id, status, lane, organisation_id, title, description, confidentiality, \
             embargo_until, ip_regime, agreement_kind, agreement_template_id, agreement_accepted_by, \
             agreement_accepted_at, contact_person_id, user_group_id, call_id, end_use_statement, \
             outputs_leave_eu, screening, quote, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, '', 0, $11, $12, $13, $14, $15, '', '', $16, $16)",
        )
        .bind(&request.id)
        .bind(Status::Draft.as_stored())
        .bind(request.lane.as_stored())
        .bind(&request.organisation_id)
        .bind(&request.title)
        .bind(&request.description)
        .bind(request.confidentiality.as_stored())
        .bind(&request.embargo_until)
        .bind(request.ip_regime.as_stored())
        .bind(request.agreement_kind.as_stored())
        .bind(&request.contact_person_id)
        .bind(&request.user_group_id)
        .bind(&request.call_id)
        .bind(&request.end_use_statement)
        .bind(i32::from(request.outputs_leave_eu))
        .bind(at)
        .execute(&mut **transaction)
        .await?;
        for (position, installation) in request.installations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO access_request_installations (access_request_id, position, installation_id, \
                 infrastructure_id, units) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&request.id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(&installation.installation_id)
            .bind(&installation.infrastructure_id)
            .bind(installation.units)
            .execute(&mut **transaction)
            .await?;
        }
        let created = StatusTransition {
            from: None,
            to: Status::Draft,
            actor: self.actor.to_owned(),
            reason: "created".to_owned(),
            time: at,
        };
        insert_transition(transaction, &request.id, 0, &created).await?;
        let mut draft = request.clone();
        draft.status = Status::Draft;
        Ok(Some(status_changed(transaction, &draft, &created).await?))
    }
}

fn deadlines_from(row: &AnyRow) -> IntakeResult<Option<Deadlines>> {
    let met = |column: usize| -> IntakeResult<Option<i64>> {
        let micros: i64 = row.try_get(column)?;
        Ok((micros > 0).then_some(micros))
    };
    let acknowledge_by: i64 = row.try_get(23)?;
    if acknowledge_by <= 0 {
        return Ok(None);
    }
    Ok(Some(Deadlines {
        acknowledge_by,
        feasibility_by: row.try_get(24)?,
        decide_by: row.try_get(25)?,
        acknowledge_time: met(26)?,
        feasibility_time: met(27)?,
        decide_time: met(28)?,
        acknowledged_by: row.try_get(29)?,
    }))
}

/// The status name stored for the step's origin; the first step's is the unspecified status.
const NO_STATUS: &str = "ACCESS_REQUEST_STATUS_UNSPECIFIED";

pub(super) async fn insert_transition(
    transaction: &mut WriteTx,
    request_id: &str,
    position: usize,
    step: &StatusTransition,
) -> IntakeResult<()> {
    sqlx::query(
        "INSERT INTO access_request_transitions (access_request_id, position, from_status, to_status, actor, \
         reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(request_id)
    .bind(i32::try_from(position).unwrap_or(i32::MAX))
    .bind(step.from.map_or(NO_STATUS, Status::as_stored))
    .bind(step.to.as_stored())
    .bind(&step.actor)
    .bind(&step.reason)
    .bind(step.time)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// The event of one transition, with what it says of the requester read in the transaction.
pub(super) async fn status_changed(
    transaction: &mut WriteTx,
    request: &AccessRequest,
    step: &StatusTransition,
) -> IntakeResult<Payload> {
    let organisation = sqlx::query("SELECT kind, country, sme_category, start_up FROM organisations WHERE id = $1")
        .bind(&request.organisation_id)
        .fetch_one(&mut **transaction)
        .await?;
    let requester = Requester {
        kind: stored(&organisation, 0, OrganisationKind::from_stored)?,
        country: organisation.try_get(1)?,
        sme_category: stored(&organisation, 2, SmeCategory::from_stored)?,
        start_up: organisation.try_get::<i32, _>(3)? != 0,
    };
    Ok(edge::status_changed(request, step, requester))
}
