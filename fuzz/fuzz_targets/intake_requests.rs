//! Every request intake's handlers read, decoded from arbitrary bytes and read into the
//! operations' commands, then through the pure rules the operations apply first (SME-1 to SME-4,
//! the decision clock's bounds, the sanctions list's parsing); and the records intake keeps as
//! protobuf JSON, read back and written again. A panic anywhere is a crash; refusals are fine.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use rti_fuzz::{assert_same, caller, mutate, select};
use rti_intake::convert::{
    organisation_from_proto, organisation_to_proto, quote_from_proto, quote_to_proto, screening_from_proto,
    screening_to_proto,
};
use rti_intake::domain::organisation::assess;
use rti_intake::domain::sanctions;
use rti_intake::domain::sme::SMALL_MID_CAP_2025_1099;
use rti_intake::grpc::fuzzing as read;
use rti_proto::intake as proto;

/// 2026-12-01 at midnight UTC: a fixed "today", so that a crash reproduces.
const TODAY: i64 = 1_796_083_200_000_000;
/// The start-up age limit the service is configured with by default (SME-4).
const START_UP_MAX_AGE_YEARS: u32 = 10;

/// The message each arm reads, by the input's first byte.
const ARMS: [&str; 14] = [
    "rti.intake.v1.RegisterOrganisationRequest",
    "rti.intake.v1.RegisterPersonRequest",
    "rti.intake.v1.CreateUserGroupRequest",
    "rti.intake.v1.ListAgreementTemplatesRequest",
    "rti.intake.v1.CreateAccessRequestRequest",
    "rti.intake.v1.ListAccessRequestsRequest",
    "rti.intake.v1.DeclineAccessRequestRequest",
    "rti.intake.v1.SetDecisionClockRequest",
    "rti.intake.v1.ListOverdueRequestsRequest",
    "rti.intake.v1.ReviewScreeningRequest",
    "rti.intake.v1.ImportSanctionsListRequest",
    "rti.intake.v1.Organisation",
    "rti.intake.v1.Quote",
    "rti.intake.v1.Screening",
];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| { mutate(&ARMS, data, size, max_size, seed) });

fuzz_target!(|data: &[u8]| {
    let Some(input) = select(data, &ARMS) else {
        return;
    };
    let caller = caller();
    match input.arm {
        0 => {
            if let Some(message) = input.decode::<proto::RegisterOrganisationRequest>() {
                let command = read::register_organisation(&caller, &message, TODAY);
                if let Ok(profile) = command.profile.into_result() {
                    let _ = assess(&profile, SMALL_MID_CAP_2025_1099, START_UP_MAX_AGE_YEARS, TODAY);
                }
            }
        }
        1 => {
            if let Some(message) = input.decode::<proto::RegisterPersonRequest>() {
                let _ = read::register_person(&caller, &message);
            }
        }
        2 => {
            if let Some(message) = input.decode::<proto::CreateUserGroupRequest>() {
                let _ = read::create_user_group(&caller, &message);
            }
        }
        3 => {
            if let Some(message) = input.decode::<proto::ListAgreementTemplatesRequest>() {
                let _ = read::agreement_kind_filter(&message);
            }
        }
        4 => {
            if let Some(message) = input.decode::<proto::CreateAccessRequestRequest>() {
                let _ = read::create_access_request(&caller, &message);
            }
        }
        5 => {
            if let Some(message) = input.decode::<proto::ListAccessRequestsRequest>() {
                let _ = read::list_access_requests(&message);
            }
        }
        6 => {
            // Withdraw, decline and close read their reason alike; decline requires one.
            if let Some(message) = input.decode::<proto::DeclineAccessRequestRequest>() {
                let _ = read::checked_text(&message.reason, "reason", read::MAX_TEXT_CHARS, true);
                let _ = read::checked_text(&message.reason, "reason", read::MAX_NAME_CHARS, false);
            }
        }
        7 => {
            if let Some(message) = input.decode::<proto::SetDecisionClockRequest>() {
                let command = read::decision_clock(message);
                if command.clock.problems().is_empty() {
                    let _ = command.clock.deadlines(TODAY);
                }
            }
        }
        8 => {
            if let Some(message) = input.decode::<proto::ListOverdueRequestsRequest>() {
                let _ = read::overdue_page(&message);
            }
        }
        9 => {
            if let Some(message) = input.decode::<proto::ReviewScreeningRequest>() {
                let _ = read::review_screening(message);
            }
        }
        10 => {
            if let Some(message) = input.decode::<proto::ImportSanctionsListRequest>()
                && let Ok(command) = read::import_sanctions_list(message)
            {
                let _ = sanctions::parse(command.format, &command.content);
            }
        }
        // The records the store keeps as protobuf JSON: once read and written, a record must
        // read and write back to the same bytes, or the store loses what it was given.
        11 => {
            if let Some(message) = input.decode::<proto::Organisation>()
                && let Ok(organisation) = organisation_from_proto(message)
            {
                let written = organisation_to_proto(&organisation);
                let again = organisation_from_proto(written.clone()).map(|read| organisation_to_proto(&read));
                assert_same(
                    "an organisation",
                    &written,
                    &again.expect("a written organisation reads back"),
                );
            }
        }
        12 => {
            if let Some(message) = input.decode::<proto::Quote>()
                && let Ok(quote) = quote_from_proto(message)
            {
                let written = quote_to_proto(&quote);
                let again = quote_from_proto(written.clone()).map(|read| quote_to_proto(&read));
                assert_same("a quote", &written, &again.expect("a written quote reads back"));
            }
        }
        _ => {
            if let Some(message) = input.decode::<proto::Screening>()
                && let Ok(screening) = screening_from_proto(message)
            {
                let written = screening_to_proto(&screening);
                let again = screening_from_proto(written.clone()).map(|read| screening_to_proto(&read));
                assert_same("a screening", &written, &again.expect("a written screening reads back"));
            }
        }
    }
});
