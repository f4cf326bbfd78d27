//! The calendar's handlers: tariffs, capacity windows, downtime, availability and reservations,
//! each for the operator of the installation's infrastructure (or an admin).

use prost::Message;
use rti_platform::auth::Role;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::server::caller;
use rti_platform::store::{IdempotencyKey, MAX_KEY_CHARS};
use rti_proto::registry as proto;
use tonic::{Request, Response, Status};

use super::{RegistryApi, require_id, required};
use crate::convert;
use crate::domain::{NewWindow, RegistryError, availability, calendar, text};

pub(super) async fn set_tariff(
    api: &RegistryApi,
    request: Request<proto::SetTariffRequest>,
) -> Result<Response<proto::Tariff>, Status> {
    let caller = caller(&request)?;
    let message = request.into_inner();
    let installation_id = message
        .tariff
        .as_ref()
        .map(|tariff| tariff.installation_id.clone())
        .unwrap_or_default();
    api.operated_installation(&caller, &installation_id, "tariff.installation_id")
        .await?;
    let mut violations = Violations::new();
    let key = IdempotencyKey::of_call(
        "request_id",
        "SetTariff",
        &caller,
        &message.request_id,
        &message.encode_to_vec(),
        &mut violations,
    );
    let mut fields = required(message.tariff.as_ref(), "tariff", &mut violations).map(convert::tariff_fields);
    if let Some(fields) = fields.as_mut() {
        fields.validate("tariff", &mut violations);
    }
    violations.into_result()?;
    let fields = fields.ok_or_else(|| InvalidInput::single("tariff", "is required"))?;
    let tariff = api.store.set_tariff(&installation_id, fields, key.as_ref()).await?;
    Ok(Response::new(convert::tariff(&tariff)))
}

pub(super) async fn list_tariffs(
    api: &RegistryApi,
    request: Request<proto::ListTariffsRequest>,
) -> Result<Response<proto::ListTariffsResponse>, Status> {
    let installation_id = request.into_inner().installation_id;
    let mut violations = Violations::new();
    require_id(&installation_id, "installation_id", &mut violations);
    violations.into_result()?;
    let tariffs = api.store.list_tariffs(&installation_id).await?;
    Ok(Response::new(proto::ListTariffsResponse {
        tariffs: tariffs.iter().map(convert::tariff).collect(),
    }))
}

pub(super) async fn add_capacity_window(
    api: &RegistryApi,
    request: Request<proto::AddCapacityWindowRequest>,
) -> Result<Response<proto::CapacityWindow>, Status> {
    let caller = caller(&request)?;
    let message = request.into_inner();
    let installation_id = message
        .window
        .as_ref()
        .map(|window| window.installation_id.clone())
        .unwrap_or_default();
    api.operated_installation(&caller, &installation_id, "window.installation_id")
        .await?;
    let mut violations = Violations::new();
    let key = IdempotencyKey::of_call(
        "request_id",
        "AddCapacityWindow",
        &caller,
        &message.request_id,
        &message.encode_to_vec(),
        &mut violations,
    );
    let window = required(message.window.as_ref(), "window", &mut violations).and_then(|window| {
        let span = convert::required_span(
            window.start_time.as_ref(),
            window.end_time.as_ref(),
            "window",
            &mut violations,
        );
        calendar::units(window.units, "window.units", &mut violations);
        let (start, end) = span?;
        Some(NewWindow {
            start,
            end,
            units: window.units,
        })
    });
    violations.into_result()?;
    let window = window.ok_or_else(|| InvalidInput::single("window", "is required"))?;
    let window = api.store.add_window(&installation_id, window, key.as_ref()).await?;
    Ok(Response::new(convert::window(&window)))
}

pub(super) async fn add_downtime(
    api: &RegistryApi,
    request: Request<proto::AddDowntimeRequest>,
) -> Result<Response<proto::AddDowntimeResponse>, Status> {
    let caller = caller(&request)?;
    let message = request.into_inner();
    let installation_id = message
        .downtime
        .as_ref()
        .map(|downtime| downtime.installation_id.clone())
        .unwrap_or_default();
    api.operated_installation(&caller, &installation_id, "downtime.installation_id")
        .await?;
    let mut violations = Violations::new();
    let key = IdempotencyKey::of_call(
        "request_id",
        "AddDowntime",
        &caller,
        &message.request_id,
        &message.encode_to_vec(),
        &mut violations,
    );
    let downtime = required(message.downtime.as_ref(), "downtime", &mut violations);
    let mut reason = downtime.map(|downtime| downtime.reason.clone()).unwrap_or_default();
    let span = downtime.and_then(|downtime| {
        convert::required_span(
            downtime.start_time.as_ref(),
            downtime.end_time.as_ref(),
            "downtime",
            &mut violations,
        )
    });
    text(
        &mut reason,
        "downtime.reason",
        true,
        calendar::MAX_REASON_CHARS,
        &mut violations,
    );
    violations.into_result()?;
    let span = span.ok_or_else(|| InvalidInput::single("downtime", "is required"))?;
    let added = api
        .store
        .add_downtime(&installation_id, span, &reason, key.as_ref())
        .await?;
    Ok(Response::new(convert::downtime_added_response(&added)))
}

