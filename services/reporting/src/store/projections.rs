//! Applies changes from the other services' streams to the projections, a batch at a time, with
//! the stream's cursor in the same transaction: a restart resumes where the last commit ended,
//! and a replayed event changes nothing twice (every write is an upsert keyed by the entity).

use rti_platform::db::WriteTx;
use sqlx::Row;

use super::ReportingStore;
use crate::domain::disclosure::UnitKind;
use crate::domain::projection::{Change, Rejection, RequestState, RequestStatus, SlotStatus};
use crate::domain::{lane, month_of, request_funding_scheme};
use crate::error::ReportingResult;

impl ReportingStore {
    /// Applies `changes`, records `rejections` (events that could not be applied) and moves
    /// `source`'s cursor to `sequence`, in one transaction: a poison event is on record exactly
    /// when the cursor has moved past it.
    pub async fn apply(
        &self,
        source: &str,
        changes: &[Change],
        rejections: &[Rejection],
        sequence: i64,
    ) -> ReportingResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for change in changes {
            self.apply_one(&mut transaction, change).await?;
        }
        for rejection in rejections {
            sqlx::query(
                "INSERT INTO feed_rejections (source, sequence, event_id, event_type, reason, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, sequence) DO NOTHING",
            )
            .bind(source)
            .bind(rejection.sequence)
            .bind(&rejection.event_id)
            .bind(&rejection.event_type)
            .bind(rejection.reason)
            .bind(rti_platform::time::now_micros())
            .execute(&mut *transaction)
            .await?;
        }
        Self::write_cursor(&mut transaction, source, sequence).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn apply_one(&self, transaction: &mut WriteTx, change: &Change) -> ReportingResult<()> {
        match change {
            Change::Provider { id, country } => {
                sqlx::query(
                    "INSERT INTO providers (id, country) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET country = excluded.country",
                )
                .bind(id)
                .bind(country)
                .execute(&mut **transaction)
                .await?;
            }
            Change::Infrastructure { id, provider_id, name } => {
                sqlx::query(
                    "INSERT INTO infrastructures (id, provider_id, name) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET provider_id = excluded.provider_id, name = excluded.name",
                )
                .bind(id)
                .bind(provider_id)
                .bind(name)
                .execute(&mut **transaction)
                .await?;
            }
            Change::Installation {
                id,
                infrastructure_id,
                name,
                critical_areas,
            } => {
                sqlx::query(
                    "INSERT INTO installations (id, infrastructure_id, name, critical_areas) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET infrastructure_id = excluded.infrastructure_id, \
                     name = excluded.name, critical_areas = excluded.critical_areas",
                )
                .bind(id)
                .bind(infrastructure_id)
                .bind(name)
                .bind(critical_areas.join(","))
                .execute(&mut **transaction)
                .await?;
            }
            Change::SlotWindow {
                slot_id,
                installation_id,
                starts_at,
                ends_at,
            } => {
                sqlx::query(
                    "INSERT INTO slot_windows (slot_id, installation_id, starts_at, ends_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (slot_id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at",
                )
                .bind(slot_id)
                .bind(installation_id)
                .bind(starts_at)
                .bind(ends_at)
                .execute(&mut **transaction)
                .await?;
                // A slot counts in the month its window starts, whichever stream told first.
                sqlx::query("UPDATE slots SET starts_at = $2, month = $3 WHERE id = $1")
                    .bind(slot_id)
                    .bind(starts_at)
                    .bind(month_of(*starts_at))
                    .execute(&mut **transaction)
                    .await?;
            }
            Change::RequestStatus(status) => self.apply_request_status(transaction, status).await?,
            Change::ClockBreach {
                request_id,
                milestone,
                due_at,
            } => {
                sqlx::query(
                    "INSERT INTO clock_breaches (request_id, milestone, due_at, month) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (request_id, milestone) DO NOTHING",
                )
                .bind(request_id)
                .bind(milestone)
                .bind(due_at)
                .bind(month_of(*due_at))
                .execute(&mut **transaction)
                .await?;
            }
            Change::Call {
                id,
                grant_agreement,
                programme,
                at,
                offered,
            } => {
                sqlx::query(
                    "INSERT INTO calls (id, grant_agreement, programme, at, month) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET grant_agreement = excluded.grant_agreement, \
                     programme = excluded.programme, at = excluded.at, month = excluded.month",
                )
                .bind(id)
                .bind(grant_agreement)
                .bind(programme)
                .bind(at)
                .bind(month_of(*at))
                .execute(&mut **transaction)
                .await?;
                for (installation_id, units) in offered {
                    sqlx::query(
                        "INSERT INTO call_installations (call_id, installation_id, units) VALUES ($1, $2, $3) \
                         ON CONFLICT (call_id, installation_id) DO UPDATE SET units = excluded.units",
                    )
                    .bind(id)
                    .bind(installation_id)
                    .bind(units)
                    .execute(&mut **transaction)
                    .await?;
                }
            }
            Change::AllocationLine {
                request_id,
                granted,
                non_eu_majority,
                decided_at,
            } => {
                for (installation_id, units) in granted {
                    upsert_grant(
                        transaction,
                        request_id,
                        installation_id,
                        *units,
                        *non_eu_majority,
                        *decided_at,
                    )
                    .await?;
                }
                let outcome = if granted.is_empty() { "declined" } else { "accepted" };
                sqlx::query(
                    "INSERT INTO allocation_decisions (request_id, outcome, decided_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (request_id) DO UPDATE SET outcome = excluded.outcome, decided_at = excluded.decided_at",
                )
                .bind(request_id)
                .bind(outcome)
                .bind(decided_at)
                .execute(&mut **transaction)
                .await?;
            }
            Change::Slot {
                slot_id,
                request_id,
                installation_id,
                units,
                status,
                delivered_units,
                lost_units,
                at,
            } => {
                let window = sqlx::query("SELECT starts_at FROM slot_windows WHERE slot_id = $1")
                    .bind(slot_id)
                    .fetch_optional(&mut **transaction)
                    .await?;
                let starts_at = match window {
                    Some(row) => row.try_get::<i64, _>(0)?,
                    None => *at,
                };
                let delivered_at = (*status == SlotStatus::Delivered).then_some(*at);
                sqlx::query(
                    "INSERT INTO slots (id, request_id, installation_id, units, status, delivered_units, lost_units, \
                     offered_at, delivered_at, starts_at, month) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (id) DO UPDATE SET units = excluded.units, status = excluded.status, \
                     delivered_units = excluded.delivered_units, lost_units = excluded.lost_units, \
                     delivered_at = COALESCE(excluded.delivered_at, slots.delivered_at)",
                )
                .bind(slot_id)
                .bind(request_id)
                .bind(installation_id)
                .bind(units)
                .bind(status.name())
                .bind(delivered_units)
                .bind(lost_units)
                .bind(at)
                .bind(delivered_at)
                .bind(starts_at)
                .bind(month_of(starts_at))
                .execute(&mut **transaction)
                .await?;
            }
        }
        Ok(())
    }

