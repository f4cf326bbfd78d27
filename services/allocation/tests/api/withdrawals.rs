//! Issue 13, item 7: no reservation outlives its slot. A request withdrawn or declined in intake
//! ends its slots and the registry frees their units; a reservation the registry is too slow to
//! take is given up before the sweeper ends the offer, so it cannot land after the release.

use std::time::Duration;

use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, SlotStatus};
use rti_proto::intake;
use tonic::Code;

use rti_allocation::app::Options;

use crate::helpers::*;

rti_platform::backend_tests!(
    a_withdrawn_request_ends_its_slots_and_frees_their_units,
    a_declined_proposal_ends_its_slots_and_frees_their_units,
    a_reservation_slower_than_the_grace_leaves_nothing_held,
);

/// Units of `site`'s first window reserved in the registry now.
async fn reserved(world: &World, site: &Site) -> i64 {
    world.window(site.id(), &site.window.id).await.reserved_units
}

/// The request's slots once none is live any more (each declined, expired or delivered).
async fn ended_slots(world: &World, access_request_id: &str) -> Vec<proto::Slot> {
    eventually("the request's slots to end", || async {
        let slots = world
            .list_slots(&admin(), access_request_id)
            .await
            .expect("an admin lists the slots")
            .slots;
        let live = [SlotStatus::Held, SlotStatus::Accepted, SlotStatus::Confirmed];
        slots.iter().all(|slot| !live.contains(&slot.status())).then_some(slots)
    })
    .await
}

/// A granted proposal at `world.de` with a held slot of 3 units and a confirmed one of 4.
async fn with_two_slots(world: &World) -> (Granted, Applicant) {
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let granted = world.granted(&applicant, &[(&world.de, 10)], &users_in("PL", 2)).await;
    let id = &granted.proposal.id;
    let before = reserved(world, &world.de).await;
    world
        .offer_slot(&world.de.operator(), offer(id, &world.de, 3))
        .await
        .expect("offers a slot");
    world.confirmed_slot(id, &world.de, 4, &applicant).await;
    assert_eq!(reserved(world, &world.de).await - before, 7);
    (granted, applicant)
}

/// Every slot of the request ended as declined with the request's end as reason, and the
/// registry holds only `still_reserved` units (others'); an offer made now is refused.
async fn assert_ended(world: &World, access_request_id: &str, still_reserved: i64) {
    let slots = ended_slots(world, access_request_id).await;
    assert_eq!(slots.len(), 2);
    for slot in &slots {
        assert_eq!(slot.status(), SlotStatus::Declined, "{slot:?}");
        assert!(slot.reason.contains("withdrawn or declined"), "{slot:?}");
    }
    eventually("the registry to free the units", || async {
        (reserved(world, &world.de).await == still_reserved).then_some(())
    })
    .await;
    let late = world
        .offer_slot(&world.de.operator(), offer(access_request_id, &world.de, 3))
        .await;
    assert_eq!(
        late.as_ref().map_err(tonic::Status::code).err(),
        Some(Code::FailedPrecondition),
        "{late:?}"
    );
}

async fn a_withdrawn_request_ends_its_slots_and_frees_their_units(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (granted, applicant) = with_two_slots(&world).await;
    // The other way first: a request that stays keeps its slots and their units.
    let (kept, _) = with_two_slots(&world).await;

    world
        .intake()
        .withdraw_access_request(with_token(
            intake::WithdrawAccessRequestRequest {
                id: granted.proposal.id.clone(),
                reason: "the samples were lost".into(),
            },
            &applicant.token,
        ))
        .await
        .expect("the applicant withdraws");
    assert_ended(&world, &granted.proposal.id, 7).await;
    let kept_slots = world
        .list_slots(&admin(), &kept.proposal.id)
        .await
        .expect("lists")
        .slots;
    let statuses: Vec<SlotStatus> = kept_slots.iter().map(proto::Slot::status).collect();
    assert_eq!(statuses, [SlotStatus::Held, SlotStatus::Confirmed], "untouched");
    world.stop().await;
}

async fn a_declined_proposal_ends_its_slots_and_frees_their_units(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (granted, _) = with_two_slots(&world).await;
    // Allocation's panel (a service) declines a proposal in review in intake.
    world
        .intake()
        .decline_access_request(with_token(
            intake::DeclineAccessRequestRequest {
                id: granted.proposal.id.clone(),
                reason: "the user group broke the facility's safety rules".into(),
            },
            &service(),
        ))
        .await
        .expect("the panel declines");
    assert_ended(&world, &granted.proposal.id, 0).await;
    world.stop().await;
}

async fn a_reservation_slower_than_the_grace_leaves_nothing_held(backend: Backend) {
    // Offers still pending after two seconds are ended by the sweeper, which releases their
    // reservation ids; the registry takes three seconds to reserve.
    let options = Options {
        pending_grace: Duration::from_secs(2),
        ..fast_options()
    };
    let Some(mut world) = world_with(backend, options.clone()).await else {
        return;
    };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let granted = world.granted(&applicant, &[(&world.de, 10)], &users_in("PL", 2)).await;
    let slow = world.slow_reservations(Duration::from_secs(3), options).await;

    let offered = world
        .offer_slot(&world.de.operator(), offer(&granted.proposal.id, &world.de, 5))
        .await;
    assert_eq!(
        offered.as_ref().map_err(tonic::Status::code).err(),
        Some(Code::Unavailable),
        "the offer gives up on the slow registry: {offered:?}"
    );
    let slots = eventually("the sweeper to end the interrupted offer", || async {
        let slots = world
            .list_slots(&admin(), &granted.proposal.id)
            .await
            .expect("lists")
            .slots;
        slots
            .iter()
            .all(|slot| slot.status() == SlotStatus::Expired)
            .then_some(slots)
    })
    .await;
    assert_eq!(slots.len(), 1);
    eventually("the slow reservation to be over", || async {
        (slow.ended() == 1).then_some(())
    })
    .await;
    assert_eq!(
        slow.passed_on(),
        0,
        "the registry was never asked to reserve after the deadline"
    );
    assert_eq!(
        reserved(&world, &world.de).await,
        0,
        "no reservation outlives the ended offer"
    );
    world.stop().await;
}
