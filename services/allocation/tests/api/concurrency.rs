//! Holds under pressure: concurrent offers never over-book a window, an expired hold frees its
//! units, and an offer interrupted between the registry's reservation and allocation's own write
//! is recovered after a restart, either released or completed by a retry, never held twice.

use std::collections::HashSet;
use std::time::Duration;

use rti_allocation::app::Options;
use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, SlotStatus};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    sixteen_concurrent_offers_hold_exactly_the_ten_free_units,
    an_expired_hold_frees_its_units,
    an_offer_interrupted_after_the_reservation_is_recovered_after_a_restart,
);

/// The registry's refusal when a window has too few free units, as allocation passes it on.
fn is_capacity_refusal(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::FailedPrecondition | Code::ResourceExhausted)
}

/// An industrial-lane request of a new DE SME for `units` of `site`, accepted.
async fn industrial_request(world: &World, site: &Site, units: i64, name: &str) -> (Applicant, proto::Proposal) {
    let applicant = world.applicant(sme("DE", name)).await;
    let request = world
        .accepted_industrial(&applicant, site.id(), units, &site.operator())
        .await;
    (applicant, request)
}

/// The slots of `access_request_id` as an admin sees them.
async fn slots_of(world: &World, access_request_id: &str) -> Vec<proto::Slot> {
    world
        .list_slots(&admin(), access_request_id)
        .await
        .expect("an admin lists slots")
        .slots
}

async fn sixteen_concurrent_offers_hold_exactly_the_ten_free_units(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let site = world.de2.clone();
    let window = world.add_window(&site, 70, 10).await;
    let mut requests = Vec::new();
    for index in 0..16 {
        requests.push(industrial_request(&world, &site, 1, &format!("Firm {index}")).await);
    }
    let operator = site.operator();
    let offers = requests.iter().map(|(_, request)| {
        let message = proto::OfferSlotRequest {
            window_id: window.id.clone(),
            ..offer(&request.id, &site, 1)
        };
        world.offer_slot(&operator, message)
    });
    let outcomes = futures::future::join_all(offers).await;
    let mut held = Vec::new();
    for ((applicant, _), outcome) in requests.iter().zip(outcomes) {
        match outcome {
            Ok(slot) => {
                assert_eq!(slot.status(), SlotStatus::Held);
                held.push((applicant, slot));
            }
            Err(status) => assert!(is_capacity_refusal(&status), "the registry's refusal: {status:?}"),
        }
    }
    assert_eq!(held.len(), 10, "exactly the window's ten units are held");
    let state = world.window(site.id(), &window.id).await;
    assert_eq!((state.reserved_units, state.free_units), (10, 0));

    let accepts = held
        .iter()
        .map(|(applicant, slot)| world.accept_slot(&applicant.token, &slot.id));
    for accepted in futures::future::join_all(accepts).await {
        assert_eq!(
            accepted.expect("each applicant accepts its slot").status(),
            SlotStatus::Accepted
        );
    }
    let state = world.window(site.id(), &window.id).await;
    assert_eq!(state.reserved_units, 10, "never over-booked, nothing taken twice");
    let ids: HashSet<&str> = held.iter().map(|(_, slot)| slot.id.as_str()).collect();
    assert_eq!(ids.len(), 10);
    world.stop().await;
}

async fn an_expired_hold_frees_its_units(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (applicant, request) = industrial_request(&world, &world.de, 3, "Acme Photonics").await;
    let operator = world.de.operator();
    let short = proto::OfferSlotRequest {
        hold_seconds: 1,
        ..offer(&request.id, &world.de, 3)
    };
    let held = world.offer_slot(&operator, short).await.expect("offers");
    assert_eq!(held.status(), SlotStatus::Held);
    assert_eq!(world.window(world.de.id(), &world.de.window.id).await.reserved_units, 3);

    eventually("the hold to expire", || async {
        let slots = slots_of(&world, &request.id).await;
        (slots.iter().find(|slot| slot.id == held.id)?.status() == SlotStatus::Expired).then_some(())
    })
    .await;
    eventually("the registry to free the units", || async {
        (world.window(world.de.id(), &world.de.window.id).await.reserved_units == 0).then_some(())
    })
    .await;
    let late = world
        .accept_slot(&applicant.token, &held.id)
        .await
        .expect_err("an expired hold is not accepted");
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");

    let again = world
        .offer_slot(&operator, offer(&request.id, &world.de, 3))
        .await
        .expect("the freed units are offered again");
    assert_eq!(again.status(), SlotStatus::Held);
    assert_eq!(world.window(world.de.id(), &world.de.window.id).await.reserved_units, 3);
    world.stop().await;
}

async fn an_offer_interrupted_after_the_reservation_is_recovered_after_a_restart(backend: Backend) {
    // The crashing instance never releases what it leaves behind, so the orphans can be seen.
    let crashing = Options {
        crash_after_reservation: true,
        pending_grace: Duration::from_secs(3600),
        ..fast_options()
    };
    let Some(mut world) = world_with(backend, crashing).await else {
        return;
    };
    let site = world.de.clone();
    let (_, released) = industrial_request(&world, &site, 3, "Acme Photonics").await;
    let (_, retried) = industrial_request(&world, &site, 4, "Beta Optics").await;
    let operator = site.operator();
    let released_offer = offer(&released.id, &site, 3);
    let retried_offer = offer(&retried.id, &site, 4);
    for message in [&released_offer, &retried_offer] {
        world
            .offer_slot(&operator, message.clone())
            .await
            .expect_err("the offer crashes after the reservation");
    }
    let reserved = || async { world.window(site.id(), &site.window.id).await.reserved_units };
    assert_eq!(reserved().await, 7, "the registry holds both orphaned reservations");

    // Restarted without the crash, and with a long grace: a retry of the same request_id
    // completes its offer with the reservation already taken.
    let patient = Options {
        pending_grace: Duration::from_secs(3600),
        ..fast_options()
    };
    world.restart_allocation(patient).await;
    let completed = world
        .offer_slot(&operator, retried_offer.clone())
        .await
        .expect("the retry completes the offer");
    assert_eq!((completed.status(), completed.units), (SlotStatus::Held, 4));
    let reserved = || async { world.window(site.id(), &site.window.id).await.reserved_units };
    assert_eq!(reserved().await, 7, "the retried offer is reserved once, not twice");
    assert_eq!(slots_of(&world, &retried.id).await.len(), 1);

    // Restarted with the tests' short grace: the offer nobody retried is released.
    world.restart_allocation(fast_options()).await;
    eventually("the orphaned reservation to be released", || async {
        let slots = slots_of(&world, &released.id).await;
        assert!(
            slots.iter().all(|slot| slot.status() != SlotStatus::Held),
            "an interrupted offer is never held: {slots:#?}"
        );
        let expired = slots.iter().any(|slot| slot.status() == SlotStatus::Expired);
        let free = world.window(site.id(), &site.window.id).await.reserved_units == 4;
        (expired && free).then_some(())
    })
    .await;
    let kept = slots_of(&world, &retried.id).await;
    assert_eq!(kept[0].status(), SlotStatus::Held, "the completed offer keeps its hold");
    world.stop().await;
}