    async fn apply_request_status(&self, transaction: &mut WriteTx, status: &RequestStatus) -> ReportingResult<()> {
        let submitted_at = (status.to == RequestState::Submitted).then_some(status.at);
        // An outcome someone decided: a draft withdrawn was never a decision.
        let decided_at = matches!(status.to, RequestState::Accepted | RequestState::Declined).then_some(status.at);
        let screening_until =
            (status.from == RequestState::Screening && status.to != RequestState::Screening).then_some(status.at);
        sqlx::query(
            "INSERT INTO requests (id, lane, funding_scheme, organisation_id, org_rkey, request_rkey, home_country, \
             requester_type, confidential, status, submitted_at, submitted_month, decided_at, outcome, \
             screening_verdict, screening_held, screening_until, call_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, home_country = excluded.home_country, \
             requester_type = excluded.requester_type, confidential = excluded.confidential, \
             submitted_at = COALESCE(requests.submitted_at, excluded.submitted_at), \
             submitted_month = COALESCE(requests.submitted_month, excluded.submitted_month), \
             decided_at = COALESCE(excluded.decided_at, requests.decided_at), \
             outcome = COALESCE(excluded.outcome, requests.outcome), \
             screening_verdict = excluded.screening_verdict, \
             screening_held = CASE WHEN excluded.screening_held = 1 THEN 1 ELSE requests.screening_held END, \
             screening_until = COALESCE(requests.screening_until, excluded.screening_until)",
        )
        .bind(&status.request_id)
        .bind(status.lane)
        .bind(request_funding_scheme(status.lane))
        .bind(&status.organisation_id)
        .bind(i64::from(self.key(UnitKind::Organisation, &status.organisation_id)))
        .bind(i64::from(self.key(UnitKind::Request, &status.request_id)))
        .bind(&status.home_country)
        .bind(status.requester_type)
        .bind(i32::from(status.confidential))
        .bind(status.to.name())
        .bind(submitted_at)
        .bind(submitted_at.map(month_of))
        .bind(decided_at)
        .bind(status.to.outcome())
        .bind(&status.screening_verdict)
        .bind(i32::from(status.screening_held))
        .bind(screening_until)
        .bind(&status.call_id)
        .execute(&mut **transaction)
        .await?;
        for (installation_id, units) in &status.installations {
            sqlx::query(
                "INSERT INTO request_installations (request_id, installation_id, units) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_id, installation_id) DO UPDATE SET units = excluded.units",
            )
            .bind(&status.request_id)
            .bind(installation_id)
            .bind(units)
            .execute(&mut **transaction)
            .await?;
        }
        // The industrial lane's acceptance grants the units asked for (the quote accepted).
        if status.to == RequestState::Accepted && status.lane == lane::INDUSTRIAL {
            for (installation_id, units) in &status.installations {
                upsert_grant(
                    transaction,
                    &status.request_id,
                    installation_id,
                    *units,
                    false,
                    status.at,
                )
                .await?;
            }
        }
        Ok(())
    }
}

async fn upsert_grant(
    transaction: &mut WriteTx,
    request_id: &str,
    installation_id: &str,
    units: i64,
    non_eu_majority: bool,
    decided_at: i64,
) -> ReportingResult<()> {
    sqlx::query(
        "INSERT INTO grants (request_id, installation_id, units, non_eu_majority, decided_at, month) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, installation_id) DO UPDATE SET \
         units = excluded.units, non_eu_majority = excluded.non_eu_majority, decided_at = excluded.decided_at, \
         month = excluded.month",
    )
    .bind(request_id)
    .bind(installation_id)
    .bind(units)
    .bind(i32::from(non_eu_majority))
    .bind(decided_at)
    .bind(month_of(decided_at))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