pub(super) async fn get_availability(
    api: &RegistryApi,
    request: Request<proto::GetAvailabilityRequest>,
) -> Result<Response<proto::GetAvailabilityResponse>, Status> {
    let message = request.into_inner();
    let mut violations = Violations::new();
    require_id(&message.installation_id, "installation_id", &mut violations);
    let from = convert::required_time(message.from.as_ref(), "from", &mut violations);
    let to = convert::required_time(message.to.as_ref(), "to", &mut violations);
    let days = calendar::day_span(from.unwrap_or_default(), to.unwrap_or(1), &mut violations);
    violations.into_result()?;
    let days = days.ok_or_else(|| InvalidInput::single("to", "must be after from"))?;
    let calendar = api
        .store
        .calendar(&message.installation_id, days.start, days.end)
        .await?;
    let spans: Vec<(i64, i64)> = calendar.downtimes.iter().map(|d| (d.start, d.end)).collect();
    let days = availability(days.first_day, days.last_day, &calendar.windows, &spans)
        .into_iter()
        .map(|day| proto::DayAvailability {
            date: calendar::date_of_day(day.day),
            free_units: day.free_units,
            capacity_units: day.capacity_units,
            downtime: day.downtime,
        })
        .collect();
    Ok(Response::new(proto::GetAvailabilityResponse {
        days,
        windows: calendar.windows.iter().map(convert::window).collect(),
        downtime: calendar.downtimes.iter().map(convert::downtime).collect(),
    }))
}

pub(super) async fn reserve_capacity(
    api: &RegistryApi,
    request: Request<proto::ReserveCapacityRequest>,
) -> Result<Response<proto::Reservation>, Status> {
    let caller = caller(&request)?;
    let mut message = request.into_inner();
    let mut violations = Violations::new();
    text(
        &mut message.reservation_id,
        "reservation_id",
        true,
        MAX_KEY_CHARS,
        &mut violations,
    );
    require_id(&message.window_id, "window_id", &mut violations);
    require_id(&message.installation_id, "installation_id", &mut violations);
    calendar::units(message.units, "units", &mut violations);
    text(
        &mut message.reference,
        "reference",
        false,
        calendar::MAX_REFERENCE_CHARS,
        &mut violations,
    );
    violations.into_result()?;
    // Who may reserve here is answered before whether the window exists.
    if !caller.has_role(Role::Service) {
        api.operated_installation(&caller, &message.installation_id, "installation_id")
            .await?;
    }
    // Whoever asks, the suite's services included: a window of another installation is refused,
    // so that no caller can hold a competitor's capacity by naming its window (window ids are
    // public through GetAvailability).
    let window = api.store.get_window(&message.window_id).await?;
    if window.installation_id != message.installation_id {
        return Err(InvalidInput::single(
            "window_id",
            format!("is not a window of installation {}", message.installation_id),
        )
        .into());
    }
    let reservation = api
        .store
        .reserve(
            &message.reservation_id,
            &message.window_id,
            message.units,
            &message.reference,
        )
        .await?;
    Ok(Response::new(convert::reservation(&reservation)))
}

pub(super) async fn release_capacity(
    api: &RegistryApi,
    request: Request<proto::ReleaseCapacityRequest>,
) -> Result<Response<proto::Reservation>, Status> {
    let caller = caller(&request)?;
    let reservation_id = request.into_inner().reservation_id;
    let mut violations = Violations::new();
    require_id(&reservation_id, "reservation_id", &mut violations);
    violations.into_result()?;
    let existing = match api.store.get_reservation(&reservation_id).await {
        Ok(existing) => existing,
        // Issue 13, item 5: who may release is answered before whether the reservation exists,
        // so an operator cannot probe other installations' reservation ids. Admins and the
        // suite's services, who may release any reservation, hear NOT_FOUND.
        Err(RegistryError::NotFound { .. }) if !caller.is_admin() && !caller.has_role(Role::Service) => {
            return Err(RegistryError::PermissionDenied(format!(
                "reservation {reservation_id:?} is not one of your installations'"
            ))
            .into());
        }
        Err(error) => return Err(error.into()),
    };
    if !caller.has_role(Role::Service) {
        api.operated_installation(&caller, &existing.installation_id, "reservation_id")
            .await?;
    }
    let reservation = api.store.release(&reservation_id).await?;
    Ok(Response::new(convert::reservation(&reservation)))
}
