//! Tariffs and the capacity calendar in the store. Writes lock the installation's row (on
//! PostgreSQL; SQLite's single writer serialises anyway), so overlap checks cannot race.
//! Reservations never over-book: the window's `reserved_units` only grows through a
//! conditional `UPDATE` that re-checks the free units on the row it locks.

use rti_platform::db::WriteTx;
use rti_platform::time::now_micros;
use rti_proto::common::event::Payload;

use super::rows::{DowntimeRow, ReservationRow, TariffRow, WindowRow};
use super::{Created, IdempotencyKey, NewRecord, RegistryStore, not_found, require_exists};
use crate::convert;
use crate::domain::{
    CapacityWindow, Downtime, DowntimeAdded, NewWindow, RegistryError, RegistryResult, Reservation, ReservationState,
    Tariff, TariffFields, closed_units,
};

/// An installation's windows and downtime in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub windows: Vec<CapacityWindow>,
    pub downtimes: Vec<Downtime>,
}

impl RegistryStore {
    pub async fn set_tariff(
        &self,
        installation_id: &str,
        fields: TariffFields,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<Tariff> {
        let build = || NewTariff {
            tariff: Tariff {
                id: rti_platform::ids::new_id(),
                installation_id: installation_id.to_owned(),
                fields: fields.clone(),
                created_at: now_micros(),
            },
            ended: None,
        };
        match self.create_once(key, build).await? {
            Created::New(created) => Ok(created.tariff),
            Created::Replay(id) => self.get_tariff(&id).await,
        }
    }

    async fn get_tariff(&self, id: &str) -> RegistryResult<Tariff> {
        let row: Option<TariffRow> = sqlx::query_as(sql!("{} WHERE id = $1", TariffRow::SELECT))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(Tariff::try_from)
            .transpose()?
            .ok_or_else(|| not_found("tariff", id))
    }

    /// The installation's tariffs, oldest validity first.
    pub async fn list_tariffs(&self, installation_id: &str) -> RegistryResult<Vec<Tariff>> {
        self.get_installation(installation_id).await?;
        let rows: Vec<TariffRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 ORDER BY valid_from, id",
            TariffRow::SELECT
        ))
        .bind(installation_id)
        .fetch_all(self.database.readers())
        .await?;
        rows.into_iter().map(Tariff::try_from).collect()
    }

    pub async fn add_window(
        &self,
        installation_id: &str,
        window: NewWindow,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<CapacityWindow> {
        let build = || CapacityWindow {
            id: rti_platform::ids::new_id(),
            installation_id: installation_id.to_owned(),
            start: window.start,
            end: window.end,
            units: window.units,
            reserved_units: 0,
            closed_units: 0,
            created_at: now_micros(),
        };
        match self.create_once(key, build).await? {
            Created::New(window) => Ok(window),
            Created::Replay(id) => self.get_window(&id).await,
        }
    }

    pub async fn get_window(&self, id: &str) -> RegistryResult<CapacityWindow> {
        let row: Option<WindowRow> = sqlx::query_as(sql!("{} WHERE id = $1", WindowRow::SELECT))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(CapacityWindow::from)
            .ok_or_else(|| not_found("capacity window", id))
    }

    pub async fn add_downtime(
        &self,
        installation_id: &str,
        (start, end): (i64, i64),
        reason: &str,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<DowntimeAdded> {
        let build = || NewDowntime {
            added: DowntimeAdded {
                downtime: Downtime {
                    id: rti_platform::ids::new_id(),
                    installation_id: installation_id.to_owned(),
                    start,
                    end,
                    reason: reason.to_owned(),
                    created_at: now_micros(),
                },
                windows: Vec::new(),
                affected: Vec::new(),
            },
        };
        match self.create_once(key, build).await? {
            Created::New(created) => Ok(created.added),
            Created::Replay(id) => {
                // The calendar as it is now, around the downtime the first call added.
                let row: Option<DowntimeRow> = sqlx::query_as(sql!("{} WHERE id = $1", DowntimeRow::SELECT))
                    .bind(&id)
                    .fetch_optional(self.database.readers())
                    .await?;
                let downtime = row.map(Downtime::from).ok_or_else(|| not_found("downtime", &id))?;
                let calendar = self.calendar(installation_id, downtime.start, downtime.end).await?;
                let affected = self.active_reservations(&calendar.windows).await?;
                Ok(DowntimeAdded {
                    downtime,
                    windows: calendar.windows,
                    affected,
                })
            }
        }
    }

    /// The windows and downtime of an installation that overlap `[from, to)`, oldest first.
    pub async fn calendar(&self, installation_id: &str, from: i64, to: i64) -> RegistryResult<Calendar> {
        self.get_installation(installation_id).await?;
        let windows: Vec<WindowRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at, id",
            WindowRow::SELECT
        ))
        .bind(installation_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.database.readers())
        .await?;
        let downtimes: Vec<DowntimeRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at, id",
            DowntimeRow::SELECT
        ))
        .bind(installation_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.database.readers())
        .await?;
        Ok(Calendar {
            windows: windows.into_iter().map(CapacityWindow::from).collect(),
            downtimes: downtimes.into_iter().map(Downtime::from).collect(),
        })
    }

    async fn active_reservations(&self, windows: &[CapacityWindow]) -> RegistryResult<Vec<Reservation>> {
        let mut reservations = Vec::new();
        for window in windows {
            let rows: Vec<ReservationRow> = sqlx::query_as(sql!(
                "{} WHERE window_id = $1 AND state = 'active' ORDER BY created_at, reservation_id",
                ReservationRow::SELECT
            ))
            .bind(&window.id)
            .fetch_all(self.database.readers())
            .await?;
            for row in rows {
                reservations.push(Reservation::try_from(row)?);
            }
        }
        Ok(reservations)
    }

    pub async fn get_reservation(&self, reservation_id: &str) -> RegistryResult<Reservation> {
        let row: Option<ReservationRow> = sqlx::query_as(sql!("{} WHERE reservation_id = $1", ReservationRow::SELECT))
            .bind(reservation_id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(Reservation::try_from)
            .transpose()?
            .ok_or_else(|| not_found("reservation", reservation_id))
    }

    /// Takes `units` from the window, once per `reservation_id`. The reservation row is
    /// inserted first: a concurrent call with the same id waits on its primary key and then
    /// finds it, so a retry never takes units twice. The window's units are taken by one
    /// conditional `UPDATE`, which PostgreSQL re-evaluates on the latest row version after
    /// waiting for the row lock, so concurrent reservations never take more than is free.
    pub async fn reserve(
        &self,
        reservation_id: &str,
        window_id: &str,
        units: i64,
        reference: &str,
    ) -> RegistryResult<Reservation> {
        let window = self.get_window(window_id).await?;
        let now = now_micros();
        let reservation = Reservation {
            reservation_id: reservation_id.to_owned(),
            window_id: window_id.to_owned(),
            installation_id: window.installation_id.clone(),
            units,
            reference: reference.to_owned(),
            state: ReservationState::Active,
            created_at: now,
            released_at: None,
        };
        let mut transaction = self.database.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO reservations (reservation_id, window_id, installation_id, units, reference, state, \
             created_at) VALUES ($1, $2, $3, $4, $5, 'active', $6) ON CONFLICT (reservation_id) DO NOTHING",
        )
        .bind(&reservation.reservation_id)
        .bind(&reservation.window_id)
        .bind(&reservation.installation_id)
        .bind(reservation.units)
        .bind(&reservation.reference)
        .bind(reservation.created_at)
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            transaction.rollback().await?;
            return self.replay_reservation(&reservation).await;
        }
        let taken = sqlx::query(
            "UPDATE capacity_windows SET reserved_units = reserved_units + $2 \
             WHERE id = $1 AND end_at > $3 AND units - closed_units - reserved_units >= $2",
        )
        .bind(window_id)
        .bind(units)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if taken.rows_affected() == 0 {
            transaction.rollback().await?;
            let window = self.get_window(window_id).await?;
            if window.end <= now {
                return Err(RegistryError::Conflict(format!(
                    "capacity window {window_id} has ended; reserve in a later window"
                )));
            }
            return Err(RegistryError::Conflict(format!(
                "capacity window {window_id} has {} free units; {units} were asked for",
                window.free_units()
            )));
        }
        let window = window_with_taken(window, units);
        let payload = convert::capacity_reserved(&reservation, &window);
        self.outbox
            .append(&mut transaction, &reservation.reservation_id, payload)
            .await?;
        self.outbox.commit(transaction).await?;
        Ok(reservation)
    }

    /// The reservation a retry asks for again: the same one when window and units match.
    async fn replay_reservation(&self, asked: &Reservation) -> RegistryResult<Reservation> {
        let existing = self.get_reservation(&asked.reservation_id).await?;
        if existing.window_id != asked.window_id || existing.units != asked.units {
            return Err(RegistryError::AlreadyExists(format!(
                "reservation_id {} already reserves {} units in window {}",
                existing.reservation_id, existing.units, existing.window_id
            )));
        }
        Ok(existing)
    }

    /// Gives a reservation's units back, once; a released reservation is returned as it is.
    pub async fn release(&self, reservation_id: &str) -> RegistryResult<Reservation> {
        let mut transaction = self.database.begin_write().await?;
        let now = now_micros();
        let released = sqlx::query(
            "UPDATE reservations SET state = 'released', released_at = $2 \
             WHERE reservation_id = $1 AND state = 'active'",
        )
        .bind(reservation_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if released.rows_affected() == 0 {
            transaction.rollback().await?;
            return self.get_reservation(reservation_id).await;
        }
        let row: ReservationRow = sqlx::query_as(sql!("{} WHERE reservation_id = $1", ReservationRow::SELECT))
            .bind(reservation_id)
            .fetch_one(&mut *transaction)
            .await?;
        let reservation = Reservation::try_from(row)?;
        sqlx::query("UPDATE capacity_windows SET reserved_units = reserved_units - $2 WHERE id = $1")
            .bind(&reservation.window_id)
            .bind(reservation.units)
            .execute(&mut *transaction)
            .await?;
        let window: WindowRow = sqlx::query_as(sql!("{} WHERE id = $1", WindowRow::SELECT))
            .bind(&reservation.window_id)
            .fetch_one(&mut *transaction)
            .await?;
        let payload = convert::capacity_released(&reservation, &CapacityWindow::from(window));
        self.outbox
            .append(&mut transaction, &reservation.reservation_id, payload)
            .await?;
        self.outbox.commit(transaction).await?;
        Ok(reservation)
    }
}

