//! Slots: an operator's offer holds units in the registry, the applicant accepts or declines,
//! the operator confirms and records delivery; a request is scheduled once every part is
//! confirmed; the ledger counts granted, delivered and lost units with the TA-6 share.

use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, SlotStatus};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    an_offered_slot_holds_registry_units_until_it_is_accepted_and_confirmed,
    a_request_over_two_installations_is_scheduled_when_every_part_is_confirmed,
    declining_a_slot_gives_its_units_back,
    delivery_is_recorded_on_a_confirmed_slot_and_lost_units_need_a_reason,
    the_ledger_counts_granted_delivered_and_lost_units_with_the_ta6_share,
    an_accepted_industrial_request_gets_a_slot_without_a_call,
    a_retried_offer_returns_the_same_slot_and_holds_once,
    an_offer_takes_at_most_what_was_granted_and_not_yet_offered,
    an_offer_never_holds_a_window_of_another_installation,
    units_beyond_any_window_are_refused_by_name,
);

/// A PL university's proposal granted `asks` (site, units).
async fn granted(world: &World, asks: &[(&Site, i64)]) -> Granted {
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    world.granted(&applicant, asks, &users_in("PL", 2)).await
}

/// Units of `site`'s first window reserved in the registry now.
async fn reserved(world: &World, site: &Site) -> i64 {
    world.window(site.id(), &site.window.id).await.reserved_units
}

async fn an_offered_slot_holds_registry_units_until_it_is_accepted_and_confirmed(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let operator = world.de.operator();
    let held = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 6))
        .await
        .expect("the operator offers");
    assert_eq!(held.status(), SlotStatus::Held);
    assert_eq!(held.lane(), proto::Lane::Transnational);
    assert_eq!((held.units, held.window_id.as_str()), (6, world.de.window.id.as_str()));
    assert_eq!(held.access_request_id, granted.proposal.id);
    assert_eq!(held.installation_id, world.de.id());
    let expires = held.expire_time.expect("a hold expires");
    assert!(
        expires.seconds > rti_platform::time::now_micros() / 1_000_000,
        "{expires:?}"
    );
    let window = world.window(world.de.id(), &world.de.window.id).await;
    assert_eq!((window.reserved_units, window.free_units), (6, SITE_WINDOW_UNITS - 6));

    let early = world
        .confirm_slot(&operator, &held.id)
        .await
        .expect_err("the applicant accepts first");
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    let accepted = world
        .accept_slot(&granted.applicant.token, &held.id)
        .await
        .expect("the applicant accepts");
    assert_eq!(accepted.status(), SlotStatus::Accepted);
    assert_eq!(reserved(&world, &world.de).await, 6, "accepting keeps the same hold");
    let confirmed = world.confirm_slot(&operator, &held.id).await.expect("confirms");
    assert_eq!(confirmed.status(), SlotStatus::Confirmed);
    assert_eq!(reserved(&world, &world.de).await, 6);

    let listed = world
        .list_slots(&granted.applicant.token, &granted.proposal.id)
        .await
        .expect("the applicant lists its slots");
    assert_eq!(listed.slots.len(), 1);
    assert_eq!(listed.slots[0].status(), SlotStatus::Confirmed);
    assert!(listed.scheduled, "its only installation has a confirmed slot");
    world.stop().await;
}

async fn a_request_over_two_installations_is_scheduled_when_every_part_is_confirmed(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10), (&world.fr, 5)]).await;
    let applicant = &granted.applicant;
    let mut parts = Vec::new();
    for (site, units) in [(&world.de, 10), (&world.fr, 5)] {
        let held = world
            .offer_slot(&site.operator(), offer(&granted.proposal.id, site, units))
            .await
            .expect("each operator offers at its installation");
        world.accept_slot(&applicant.token, &held.id).await.expect("accepts");
        parts.push((site, held));
    }
    let scheduled = || async {
        world
            .list_slots(&applicant.token, &granted.proposal.id)
            .await
            .expect("lists")
            .scheduled
    };
    assert!(!scheduled().await, "nothing confirmed yet");
    let (de, de_slot) = &parts[0];
    world
        .confirm_slot(&de.operator(), &de_slot.id)
        .await
        .expect("DE confirms");
    assert!(!scheduled().await, "the FR part is not confirmed");
    let (fr, fr_slot) = &parts[1];
    world
        .confirm_slot(&fr.operator(), &fr_slot.id)
        .await
        .expect("FR confirms");
    assert!(scheduled().await, "both parts are confirmed");
    world.stop().await;
}

