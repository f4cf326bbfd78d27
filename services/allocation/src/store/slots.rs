//! Slots: an offer is written PENDING before the registry is asked for the units, and HELD after.
//! A crash in between leaves a PENDING row whose reservation id is the slot id, so the sweeper can
//! release it in the registry (idempotently) and end the slot: no reservation is ever orphaned.

use rti_platform::time::now_micros;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AllocationStore, from_json, sql_list};
use crate::convert::{self, SlotStep};
use crate::domain::slots::{NewOffer, Slot, SlotUpdate};
use crate::domain::{Lane, SlotStatus};
use crate::error::{AllocationError, AllocationResult};

const SLOT_COLUMNS: &str = "id, access_request_id, installation_id, window_id, units, status, expire_at, \
    delivered_units, lost_units, lost_reason, reason, created_at, updated_at, infrastructure_id, suspended_reason";

/// What `begin_offer` found.
#[derive(Debug)]
pub enum OfferStart {
    /// A new PENDING slot: reserve in the registry, then move it to HELD.
    New(Slot),
    /// The offer key was used before: this slot (pending ones are resumed by the caller).
    Existing(Slot),
}

fn slot_from_row(row: &AnyRow) -> AllocationResult<Slot> {
    let status: String = row.try_get(5)?;
    Ok(Slot {
        id: row.try_get(0)?,
        access_request_id: row.try_get(1)?,
        installation_id: row.try_get(2)?,
        window_id: row.try_get(3)?,
        units: row.try_get(4)?,
        status: SlotStatus::from_stored(&status)
            .ok_or_else(|| AllocationError::Corrupt(format!("a slot has the unknown status {status:?}")))?,
        expire_at: row.try_get(6)?,
        lane: None,
        delivered_units: row.try_get(7)?,
        lost_units: row.try_get(8)?,
        lost_reason: row.try_get(9)?,
        reason: row.try_get(10)?,
        created_at: row.try_get(11)?,
        updated_at: row.try_get(12)?,
        infrastructure_id: row.try_get(13)?,
        suspended_reason: row.try_get(14)?,
    })
}