fn window_with_taken(mut window: CapacityWindow, units: i64) -> CapacityWindow {
    window.reserved_units += units;
    window
}

/// A tariff, and the open-ended tariff it ends, if any.
struct NewTariff {
    tariff: Tariff,
    ended: Option<Tariff>,
}

impl NewRecord for NewTariff {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.tariff.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> RegistryResult<Option<Payload>> {
        require_exists(
            transaction,
            "installations",
            "installation",
            &self.tariff.installation_id,
            lock,
        )
        .await?;
        let tariff = &self.tariff;
        let (from, to) = (tariff.valid_from(), tariff.valid_to());
        let rows: Vec<TariffRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 ORDER BY valid_from, id",
            TariffRow::SELECT
        ))
        .bind(&tariff.installation_id)
        .fetch_all(&mut **transaction)
        .await?;
        for existing in rows.into_iter().map(Tariff::try_from) {
            let existing = existing?;
            let overlaps = existing.valid_from() < to && from < existing.valid_to();
            if !overlaps {
                continue;
            }
            if existing.fields.valid_to.is_none() && existing.valid_from() < from {
                sqlx::query("UPDATE tariffs SET valid_to = $2 WHERE id = $1")
                    .bind(&existing.id)
                    .bind(from)
                    .execute(&mut **transaction)
                    .await?;
                let mut ended = existing;
                ended.fields.valid_to = Some(from);
                self.ended = Some(ended);
                continue;
            }
            return Err(RegistryError::Conflict(format!(
                "tariff {} is valid in the same period; choose a valid_from after it ends",
                existing.id
            )));
        }
        sqlx::query(
            "INSERT INTO tariffs (id, installation_id, currency, price_minor_units, basis, valid_from, valid_to, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&tariff.id)
        .bind(&tariff.installation_id)
        .bind(&tariff.fields.currency)
        .bind(tariff.fields.price_minor_units)
        .bind(tariff.fields.basis.map(|basis| basis.as_stored()).unwrap_or_default())
        .bind(from)
        .bind(tariff.fields.valid_to)
        .bind(tariff.created_at)
        .execute(&mut **transaction)
        .await?;
        Ok(Some(convert::tariff_set(&self.tariff, self.ended.as_ref())))
    }
}

