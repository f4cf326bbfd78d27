//! Every request reporting's handlers read, decoded from arbitrary bytes: usage records checked
//! field by field and then against an entitlement (TA-10), statistics queries checked by the
//! domain, periods, the researcher-count import's request; and the other services' events read
//! into the projections' changes. A panic anywhere is a crash; refusals are fine.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use rti_fuzz::{mutate, select};
use rti_platform::error::Violations;
use rti_proto::common::Event;
use rti_proto::reporting as proto;
use rti_reporting::domain::query::StatisticsQuery;
use rti_reporting::domain::researchers;
use rti_reporting::domain::usage::{self, Entitlement, SlotPeriod};
use rti_reporting::feeds::fuzzing::change_of;
use rti_reporting::grpc::fuzzing as read;

/// The message each arm reads, by the input's first byte.
const ARMS: [&str; 7] = [
    "rti.reporting.v1.RecordUsageRequest",
    "rti.reporting.v1.UsageRecord",
    "rti.reporting.v1.QueryUsageStatisticsRequest",
    "rti.reporting.v1.GetInfrastructuresTablesRequest",
    "rti.reporting.v1.GetInstallationKpisRequest",
    "rti.reporting.v1.ImportResearcherCountsRequest",
    "rti.common.v1.Event",
];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| { mutate(&ARMS, data, size, max_size, seed) });

fuzz_target!(|data: &[u8]| {
    let Some(input) = select(data, &ARMS) else {
        return;
    };
    let mut violations = Violations::new();
    match input.arm {
        0 => {
            if let Some(message) = input.decode::<proto::RecordUsageRequest>() {
                let record = message.record.unwrap_or_default();
                if let Some(record) = read::usage_record(&record, "record.", &mut violations) {
                    check_usage(&record);
                }
            }
        }
        1 => {
            // One message of `IngestUsage`'s client stream.
            if let Some(message) = input.decode::<proto::UsageRecord>()
                && let Some(record) = read::usage_record(&message, "", &mut violations)
            {
                check_usage(&record);
            }
        }
        2 => {
            if let Some(message) = input.decode::<proto::QueryUsageStatisticsRequest>()
                && let Ok(query) = StatisticsQuery::parse(read::query_input(message))
            {
                let _ = read::csv_header(&query.group_by, &query.measures);
            }
        }
        3 => {
            if let Some(message) = input.decode::<proto::GetInfrastructuresTablesRequest>() {
                let _ = rti_platform::validate::text(
                    &message.grant_agreement,
                    "grant_agreement",
                    64,
                    true,
                    &mut violations,
                );
                let _ = read::period(message.from.as_ref(), message.to.as_ref(), &mut violations);
            }
        }
        4 => {
            if let Some(message) = input.decode::<proto::GetInstallationKpisRequest>() {
                rti_platform::validate::reference(&message.installation_id, "installation_id", &mut violations);
                let _ = read::period(message.from.as_ref(), message.to.as_ref(), &mut violations);
            }
        }
        5 => {
            if let Some(message) = input.decode::<proto::ImportResearcherCountsRequest>() {
                let source = rti_platform::validate::text(&message.source, "source", 300, true, &mut violations);
                let _ = researchers::parse_any(&message.content, &source);
            }
        }
        _ => {
            if let Some(event) = input.decode::<Event>() {
                let _ = change_of(&event);
            }
        }
    }
});

/// A record that reads well, checked against an entitlement that holds a slot around it and
/// against one that names no slot, as the operation checks it.
fn check_usage(record: &usage::UsageRecord) {
    let _ = record.fingerprint();
    let _ = usage::period_days(record.period_start, record.period_end);
    let entitlement = Entitlement {
        lane: "transnational".to_owned(),
        requested_here: true,
        granted_units: 10,
        delivered_units: 12,
        used_units: 3,
        slots: vec![SlotPeriod {
            slot_id: record.slot_id.clone(),
            starts_at: record.period_start,
            ends_at: record.period_end,
        }],
        infrastructure_id: None,
    };
    let _ = usage::check(record, Some(&entitlement));
    let without_slots = Entitlement {
        slots: Vec::new(),
        ..entitlement
    };
    let _ = usage::check(record, Some(&without_slots));
}