impl AllocationStore {
    /// Writes a PENDING slot once per offer key, if the units fit in what the proposal is
    /// entitled to beside its live slots (checked under the proposal's row lock).
    pub async fn begin_offer(&self, offer: &NewOffer) -> AllocationResult<OfferStart> {
        let mut transaction = self.database.begin_write().await?;
        if let Some(existing) = self.slot_by_key(&mut transaction, &offer.offer_key).await? {
            transaction.rollback().await?;
            if !offer.repeats(&existing) {
                return Err(rti_platform::error::InvalidInput::single(
                    "request_id",
                    "was already used for another offer",
                )
                .into());
            }
            return Ok(OfferStart::Existing(existing));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM proposals WHERE id = $1{}",
            self.database.lock_clause()
        )))
        .bind(&offer.proposal_id)
        .fetch_one(&mut *transaction)
        .await?;
        let live = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM slots WHERE access_request_id = $1 \
             AND installation_id = $2 AND status IN ({})",
            sql_list(&SlotStatus::LIVE)
        )))
        .bind(&offer.proposal_id)
        .bind(&offer.installation_id)
        .fetch_one(&mut *transaction)
        .await?
        .try_get::<i64, _>(0)?;
        if live
            .checked_add(offer.units)
            .is_none_or(|total| total > offer.entitled_units)
        {
            return Err(AllocationError::FailedPrecondition(format!(
                "{} units do not fit: request {} may have {} units at installation {} and {} are already offered",
                offer.units, offer.proposal_id, offer.entitled_units, offer.installation_id, live
            )));
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO slots (id, offer_key, access_request_id, installation_id, infrastructure_id, window_id, \
             units, status, expire_at, delivered_units, lost_units, lost_reason, reason, released, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, '', '', 0, $10, $10)",
        )
        .bind(&offer.slot_id)
        .bind(&offer.offer_key)
        .bind(&offer.proposal_id)
        .bind(&offer.installation_id)
        .bind(&offer.infrastructure_id)
        .bind(&offer.window_id)
        .bind(offer.units)
        .bind(SlotStatus::Pending.as_stored())
        .bind(offer.expire_at)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(OfferStart::New(self.get_slot(&offer.slot_id).await?))
    }

    async fn slot_by_key(
        &self,
        transaction: &mut rti_platform::db::WriteTx,
        offer_key: &str,
    ) -> AllocationResult<Option<Slot>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLOT_COLUMNS} FROM slots WHERE offer_key = $1"
        )))
        .bind(offer_key)
        .fetch_optional(&mut **transaction)
        .await?;
        row.as_ref().map(slot_from_row).transpose()
    }

    /// A slot with its request's lane.
    pub async fn get_slot(&self, id: &str) -> AllocationResult<Slot> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| AllocationError::not_found("slot", id))?;
        let mut slot = slot_from_row(&row)?;
        self.fill_lane(&mut slot).await?;
        Ok(slot)
    }

    /// Reads the lane of the slot's request.
    async fn fill_lane(&self, slot: &mut Slot) -> AllocationResult<()> {
        let row = sqlx::query("SELECT lane FROM proposals WHERE id = $1")
            .bind(&slot.access_request_id)
            .fetch_one(self.database.readers())
            .await?;
        slot.lane = Lane::from_stored(&row.try_get::<String, _>(0)?);
        Ok(())
    }

    /// A request's slots, by id.
    pub async fn slots_of(&self, access_request_id: &str) -> AllocationResult<Vec<Slot>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLOT_COLUMNS} FROM slots WHERE access_request_id = $1 ORDER BY id"
        )))
        .bind(access_request_id)
        .fetch_all(self.database.readers())
        .await?;
        let mut slots = rows.iter().map(slot_from_row).collect::<AllocationResult<Vec<_>>>()?;
        for slot in &mut slots {
            self.fill_lane(slot).await?;
        }
        Ok(slots)
    }

    /// Ids of slots in `status` whose time is up: PENDING ones created before `before` (an
    /// interrupted offer), HELD ones whose hold expired before `before`.
    pub async fn slots_due(&self, status: SlotStatus, before: i64) -> AllocationResult<Vec<String>> {
        let column = if status == SlotStatus::Pending {
            "created_at"
        } else {
            "expire_at"
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM slots WHERE status = $1 AND {column} < $2 ORDER BY id LIMIT 500"
        )))
        .bind(status.as_stored())
        .bind(before)
        .fetch_all(self.database.readers())
        .await?
        .iter()
        .map(|row| Ok(row.try_get(0)?))
        .collect()
    }

    /// Moves a slot from one of `from` to `to` with `update`, and writes its event; refused
    /// with the slot's actual state when it is in none of `from` (a concurrent change won).
    pub async fn transition(
        &self,
        slot_id: &str,
        from: &[SlotStatus],
        to: SlotStatus,
        update: SlotUpdate,
    ) -> AllocationResult<Slot> {
        let mut transaction = self.database.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1{}",
            self.database.lock_clause()
        )))
        .bind(slot_id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| AllocationError::not_found("slot", slot_id))?;
        let before = slot_from_row(&row)?;
        if let Some(refusal) = before.suspension_refusal(to) {
            transaction.rollback().await?;
            return Err(AllocationError::FailedPrecondition(refusal));
        }
        if !from.contains(&before.status) {
            transaction.rollback().await?;
            let shown = if before.pending() {
                "being offered"
            } else {
                before.status.as_stored()
            };
            let needed: Vec<&str> = from.iter().map(|status| status.as_stored()).collect();
            return Err(AllocationError::FailedPrecondition(format!(
                "slot {slot_id} is {shown}; this step needs it {}",
                needed.join(" or ")
            )));
        }
        let now = now_micros();
        sqlx::query(
            "UPDATE slots SET status = $2, delivered_units = $3, lost_units = $4, lost_reason = $5, reason = $6, \
             updated_at = $7 WHERE id = $1",
        )
        .bind(slot_id)
        .bind(to.as_stored())
        .bind(update.delivered_units.unwrap_or(before.delivered_units))
        .bind(update.lost_units.unwrap_or(before.lost_units))
        .bind(update.lost_reason.clone().unwrap_or(before.lost_reason.clone()))
        .bind(update.reason.clone().unwrap_or(before.reason.clone()))
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let proposal_row = sqlx::query("SELECT body FROM proposals WHERE id = $1")
            .bind(&before.access_request_id)
            .fetch_one(&mut *transaction)
            .await?;
        let proposal = convert::proposal_from_proto(&from_json(&proposal_row.try_get::<String, _>(0)?)?);
        let request_scheduled = to == SlotStatus::Confirmed
            && confirmed_parts(&mut *transaction, &proposal.id).await? == proposal.requested.len();
        let step = SlotStep {
            to,
            request_scheduled,
            delivered_units: update.delivered_units.unwrap_or(0),
            lost_units: update.lost_units.unwrap_or(0),
            at: now,
        };
        let event = convert::slot_status_changed(&before, &proposal, step);
        self.finish(transaction, vec![(slot_id.to_owned(), event)]).await?;
        self.get_slot(slot_id).await
    }

    /// Ended slots (declined, expired) whose registry reservation is not yet known to be released.
    pub async fn unreleased(&self) -> AllocationResult<Vec<String>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM slots WHERE released = 0 AND status IN ({}) ORDER BY id LIMIT 500",
            sql_list(&SlotStatus::ENDED)
        )))
        .fetch_all(self.database.readers())
        .await?
        .iter()
        .map(|row| Ok(row.try_get(0)?))
        .collect()
    }

    /// Records that the registry released the slot's reservation.
    pub async fn mark_released(&self, slot_id: &str) -> AllocationResult<()> {
        let mut transaction = self.database.begin_write().await?;
        sqlx::query("UPDATE slots SET released = 1 WHERE id = $1")
            .bind(slot_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Whether every requested installation of a request has a confirmed or delivered slot.
    pub async fn scheduled(&self, access_request_id: &str, requested_installations: usize) -> AllocationResult<bool> {
        Ok(confirmed_parts(self.database.readers(), access_request_id).await? == requested_installations)
    }
}

/// How many installations of a request have a confirmed or delivered slot (slots are only ever
/// offered for requested installations).
async fn confirmed_parts<'c, E>(executor: E, access_request_id: &str) -> AllocationResult<usize>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(DISTINCT installation_id) FROM slots WHERE access_request_id = $1 AND status IN ({})",
        sql_list(&SlotStatus::BOOKED)
    )))
    .bind(access_request_id)
    .fetch_one(executor)
    .await?;
    Ok(usize::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}