async fn declining_a_slot_gives_its_units_back(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let operator = world.de.operator();
    let held = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 5))
        .await
        .expect("offers");
    assert_eq!(reserved(&world, &world.de).await, 5);
    let declined = world
        .decline_slot(&granted.applicant.token, &held.id)
        .await
        .expect("the applicant declines");
    assert_eq!(declined.status(), SlotStatus::Declined);
    assert_eq!(reserved(&world, &world.de).await, 0, "the hold is released");
    let late = world
        .accept_slot(&granted.applicant.token, &held.id)
        .await
        .expect_err("a declined slot is not accepted");
    assert_eq!(late.code(), Code::FailedPrecondition);

    // The operator withdraws an offer the same way.
    let withdrawn = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 5))
        .await
        .expect("offers again");
    assert_eq!(reserved(&world, &world.de).await, 5);
    let released = world.decline_slot(&operator, &withdrawn.id).await.expect("withdraws");
    assert_eq!(released.status(), SlotStatus::Declined);
    assert_eq!(reserved(&world, &world.de).await, 0);
    world.stop().await;
}

async fn delivery_is_recorded_on_a_confirmed_slot_and_lost_units_need_a_reason(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 15)]).await;
    let operator = world.de.operator();
    let held = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 5))
        .await
        .expect("offers");
    let too_early = world
        .record_delivery(&operator, &held.id, (5, 0), "")
        .await
        .expect_err("only a confirmed slot is delivered");
    assert_eq!(too_early.code(), Code::FailedPrecondition);

    let slot = world
        .confirmed_slot(&granted.proposal.id, &world.de, 10, &granted.applicant)
        .await;
    let unexplained = world
        .record_delivery(&operator, &slot.id, (8, 2), "")
        .await
        .expect_err("lost units need a reason");
    assert_eq!(violated_fields(&unexplained), ["lost_reason"]);
    let too_many = world
        .record_delivery(&operator, &slot.id, (9, 2), "beam down")
        .await
        .expect_err("more than the slot's units");
    assert_eq!(too_many.code(), Code::InvalidArgument);
    let by_applicant = world
        .record_delivery(&granted.applicant.token, &slot.id, (8, 2), "beam down")
        .await
        .expect_err("the operator's word");
    assert_eq!(by_applicant.code(), Code::PermissionDenied);

    let delivered = world
        .record_delivery(&operator, &slot.id, (8, 2), "beam down for a shift")
        .await
        .expect("records");
    assert_eq!(delivered.status(), SlotStatus::Delivered);
    assert_eq!((delivered.delivered_units, delivered.lost_units), (8, 2));
    assert_eq!(delivered.lost_reason, "beam down for a shift");
    world.stop().await;
}

async fn the_ledger_counts_granted_delivered_and_lost_units_with_the_ta6_share(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let american = world.applicant(company("US", "Sensorics Inc.")).await;
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = world
        .open_call(proto::CreateCallRequest {
            grant_planned_units: 100,
            ..call_request(vec![offered(&world.de, 100)])
        })
        .await;
    let asks = [(world.de.id(), 10)];
    let non_eu = world.propose(&american, &call.id, &asks, &users_in("US", 2)).await;
    let asks = [(world.de.id(), 20)];
    let eu = world.propose(&polish, &call.id, &asks, &users_in("PL", 2)).await;
    world.assess_all(&call.id, &[(&non_eu, 8.0), (&eu, 7.0)]).await;
    world.commit(&call.id).await;

    let operator = world.de.operator();
    let slot = world.confirmed_slot(&non_eu.id, &world.de, 10, &american).await;
    world
        .record_delivery(&operator, &slot.id, (8, 2), "sample holder broke")
        .await
        .expect("records");
    let slot = world.confirmed_slot(&eu.id, &world.de, 20, &polish).await;
    world
        .record_delivery(&operator, &slot.id, (20, 0), "")
        .await
        .expect("records");

    let ledger = world
        .ledger(&coordinator(), &call.id)
        .await
        .expect("the coordinator reads");
    assert_eq!(ledger.call_id, call.id);
    assert_eq!(ledger.planned_units, 100);
    assert_eq!(
        (ledger.granted_units, ledger.delivered_units, ledger.lost_units),
        (30, 28, 2)
    );
    assert_eq!((ledger.non_eu_granted_units, ledger.non_eu_delivered_units), (10, 8));
    assert!((ledger.non_eu_granted_share - 0.10).abs() < 1e-9, "{ledger:?}");
    assert!((ledger.non_eu_delivered_share - 0.08).abs() < 1e-9, "{ledger:?}");
    assert_eq!(ledger.cap_percent, 20);
    world.stop().await;
}