impl NewRecord for CapacityWindow {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> RegistryResult<Option<Payload>> {
        require_exists(
            transaction,
            "installations",
            "installation",
            &self.installation_id,
            lock,
        )
        .await?;
        let in_the_way: Option<WindowRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at LIMIT 1",
            WindowRow::SELECT
        ))
        .bind(&self.installation_id)
        .bind(self.start)
        .bind(self.end)
        .fetch_optional(&mut **transaction)
        .await?;
        if let Some(window) = in_the_way {
            return Err(RegistryError::Conflict(format!(
                "capacity window {} overlaps the new window; windows of one installation never overlap",
                window.id
            )));
        }
        // Downtime added before the window already closes part of it.
        let downtimes = downtime_spans(transaction, &self.installation_id, self.start, self.end).await?;
        self.closed_units = closed_units(self, &downtimes);
        sqlx::query(
            "INSERT INTO capacity_windows (id, installation_id, start_at, end_at, units, reserved_units, \
             closed_units, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        )
        .bind(&self.id)
        .bind(&self.installation_id)
        .bind(self.start)
        .bind(self.end)
        .bind(self.units)
        .bind(self.closed_units)
        .bind(self.created_at)
        .execute(&mut **transaction)
        .await?;
        Ok(Some(convert::capacity_window_added(self)))
    }
}

