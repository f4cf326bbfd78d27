//! Every request the registry's handlers read, decoded from arbitrary bytes and taken through
//! what the handlers do before they reach the store: the conversion into domain fields, the
//! domain's checks, an update's field mask applied to a stored value, the calendar's spans and
//! units, page tokens and the search request. A panic anywhere is a crash; refusals are fine.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use prost::Message;
use rti_fuzz::{caller, mutate, select};
use rti_platform::error::Violations;
use rti_platform::pagination::PageRequest;
use rti_platform::store::{IdempotencyKey, MAX_KEY_CHARS};
use rti_proto::registry as proto;
use rti_registry::convert;
use rti_registry::domain::{apply_mask, availability, calendar, text};
use rti_registry::search::fuzzing::search_request;

/// The message each arm reads, by the input's first byte.
const ARMS: [&str; 13] = [
    "rti.registry.v1.CreateProviderRequest",
    "rti.registry.v1.UpdateProviderRequest",
    "rti.registry.v1.CreateInfrastructureRequest",
    "rti.registry.v1.UpdateInfrastructureRequest",
    "rti.registry.v1.CreateInstallationRequest",
    "rti.registry.v1.UpdateInstallationRequest",
    "rti.registry.v1.SetTariffRequest",
    "rti.registry.v1.AddCapacityWindowRequest",
    "rti.registry.v1.AddDowntimeRequest",
    "rti.registry.v1.GetAvailabilityRequest",
    "rti.registry.v1.ReserveCapacityRequest",
    "rti.registry.v1.ListInstallationsRequest",
    "rti.registry.v1.SearchInstallationsRequest",
];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| { mutate(&ARMS, data, size, max_size, seed) });

fuzz_target!(|data: &[u8]| {
    let Some(input) = select(data, &ARMS) else {
        return;
    };
    let caller = caller();
    let mut violations = Violations::new();
    match input.arm {
        0 => {
            if let Some(message) = input.decode::<proto::CreateProviderRequest>() {
                let _ = IdempotencyKey::of_call(
                    "request_id",
                    "CreateProvider",
                    &caller,
                    &message.request_id,
                    &message.encode_to_vec(),
                    &mut violations,
                );
                if let Some(provider) = &message.provider {
                    convert::provider_fields(provider).validate("provider", &mut violations);
                }
            }
        }
        1 => {
            if let Some(message) = input.decode::<proto::UpdateProviderRequest>() {
                let from = convert::provider_fields(&message.provider.unwrap_or_default());
                let mut stored = convert::provider_fields(&proto::Provider::default());
                apply_mask(&mask_paths(message.update_mask), &mut violations, |path| {
                    stored.set_from(&from, path)
                });
                stored.validate("provider", &mut violations);
            }
        }
        2 => {
            if let Some(message) = input.decode::<proto::CreateInfrastructureRequest>()
                && let Some(infrastructure) = &message.infrastructure
            {
                convert::infrastructure_fields(infrastructure).validate("infrastructure", &mut violations);
            }
        }
        3 => {
            if let Some(message) = input.decode::<proto::UpdateInfrastructureRequest>() {
                let from = convert::infrastructure_fields(&message.infrastructure.unwrap_or_default());
                let mut stored = convert::infrastructure_fields(&proto::Infrastructure::default());
                apply_mask(&mask_paths(message.update_mask), &mut violations, |path| {
                    stored.set_from(&from, path)
                });
                stored.validate("infrastructure", &mut violations);
            }
        }
        4 => {
            if let Some(message) = input.decode::<proto::CreateInstallationRequest>()
                && let Some(installation) = &message.installation
            {
                let mut fields = convert::installation_fields(installation, "installation", &mut violations);
                fields.validate("installation", &mut violations);
                let _ = fields.completeness(false);
                let _ = fields.completeness(true);
            }
        }
        5 => {
            if let Some(message) = input.decode::<proto::UpdateInstallationRequest>() {
                let installation = message.installation.unwrap_or_default();
                let from = convert::installation_fields(&installation, "installation", &mut violations);
                let mut stored = convert::installation_fields(&proto::Installation::default(), "", &mut violations);
                apply_mask(&mask_paths(message.update_mask), &mut violations, |path| {
                    stored.set_from(&from, path)
                });
                stored.validate("installation", &mut violations);
                let _ = stored.completeness(true);
            }
        }
        6 => {
            if let Some(message) = input.decode::<proto::SetTariffRequest>()
                && let Some(tariff) = &message.tariff
            {
                convert::tariff_fields(tariff).validate("tariff", &mut violations);
            }
        }
        7 => {
            if let Some(message) = input.decode::<proto::AddCapacityWindowRequest>() {
                let window = message.window.unwrap_or_default();
                let _ = convert::required_span(
                    window.start_time.as_ref(),
                    window.end_time.as_ref(),
                    "window",
                    &mut violations,
                );
                calendar::units(window.units, "window.units", &mut violations);
            }
        }
        8 => {
            if let Some(message) = input.decode::<proto::AddDowntimeRequest>() {
                let downtime = message.downtime.unwrap_or_default();
                let _ = convert::required_span(
                    downtime.start_time.as_ref(),
                    downtime.end_time.as_ref(),
                    "downtime",
                    &mut violations,
                );
                let mut reason = downtime.reason;
                text(
                    &mut reason,
                    "downtime.reason",
                    true,
                    calendar::MAX_REASON_CHARS,
                    &mut violations,
                );
            }
        }
        9 => {
            if let Some(message) = input.decode::<proto::GetAvailabilityRequest>() {
                let from = convert::required_time(message.from.as_ref(), "from", &mut violations);
                let to = convert::required_time(message.to.as_ref(), "to", &mut violations);
                if let Some(days) = calendar::day_span(from.unwrap_or_default(), to.unwrap_or(1), &mut violations) {
                    let answered = availability(days.first_day, days.last_day, &[], &[]);
                    assert_eq!(answered.len() as i64, days.last_day - days.first_day + 1);
                    let _ = calendar::date_of_day(days.first_day);
                    let _ = calendar::date_of_day(days.last_day);
                }
            }
        }
        10 => {
            if let Some(mut message) = input.decode::<proto::ReserveCapacityRequest>() {
                text(
                    &mut message.reservation_id,
                    "reservation_id",
                    true,
                    MAX_KEY_CHARS,
                    &mut violations,
                );
                calendar::units(message.units, "units", &mut violations);
                text(
                    &mut message.reference,
                    "reference",
                    false,
                    calendar::MAX_REFERENCE_CHARS,
                    &mut violations,
                );
            }
        }
        11 => {
            if let Some(message) = input.decode::<proto::ListInstallationsRequest>() {
                let _ = PageRequest::parse(
                    message.page_size,
                    &message.page_token,
                    &[&message.infrastructure_id],
                    &mut violations,
                );
            }
        }
        _ => {
            if let Some(message) = input.decode::<proto::SearchInstallationsRequest>() {
                let _ = search_request(&message);
            }
        }
    }
});

fn mask_paths(mask: Option<rti_proto::pbjson_types::FieldMask>) -> Vec<String> {
    mask.map(|mask| mask.paths).unwrap_or_default()
}
