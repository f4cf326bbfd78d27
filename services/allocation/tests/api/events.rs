//! The allocation's event stream: guarded like every service's, and carrying what reporting
//! needs (units, lanes, rule outcomes) and never a person's name.

use std::collections::HashMap;
use std::time::Duration;

use rti_platform::db::Backend;
use rti_platform::testing::{TestDatabase, assert_serves_health_and_guards_subscribe, test_auth};
use rti_proto::allocation::{self as proto, LineDecision, SlotStatus};
use rti_proto::common::{Event, SubscribeRequest, event::Payload};
use tokio_util::sync::CancellationToken;
use tonic::Streaming;

use crate::helpers::*;

rti_platform::backend_tests!(
    serves_health_and_guards_its_event_stream,
    a_committed_allocation_publishes_a_decision_per_proposal_and_no_names,
    confirming_the_last_part_publishes_that_the_request_is_scheduled,
);

/// Health and the guarded event stream (`rti_platform::testing::assert_serves_health_and_guards_subscribe`),
/// with the production `App::build` (default options) on a database of its own.
async fn serves_health_and_guards_its_event_stream(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let database = TestDatabase::create(backend)
        .await
        .expect("the world's backend is available");
    let config = rti_platform::server::ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        database.url.clone(),
        test_auth(),
    );
    let app = rti_allocation::App::build(config, world.upstreams())
        .await
        .expect("the service starts");
    let address = app.local_addr();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let channel = rti_platform::testing::connect(address).await;
    assert_serves_health_and_guards_subscribe(channel, &rti_allocation::AUTHZ).await;
    shutdown.cancel();
    running
        .await
        .expect("task")
        .expect("stops cleanly, ending open streams");
    world.stop().await;
}

/// The allocation's events from the start, as an admin, only `types` (all when empty).
async fn subscribe(world: &World, types: &[&str]) -> Streaming<Event> {
    let request = SubscribeRequest {
        after_sequence: 0,
        types: types.iter().map(|name| (*name).to_owned()).collect(),
    };
    world
        .allocation()
        .subscribe(with_token(request, &admin()))
        .await
        .expect("subscribes")
        .into_inner()
}

/// The next event; fails the test if none comes within 15 s (a guard, not a timing assertion).
async fn next_event(stream: &mut Streaming<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("an event within the guard")
        .expect("stream healthy")
        .expect("stream open")
}

/// Whether the encoded event holds the surname every test person carries.
fn names_someone(event: &Event) -> bool {
    let bytes = prost::Message::encode_to_vec(event);
    bytes.windows(SURNAME.len()).any(|window| window == SURNAME.as_bytes())
}

async fn a_committed_allocation_publishes_a_decision_per_proposal_and_no_names(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let american = world.applicant(company("US", "Sensorics Inc.")).await;
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = world.call_for(&[(&world.de, 100), (&world.fr, 50)]).await;
    let both = [(world.de.id(), 10), (world.fr.id(), 5)];
    let non_eu = world
        .propose(
            &american,
            &call.id,
            &both,
            &[works_in("US"), works_in("US"), works_in("FR")],
        )
        .await;
    let de_only = [(world.de.id(), 10)];
    let eu = world.propose(&polish, &call.id, &de_only, &users_in("PL", 2)).await;
    let at_home = world.propose(&polish, &call.id, &de_only, &users_in("DE", 2)).await;
    world
        .assess_all(&call.id, &[(&non_eu, 8.0), (&eu, 7.0), (&at_home, 9.0)])
        .await;
    let allocation = world.commit(&call.id).await.allocation.expect("stored");

    // Every event up to the last decision: none names a person.
    let mut stream = subscribe(&world, &[]).await;
    let mut decided = HashMap::new();
    while decided.len() < 3 {
        let event = next_event(&mut stream).await;
        assert!(!names_someone(&event), "an event names a person: {event:#?}");
        assert_eq!(event.source, "allocation");
        if let Some(Payload::AllocationDecided(decision)) = event.payload {
            assert_eq!(event.r#type, "rti.allocation.v1.AllocationDecided");
            decided.insert(decision.proposal_id.clone(), decision);
        }
    }
    let mixed = &decided[&non_eu.id];
    assert_eq!(mixed.call_id, call.id);
    assert_eq!(mixed.allocation_id, allocation.id);
    assert_eq!(mixed.decision(), LineDecision::Granted);
    assert_eq!(units_at(&mixed.granted, world.de.id()), 10);
    assert_eq!(units_at(&mixed.granted, world.fr.id()), 5);
    assert_eq!(units_at(&mixed.requested, world.fr.id()), 5);
    assert!(mixed.non_eu_majority);
    assert_eq!(mixed.organisation_id, american.id());
    assert_eq!(mixed.leader_work_country, "US");
    assert!(mixed.decide_time.is_some());
    let european = &decided[&eu.id];
    assert_eq!(european.decision(), LineDecision::Granted);
    assert!(!european.non_eu_majority);
    assert_eq!(european.leader_work_country, "PL");
    let refused = &decided[&at_home.id];
    assert_eq!(refused.decision(), LineDecision::Refused);
    assert_eq!(units_at(&refused.granted, world.de.id()), 0);
    assert!(!refused.explanation.is_empty());
    world.stop().await;
}

async fn confirming_the_last_part_publishes_that_the_request_is_scheduled(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let granted = world
        .granted(&applicant, &[(&world.de, 5), (&world.fr, 5)], &users_in("PL", 2))
        .await;
    let proposal = &granted.proposal;
    let de_slot = world.confirmed_slot(&proposal.id, &world.de, 5, &applicant).await;
    let fr_slot = world.confirmed_slot(&proposal.id, &world.fr, 5, &applicant).await;

    let mut stream = subscribe(&world, &["rti.allocation.v1.SlotStatusChanged"]).await;
    let mut changes: Vec<proto::SlotStatusChanged> = Vec::new();
    while changes
        .iter()
        .filter(|change| change.to() == SlotStatus::Confirmed)
        .count()
        < 2
    {
        let event = next_event(&mut stream).await;
        let Some(Payload::SlotStatusChanged(change)) = event.payload else {
            panic!("only SlotStatusChanged was asked for: {event:#?}")
        };
        changes.push(change);
    }
    let confirmed: Vec<&proto::SlotStatusChanged> = changes
        .iter()
        .filter(|change| change.to() == SlotStatus::Confirmed)
        .collect();
    let (first, last) = (confirmed[0], confirmed[1]);
    assert_eq!(
        (first.slot_id.as_str(), last.slot_id.as_str()),
        (de_slot.id.as_str(), fr_slot.id.as_str())
    );
    assert!(!first.request_scheduled, "the FR part was not confirmed yet: {first:?}");
    assert!(last.request_scheduled, "the last part is confirmed: {last:?}");
    for change in [first, last] {
        assert_eq!(change.from(), SlotStatus::Accepted);
        assert_eq!(change.access_request_id, proposal.id);
        assert_eq!(change.call_id, granted.call.id);
        assert_eq!(change.lane(), proto::Lane::Transnational);
        assert_eq!(change.units, 5);
        assert_eq!(change.organisation_id, applicant.id());
    }
    assert_eq!(first.installation_id, world.de.id());
    assert_eq!(last.installation_id, world.fr.id());
    for status in [SlotStatus::Held, SlotStatus::Accepted] {
        assert!(
            changes
                .iter()
                .any(|change| change.slot_id == de_slot.id && change.to() == status),
            "{status:?} is published too: {changes:#?}"
        );
    }
    world.stop().await;
}
