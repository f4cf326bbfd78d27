//! Every request the allocation's handlers read, decoded from arbitrary bytes and read into the
//! operations' commands; intake's access requests and user groups read into proposals, as the
//! feed does; and the records the store keeps as protobuf JSON, read back and written again. A
//! panic anywhere is a crash; refusals are fine.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use rti_allocation::convert::{
    allocation_from_proto, allocation_to_proto, call_from_proto, call_to_proto, industrial_proposal,
    proposal_from_intake, proposal_from_proto, proposal_to_proto, review_from_proto, review_to_proto,
};
use rti_allocation::grpc::fuzzing as read;
use rti_fuzz::{assert_same, caller, decode, mutate, select};
use rti_proto::allocation as proto;
use rti_proto::intake;

/// The message each arm reads, by the input's first byte.
const ARMS: [&str; 14] = [
    "rti.allocation.v1.CreateCallRequest",
    "rti.allocation.v1.ListProposalsRequest",
    "rti.allocation.v1.AmendRulebookRequest",
    "rti.allocation.v1.SetPanelRequest",
    "rti.allocation.v1.DeclareConflictRequest",
    "rti.allocation.v1.SubmitReviewRequest",
    "rti.allocation.v1.SubmitFeasibilityRequest",
    "rti.allocation.v1.OfferSlotRequest",
    "rti.allocation.v1.RecordDeliveryRequest",
    "rti.intake.v1.AccessRequest",
    "rti.allocation.v1.Call",
    "rti.allocation.v1.Proposal",
    "rti.allocation.v1.Review",
    "rti.allocation.v1.Allocation",
];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| { mutate(&ARMS, data, size, max_size, seed) });

fuzz_target!(|data: &[u8]| {
    let Some(input) = select(data, &ARMS) else {
        return;
    };
    match input.arm {
        0 => {
            if let Some(message) = input.decode::<proto::CreateCallRequest>() {
                let _ = read::new_call(&caller(), message);
            }
        }
        1 => {
            if let Some(message) = input.decode::<proto::ListProposalsRequest>() {
                let _ = read::page(message.page_size, &message.page_token, &[&message.call_id]);
            }
        }
        2 => {
            if let Some(message) = input.decode::<proto::AmendRulebookRequest>() {
                let _ = read::amended_rulebook(&message);
            }
        }
        3 => {
            if let Some(message) = input.decode::<proto::SetPanelRequest>() {
                let _ = read::panel(&message.members);
            }
        }
        4 => {
            if let Some(message) = input.decode::<proto::DeclareConflictRequest>() {
                let _ = read::conflict(&message);
            }
        }
        5 => {
            if let Some(message) = input.decode::<proto::SubmitReviewRequest>() {
                let _ = read::review(message);
            }
        }
        6 => {
            if let Some(message) = input.decode::<proto::SubmitFeasibilityRequest>() {
                let _ = read::feasibility(message);
            }
        }
        7 => {
            if let Some(message) = input.decode::<proto::OfferSlotRequest>() {
                let _ = read::offer(message);
            }
        }
        8 => {
            if let Some(message) = input.decode::<proto::RecordDeliveryRequest>() {
                let _ = read::delivery(message);
            }
        }
        // Intake's answers, as the feed reads a transnational request and its user group: the
        // next byte says how many of the bytes after it are the request, the rest is the group.
        9 => {
            let Some((&length, rest)) = input.bytes.split_first() else {
                return;
            };
            let (request, group) = rest.split_at(usize::from(length).min(rest.len()));
            if let (Some(request), Some(group)) = (
                decode::<intake::AccessRequest>(request),
                decode::<intake::UserGroup>(group),
            ) {
                let _ = proposal_from_intake(&request, &group, "DE".to_owned());
                let _ = industrial_proposal(&request);
            }
        }
        // The records the store keeps as protobuf JSON: once read and written, a record must
        // read and write back to the same bytes, or the store loses what it was given.
        10 => {
            if let Some(message) = input.decode::<proto::Call>() {
                let written = call_to_proto(&call_from_proto(&message));
                assert_same("a call", &written, &call_to_proto(&call_from_proto(&written)));
            }
        }
        11 => {
            if let Some(message) = input.decode::<proto::Proposal>() {
                let written = proposal_to_proto(&proposal_from_proto(&message));
                assert_same(
                    "a proposal",
                    &written,
                    &proposal_to_proto(&proposal_from_proto(&written)),
                );
            }
        }
        12 => {
            if let Some(message) = input.decode::<proto::Review>() {
                let written = review_to_proto(&review_from_proto(&message));
                assert_same("a review", &written, &review_to_proto(&review_from_proto(&written)));
            }
        }
        _ => {
            if let Some(message) = input.decode::<proto::Allocation>() {
                let written = allocation_to_proto(&allocation_from_proto(&message));
                assert_same(
                    "an allocation",
                    &written,
                    &allocation_to_proto(&allocation_from_proto(&written)),
                );
            }
        }
    }
});