async fn an_accepted_industrial_request_gets_a_slot_without_a_call(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(sme("DE", "Acme Photonics")).await;
    let operator = world.de.operator();
    let request = world.accepted_industrial(&applicant, world.de.id(), 4, &operator).await;
    assert_eq!(request.lane(), proto::Lane::Industrial);
    assert!(request.call_id.is_empty());

    let held = world
        .offer_slot(&operator, offer(&request.id, &world.de, 4))
        .await
        .expect("no call and no panel are needed");
    assert_eq!(
        (held.status(), held.lane()),
        (SlotStatus::Held, proto::Lane::Industrial)
    );
    assert_eq!(reserved(&world, &world.de).await, 4);
    world.accept_slot(&applicant.token, &held.id).await.expect("accepts");
    let confirmed = world.confirm_slot(&operator, &held.id).await.expect("confirms");
    assert_eq!(confirmed.status(), SlotStatus::Confirmed);
    let listed = world.list_slots(&applicant.token, &request.id).await.expect("lists");
    assert!(listed.scheduled);
    let more = world
        .offer_slot(&operator, offer(&request.id, &world.de, 1))
        .await
        .expect_err("more than requested");
    assert!(
        matches!(more.code(), Code::InvalidArgument | Code::FailedPrecondition),
        "{more:?}"
    );
    world.stop().await;
}

async fn a_retried_offer_returns_the_same_slot_and_holds_once(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let operator = world.de.operator();
    let request = offer(&granted.proposal.id, &world.de, 5);
    let first = world.offer_slot(&operator, request.clone()).await.expect("offers");
    let again = world
        .offer_slot(&operator, request.clone())
        .await
        .expect("a retry is answered");
    assert_eq!(again.id, first.id);
    let (left, right) = tokio::join!(
        world.offer_slot(&operator, request.clone()),
        world.offer_slot(&operator, request.clone())
    );
    assert_eq!(left.expect("concurrent retry").id, first.id);
    assert_eq!(right.expect("concurrent retry").id, first.id);
    assert_eq!(reserved(&world, &world.de).await, 5, "the units are taken once");
    let slots = world
        .list_slots(&admin(), &granted.proposal.id)
        .await
        .expect("lists")
        .slots;
    assert_eq!(slots.len(), 1, "{slots:#?}");
    world.stop().await;
}

async fn an_offer_takes_at_most_what_was_granted_and_not_yet_offered(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let id = &granted.proposal.id;
    let operator = world.de.operator();
    let refused = |outcome: Answer<proto::Slot>, what: &str| {
        let status = outcome.expect_err(what);
        assert!(
            matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition),
            "{what}: {status:?}"
        );
    };
    refused(
        world.offer_slot(&operator, offer(id, &world.de, 11)).await,
        "more than granted",
    );
    refused(world.offer_slot(&operator, offer(id, &world.de, 0)).await, "no units");
    assert_eq!(reserved(&world, &world.de).await, 0, "a refused offer holds nothing");
    world
        .offer_slot(&operator, offer(id, &world.de, 6))
        .await
        .expect("6 of 10");
    refused(
        world.offer_slot(&operator, offer(id, &world.de, 5)).await,
        "6 + 5 exceed 10",
    );
    world
        .offer_slot(&operator, offer(id, &world.de, 4))
        .await
        .expect("the last 4");
    assert_eq!(reserved(&world, &world.de).await, 10);
    let fr_operator = world.fr.operator();
    refused(
        world.offer_slot(&fr_operator, offer(id, &world.fr, 1)).await,
        "nothing was granted at the FR installation",
    );

    // A proposal still in review has nothing granted.
    let applicant = &granted.applicant;
    let call = world.call_for(&[(&world.de, 50)]).await;
    let pending = world
        .propose(applicant, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    let early = world
        .offer_slot(&operator, offer(&pending.id, &world.de, 1))
        .await
        .expect_err("not granted");
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    world.stop().await;
}

/// Issue 13, item 1 (confused deputy): window ids are public, and allocation reserves with its
/// service token; an operator naming its own installation with a competitor's window holds
/// nothing there.
async fn an_offer_never_holds_a_window_of_another_installation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let operator = world.de.operator();
    let mut request = offer(&granted.proposal.id, &world.de, 3);
    request.window_id = world.fr.window.id.clone();
    let refused = world
        .offer_slot(&operator, request)
        .await
        .expect_err("the FR installation's window");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("window"), "{refused:?}");
    assert_eq!(
        reserved(&world, &world.fr).await,
        0,
        "nothing held at the FR installation"
    );
    assert_eq!(reserved(&world, &world.de).await, 0);
    world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 3))
        .await
        .expect("its own window");
    world.stop().await;
}

/// Issue 13, item 6: units beyond any window are refused by name, never summed into a wrapped value.
async fn units_beyond_any_window_are_refused_by_name(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let granted = granted(&world, &[(&world.de, 10)]).await;
    let operator = world.de.operator();
    let refused = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, i64::MAX))
        .await
        .expect_err("more units than any window");
    assert_eq!(violated_fields(&refused), ["units"], "{refused:?}");
    assert_eq!(reserved(&world, &world.de).await, 0);
    world.stop().await;
}