struct NewDowntime {
    added: DowntimeAdded,
}

impl NewRecord for NewDowntime {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.added.downtime.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> RegistryResult<Option<Payload>> {
        require_exists(
            transaction,
            "installations",
            "installation",
            &self.added.downtime.installation_id,
            lock,
        )
        .await?;
        let downtime = &self.added.downtime;
        sqlx::query(
            "INSERT INTO downtimes (id, installation_id, start_at, end_at, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&downtime.id)
        .bind(&downtime.installation_id)
        .bind(downtime.start)
        .bind(downtime.end)
        .bind(&downtime.reason)
        .bind(downtime.created_at)
        .execute(&mut **transaction)
        .await?;
        let windows: Vec<WindowRow> = sqlx::query_as(sql!(
            "{} WHERE installation_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at, id",
            WindowRow::SELECT
        ))
        .bind(&downtime.installation_id)
        .bind(downtime.start)
        .bind(downtime.end)
        .fetch_all(&mut **transaction)
        .await?;
        for window in windows.into_iter().map(CapacityWindow::from) {
            let spans = downtime_spans(transaction, &window.installation_id, window.start, window.end).await?;
            let window = CapacityWindow {
                closed_units: closed_units(&window, &spans),
                ..window
            };
            sqlx::query("UPDATE capacity_windows SET closed_units = $2 WHERE id = $1")
                .bind(&window.id)
                .bind(window.closed_units)
                .execute(&mut **transaction)
                .await?;
            let reservations: Vec<ReservationRow> = sqlx::query_as(sql!(
                "{} WHERE window_id = $1 AND state = 'active' ORDER BY created_at, reservation_id",
                ReservationRow::SELECT
            ))
            .bind(&window.id)
            .fetch_all(&mut **transaction)
            .await?;
            for row in reservations {
                self.added.affected.push(Reservation::try_from(row)?);
            }
            self.added.windows.push(window);
        }
        Ok(Some(convert::downtime_added(&self.added)))
    }
}

/// The downtime of an installation overlapping `[start, end)`, as spans.
async fn downtime_spans(
    transaction: &mut WriteTx,
    installation_id: &str,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows: Vec<DowntimeRow> = sqlx::query_as(sql!(
        "{} WHERE installation_id = $1 AND start_at < $3 AND end_at > $2",
        DowntimeRow::SELECT
    ))
    .bind(installation_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **transaction)
    .await?;
    Ok(rows.iter().map(|row| (row.start_at, row.end_at)).collect())
}
