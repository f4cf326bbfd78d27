//! Issue 13, item 5, both ways: a coordinator acts on the calls it created and on no other
//! (amendments, panel, ranking, the allocation run, the ledger, the call's proposals and their
//! slots), and never sees an industrial-lane request, which belongs to no call; an admin acts on
//! every call.

use rti_platform::db::Backend;
use rti_platform::testing::expect_code;
use tonic::Code;

use rti_proto::allocation as proto;

use crate::helpers::*;

rti_platform::backend_tests!(
    a_coordinator_acts_only_on_its_own_calls,
    a_coordinator_never_sees_an_industrial_request,
);

/// The coordinator of another programme.
const OTHER_COORDINATOR: &str = "coordinator-bob";

async fn a_coordinator_acts_only_on_its_own_calls(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = world.call_for(&[(&world.de, 50)]).await;
    assert_eq!(call.coordinator, COORDINATOR, "the call records who created it");
    let proposal = world
        .propose(&applicant, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    world.assess_all(&call.id, &[(&proposal, 8.0)]).await;

    let other = coordinator_named(OTHER_COORDINATOR);
    let stricter = || proto::Rulebook {
        score_threshold: 9.5,
        ..rulebook()
    };
    expect_code(
        &world
            .amend_rulebook(&other, &call.id, stricter(), "raise the bar")
            .await,
        Code::PermissionDenied,
        "another coordinator amends the rulebook",
    );
    expect_code(
        &world.set_panel(&other, &call.id, vec![member("reviewer-eve")]).await,
        Code::PermissionDenied,
        "another coordinator sets the panel",
    );
    expect_code(
        &world.ranking(&other, &call.id).await,
        Code::PermissionDenied,
        "another coordinator ranks",
    );
    for dry_run in [true, false] {
        expect_code(
            &world.run_allocation(&other, &call.id, dry_run).await,
            Code::PermissionDenied,
            "another coordinator runs the allocation",
        );
    }
    expect_code(
        &world.ledger(&other, &call.id).await,
        Code::PermissionDenied,
        "another coordinator reads the ledger",
    );
    expect_code(
        &world.get_proposal(&other, &proposal.id).await,
        Code::PermissionDenied,
        "another coordinator reads a proposal",
    );
    expect_code(
        &world.evaluate_eligibility(&other, &proposal.id).await,
        Code::PermissionDenied,
        "another coordinator evaluates a proposal",
    );
    expect_code(
        &world.list_slots(&other, &proposal.id).await,
        Code::PermissionDenied,
        "another coordinator lists a proposal's slots",
    );
    let listed = world.list_proposals(&other, &call.id).await.expect("lists");
    assert!(listed.is_empty(), "another coordinator lists none: {listed:?}");
    let unknown = world.get_proposal(&other, &rti_platform::ids::new_id()).await;
    expect_code(
        &unknown,
        Code::PermissionDenied,
        "an unknown proposal is not told apart",
    );

    let unchanged = world.get_call(&call.id).await.expect("the call");
    assert_eq!(
        unchanged.rulebook.as_ref().expect("a rulebook").version,
        1,
        "refused amendments change nothing"
    );
    assert_eq!(
        unchanged.status(),
        proto::CallStatus::Open,
        "refused runs store nothing"
    );
    let panel_of_one = world.proposal(&proposal.id).await;
    assert_eq!(
        panel_of_one.reviews.len(),
        1,
        "the refused panel did not replace the panel"
    );

    // The other way: the call's own coordinator, and an admin.
    let own = coordinator();
    let amended = world
        .amend_rulebook(&own, &call.id, stricter(), "raise the bar")
        .await
        .expect("the call's coordinator amends");
    assert_eq!(amended.rulebook.expect("a rulebook").version, 2);
    world
        .amend_rulebook(&admin(), &call.id, rulebook(), "back to the programme's bar")
        .await
        .expect("an admin amends any call");
    world.ranking(&own, &call.id).await.expect("ranks");
    world.ledger(&own, &call.id).await.expect("reads the ledger");
    let seen = world.get_proposal(&own, &proposal.id).await.expect("reads");
    assert_eq!(seen.reviews.len(), 1, "the coordinator sees the reviews");
    world.evaluate_eligibility(&own, &proposal.id).await.expect("evaluates");
    world.list_slots(&own, &proposal.id).await.expect("lists the slots");
    let listed = world.list_proposals(&own, &call.id).await.expect("lists");
    assert_eq!(listed.len(), 1);
    world.run_allocation(&own, &call.id, true).await.expect("a dry run");
    world
        .set_panel(&own, &call.id, vec![member(REVIEWER)])
        .await
        .expect("sets the panel");
    world.commit(&call.id).await;

    // And a call of the other coordinator is that coordinator's alone.
    let theirs = world
        .create_call(&other, call_request(vec![offered(&world.fr, 20)]))
        .await
        .expect("the other coordinator opens a call");
    expect_code(
        &world.set_panel(&own, &theirs.id, vec![member(REVIEWER)]).await,
        Code::PermissionDenied,
        "a coordinator sets the panel of another's call",
    );
    world
        .set_panel(&other, &theirs.id, vec![member(REVIEWER)])
        .await
        .expect("its coordinator sets the panel");
    world.stop().await;
}

async fn a_coordinator_never_sees_an_industrial_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(sme("DE", "Sensorik GmbH")).await;
    let operator = world.de.operator();
    let accepted = world.accepted_industrial(&applicant, world.de.id(), 5, &operator).await;
    assert_eq!(accepted.lane(), proto::Lane::Industrial);
    for (who, caller) in [
        ("the tests' coordinator", coordinator()),
        ("another coordinator", coordinator_named(OTHER_COORDINATOR)),
    ] {
        expect_code(
            &world.get_proposal(&caller, &accepted.id).await,
            Code::PermissionDenied,
            who,
        );
        expect_code(
            &world.list_slots(&caller, &accepted.id).await,
            Code::PermissionDenied,
            who,
        );
        expect_code(
            &world.evaluate_eligibility(&caller, &accepted.id).await,
            Code::PermissionDenied,
            who,
        );
    }
    // The other way: the installation's operator, the requester and an admin see it.
    for (who, caller) in [
        ("the operator", operator),
        ("the requester", applicant.token.clone()),
        ("an admin", admin()),
    ] {
        world.get_proposal(&caller, &accepted.id).await.expect(who);
        world.list_slots(&caller, &accepted.id).await.expect(who);
    }
    world.stop().await;
}
