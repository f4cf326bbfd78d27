//! Decision clocks (IND-7d): deadlines from submission, overdue requests for operators, and
//! milestones missed kept as breaches with their events.

use futures::StreamExt;
use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{operator_token, token};
use rti_proto::common::event::Payload;
use rti_proto::intake::{self as proto, AccessRequestStatus as S, Milestone};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    deadlines_run_from_submission_on_the_strictest_clock,
    overdue_requests_are_listed_for_their_operators_and_late_milestones_are_kept,
    a_request_that_ends_with_a_milestone_unmet_past_its_deadline_keeps_the_breach,
    clocks_are_set_by_their_operators_within_a_year,
);

const DAY: i64 = 86_400;

/// Moves a request's deadlines 16 days into the past, as if 16 days had gone by.
const SIXTEEN_DAYS_LATER: &str = "UPDATE access_requests SET acknowledge_by = acknowledge_by - 1382400000000, \
     feasibility_by = feasibility_by - 1382400000000, decide_by = decide_by - 1382400000000 WHERE id = $1";

fn seconds(time: &Option<rti_proto::pbjson_types::Timestamp>) -> i64 {
    time.as_ref().expect("a time").seconds
}

async fn set_clock(
    world: &World,
    caller: &str,
    clock: proto::DecisionClock,
) -> Result<proto::DecisionClock, tonic::Status> {
    world
        .client()
        .set_decision_clock(with_token(
            proto::SetDecisionClockRequest { clock: Some(clock) },
            caller,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn overdue(world: &World, caller: &str) -> Vec<(String, Vec<Milestone>)> {
    world
        .client()
        .list_overdue_requests(with_token(proto::ListOverdueRequestsRequest::default(), caller))
        .await
        .expect("lists")
        .into_inner()
        .requests
        .into_iter()
        .map(|overdue| {
            let milestones = overdue.overdue().collect();
            (overdue.access_request.expect("request").id, milestones)
        })
        .collect()
}

async fn deadlines_run_from_submission_on_the_strictest_clock(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let request = world.in_feasibility(&applicant).await;
    let submitted = seconds(&request.history[1].time);
    let deadlines = request.deadlines.clone().expect("the clock runs");
    assert_eq!(seconds(&deadlines.acknowledge_by) - submitted, 5 * DAY, "KPI-3: 5 days");
    assert_eq!(seconds(&deadlines.feasibility_by) - submitted, 15 * DAY);
    assert_eq!(seconds(&deadlines.decide_by) - submitted, 56 * DAY, "KPI-3: 8 weeks");

    // The quantum testbed answers faster; a request for both runs on the earliest deadlines.
    let operator = operator_token(&[&world.quantum.infrastructure_id]);
    set_clock(
        &world,
        &operator,
        proto::DecisionClock {
            installation_id: world.quantum.id.clone(),
            acknowledge_within_days: 2,
            feasibility_within_days: 20,
            decide_within_days: 30,
            ..Default::default()
        },
    )
    .await
    .expect("sets the clock");
    let mut both = industrial(&world.plain.id);
    both.installations.push(proto::RequestedInstallation {
        installation_id: world.quantum.id.clone(),
        units: 1,
    });
    let draft = world.draft(&applicant, both).await;
    let held = world.submit(&applicant, &draft.id).await.expect("submits");
    let submitted = seconds(&held.history[1].time);
    let deadlines = held.deadlines.expect("the clock runs in screening too");
    assert_eq!(seconds(&deadlines.acknowledge_by) - submitted, 2 * DAY);
    assert_eq!(
        seconds(&deadlines.feasibility_by) - submitted,
        15 * DAY,
        "the default is stricter here"
    );
    assert_eq!(seconds(&deadlines.decide_by) - submitted, 30 * DAY);
    world.stop().await;
}

async fn overdue_requests_are_listed_for_their_operators_and_late_milestones_are_kept(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let request = world.in_feasibility(&applicant).await;
    let operator = operator_token(&[&world.plain.infrastructure_id]);
    assert!(overdue(&world, &operator).await.is_empty(), "nothing is due yet");

    world.sql(SIXTEEN_DAYS_LATER, &request.id).await;
    assert_eq!(
        overdue(&world, &operator).await,
        [(request.id.clone(), vec![Milestone::Acknowledge, Milestone::Feasibility])]
    );
    assert_eq!(overdue(&world, &token(Role::Admin)).await.len(), 1);
    let elsewhere = operator_token(&[&rti_platform::ids::new_id()]);
    assert!(
        overdue(&world, &elsewhere).await.is_empty(),
        "only its own infrastructures"
    );

    let acknowledged = world
        .client()
        .acknowledge_access_request(with_token(
            proto::AcknowledgeAccessRequestRequest { id: request.id.clone() },
            &operator,
        ))
        .await
        .expect("acknowledges")
        .into_inner();
    assert_eq!(
        acknowledged.deadlines.expect("deadlines").acknowledged_by,
        "test-operator"
    );
    assert_eq!(acknowledged.breaches.len(), 1);
    assert_eq!(acknowledged.breaches[0].milestone(), Milestone::Acknowledge);
    assert!(acknowledged.breaches[0].met_time.is_some(), "met, late");
    assert_eq!(
        overdue(&world, &operator).await,
        [(request.id.clone(), vec![Milestone::Feasibility])]
    );

    let declined = world
        .client()
        .decline_access_request(with_token(
            proto::DeclineAccessRequestRequest {
                id: request.id.clone(),
                reason: "no capacity this quarter".into(),
            },
            &operator,
        ))
        .await
        .expect("declines")
        .into_inner();
    let missed: Vec<Milestone> = declined.breaches.iter().map(proto::ClockBreach::milestone).collect();
    assert_eq!(
        missed,
        [Milestone::Acknowledge, Milestone::Feasibility],
        "the decision itself was in time"
    );
    assert!(
        overdue(&world, &operator).await.is_empty(),
        "a declined request is not overdue"
    );

    let mut stream = world
        .client()
        .subscribe(with_token(
            rti_proto::common::SubscribeRequest {
                after_sequence: 0,
                types: vec!["rti.intake.v1.DecisionClockBreached".into()],
            },
            &token(Role::Admin),
        ))
        .await
        .expect("subscribes")
        .into_inner();
    for expected in [Milestone::Acknowledge, Milestone::Feasibility] {
        let event = stream.next().await.expect("an event").expect("ok");
        let Some(Payload::DecisionClockBreached(breach)) = event.payload else {
            panic!("filtered to breaches")
        };
        assert_eq!(
            (breach.access_request_id.as_str(), breach.milestone()),
            (request.id.as_str(), expected)
        );
    }
    world.stop().await;
}

async fn a_request_that_ends_with_a_milestone_unmet_past_its_deadline_keeps_the_breach(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let request = world.in_feasibility(&applicant).await;
    world.sql(SIXTEEN_DAYS_LATER, &request.id).await;
    let withdrawn = world
        .client()
        .withdraw_access_request(with_token(
            proto::WithdrawAccessRequestRequest {
                id: request.id.clone(),
                reason: "waited too long".into(),
            },
            &applicant,
        ))
        .await
        .expect("withdraws")
        .into_inner();
    assert_eq!(withdrawn.status(), S::Withdrawn);
    let missed: Vec<(Milestone, bool)> = withdrawn
        .breaches
        .iter()
        .map(|breach| (breach.milestone(), breach.met_time.is_some()))
        .collect();
    assert_eq!(
        missed,
        [(Milestone::Acknowledge, false), (Milestone::Feasibility, false)],
        "never met"
    );
    world.stop().await;
}

async fn clocks_are_set_by_their_operators_within_a_year(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let clock = |installation_id: &str, days: [i32; 3]| proto::DecisionClock {
        installation_id: installation_id.into(),
        acknowledge_within_days: days[0],
        feasibility_within_days: days[1],
        decide_within_days: days[2],
        ..Default::default()
    };
    let own = operator_token(&[&world.plain.infrastructure_id]);
    let other = operator_token(&[&rti_platform::ids::new_id()]);
    let set = set_clock(&world, &own, clock(&world.plain.id, [1, 10, 30]))
        .await
        .expect("its own");
    assert_eq!(set.updated_by, "test-operator");
    let denied = set_clock(&world, &other, clock(&world.plain.id, [1, 10, 30]))
        .await
        .expect_err("not its own");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let default_denied = set_clock(&world, &own, clock("", [1, 10, 30]))
        .await
        .expect_err("the default is an admin's");
    assert_eq!(default_denied.code(), Code::PermissionDenied);
    set_clock(&world, &token(Role::Admin), clock("", [3, 10, 40]))
        .await
        .expect("an admin sets the default");
    let bad = set_clock(&world, &own, clock(&world.plain.id, [0, 10, 400]))
        .await
        .expect_err("out of range");
    assert_eq!(
        violated_fields(&bad),
        ["clock.acknowledge_within_days", "clock.decide_within_days"]
    );
    let draft = set_clock(&world, &token(Role::Admin), clock(&world.draft.id, [1, 2, 3]))
        .await
        .expect_err("a draft");
    assert_eq!(violated_fields(&draft), ["clock.installation_id"]);
    world.stop().await;
}
