//! RunAllocation: a dry run that stores nothing, the coordinator's committed run stored once
//! with a line and an explanation per proposal, and the limits it keeps: the 20 % cap at its
//! boundary (TA-6), a per-country cap, and each installation's capacity in the call.

use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, LineDecision};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    a_dry_run_stores_nothing_and_stays_within_the_lp_bound,
    a_committed_run_is_stored_once_with_a_line_per_proposal,
    ta6_the_twenty_percent_cap_at_its_boundary,
    a_country_cap_limits_the_units_of_groups_led_from_one_country,
    capacity_goes_to_the_higher_ranked_proposal,
);

/// A call over `units` of the DE site under `rules`, with `grant_planned_units`.
async fn de_call(world: &World, units: i64, rules: proto::Rulebook, grant_planned_units: i64) -> proto::Call {
    world
        .open_call(proto::CreateCallRequest {
            rulebook: Some(rules),
            grant_planned_units,
            ..call_request(vec![offered(&world.de, units)])
        })
        .await
}

/// Grants are all or nothing.
fn whole_grants() -> proto::Rulebook {
    proto::Rulebook {
        min_grant_percent: 100,
        ..rulebook()
    }
}

/// A proposal of `applicant`'s group of `users` for `units` of the DE site in `call`.
async fn asking(
    world: &World,
    applicant: &Applicant,
    call: &proto::Call,
    units: i64,
    users: &[User],
) -> proto::Proposal {
    world
        .propose(applicant, &call.id, &[(world.de.id(), units)], users)
        .await
}

/// The DE units granted to `proposal_id`, and its decision.
fn outcome(allocation: &proto::Allocation, proposal_id: &str, installation_id: &str) -> (LineDecision, i64) {
    let decided = line(allocation, proposal_id);
    (decided.decision(), units_at(&decided.granted, installation_id))
}

#[track_caller]
fn check_bound(run: &proto::RunAllocationResponse) {
    assert!(run.objective > 0.0, "{run:?}");
    assert!(
        run.objective <= run.lp_bound + 1e-6,
        "the LP relaxation bounds the objective: {run:?}"
    );
    assert!(run.ratio > 0.0 && run.ratio <= 1.0 + 1e-9, "{run:?}");
    assert!((run.ratio - run.objective / run.lp_bound).abs() < 1e-6, "{run:?}");
}

async fn a_dry_run_stores_nothing_and_stays_within_the_lp_bound(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = de_call(&world, 50, rulebook(), 0).await;
    let first = asking(&world, &applicant, &call, 30, &users_in("PL", 2)).await;
    let second = asking(&world, &applicant, &call, 30, &users_in("FR", 2)).await;
    world.assess_all(&call.id, &[(&first, 8.0), (&second, 6.0)]).await;

    let dry = world
        .run_allocation(&coordinator(), &call.id, true)
        .await
        .expect("a dry run");
    assert!(dry.dry_run);
    check_bound(&dry);
    let proposed = dry.allocation.clone().expect("the allocation it would store");
    assert_eq!(proposed.lines.len(), 2, "{proposed:#?}");
    let missing = world.get_allocation(&coordinator(), &call.id).await;
    assert_eq!(missing.expect_err("nothing stored").code(), Code::NotFound);
    for proposal in [&first, &second] {
        let unchanged = world.proposal(&proposal.id).await;
        assert_eq!(unchanged.status(), proto::ProposalStatus::InReview);
    }
    assert_eq!(
        world.get_call(&call.id).await.expect("reads").status(),
        proto::CallStatus::Open
    );

    let again = world
        .run_allocation(&coordinator(), &call.id, true)
        .await
        .expect("a dry run again");
    assert!((again.objective - dry.objective).abs() < 1e-9);
    let committed = world.commit(&call.id).await;
    assert!(!committed.dry_run);
    check_bound(&committed);
    world.stop().await;
}

async fn a_committed_run_is_stored_once_with_a_line_per_proposal(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = de_call(&world, 100, rulebook(), 0).await;
    let sound = asking(&world, &applicant, &call, 40, &users_in("PL", 2)).await;
    let at_home = asking(&world, &applicant, &call, 20, &users_in("DE", 2)).await;
    world.assess_all(&call.id, &[(&sound, 8.0), (&at_home, 9.0)]).await;

    let run = world.commit(&call.id).await;
    check_bound(&run);
    let allocation = run.allocation.clone().expect("the stored allocation");
    assert_eq!(allocation.call_id, call.id);
    assert_eq!(allocation.rulebook_version, 1);
    assert_eq!(allocation.approved_by, COORDINATOR);
    assert_eq!(
        outcome(&allocation, &sound.id, world.de.id()),
        (LineDecision::Granted, 40)
    );
    assert!(!line(&allocation, &sound.id).explanation.is_empty());
    let refused = line(&allocation, &at_home.id);
    assert_eq!(refused.decision(), LineDecision::Refused);
    assert!(refused.granted.iter().all(|granted| granted.units == 0), "{refused:?}");
    assert!(refused.explanation.contains("TA-2"), "names the rule: {refused:?}");
    assert_eq!(units_at(&refused.requested, world.de.id()), 20);

    let stored = world.get_allocation(&coordinator(), &call.id).await.expect("stored");
    assert_eq!(stored, allocation, "what RunAllocation returned is what is stored");
    assert_eq!(world.proposal(&sound.id).await.status(), proto::ProposalStatus::Granted);
    assert_eq!(
        world.proposal(&at_home.id).await.status(),
        proto::ProposalStatus::Refused
    );
    assert_eq!(
        world.get_call(&call.id).await.expect("reads").status(),
        proto::CallStatus::Allocated
    );

    let twice = world
        .run_allocation(&coordinator(), &call.id, false)
        .await
        .expect_err("a call is allocated once");
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    assert_eq!(
        world
            .get_allocation(&admin(), &call.id)
            .await
            .expect("an admin reads it"),
        allocation
    );
    world.stop().await;
}

async fn ta6_the_twenty_percent_cap_at_its_boundary(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let american = world.applicant(company("US", "Sensorics Inc.")).await;
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    // 20 % of the grant's 100 planned units: a budget of 20 units for non-EU/AC-majority groups.
    let call = de_call(&world, 100, whole_grants(), 100).await;
    let exactly = asking(&world, &american, &call, 20, &users_in("US", 2)).await;
    let over = asking(
        &world,
        &american,
        &call,
        21,
        &[works_in("US"), works_in("CA"), works_in("US")],
    )
    .await;
    let european = asking(&world, &polish, &call, 21, &users_in("PL", 2)).await;
    assert!(exactly.non_eu_majority && over.non_eu_majority && !european.non_eu_majority);
    // The proposal over the cap has the best score: only the cap refuses it.
    world
        .assess_all(&call.id, &[(&exactly, 7.0), (&over, 9.0), (&european, 5.0)])
        .await;

    let allocation = world.commit(&call.id).await.allocation.expect("stored");
    assert_eq!(allocation.non_eu_budget_units, 20);
    assert_eq!(
        outcome(&allocation, &exactly.id, world.de.id()),
        (LineDecision::Granted, 20)
    );
    assert_eq!(
        outcome(&allocation, &over.id, world.de.id()),
        (LineDecision::Refused, 0)
    );
    let explanation = &line(&allocation, &over.id).explanation;
    assert!(
        ["20 %", "20%", "TA-6"].iter().any(|cap| explanation.contains(cap)),
        "the 20 % cap is named: {explanation}"
    );
    assert!(line(&allocation, &over.id).non_eu_majority);
    assert_eq!(
        outcome(&allocation, &european.id, world.de.id()),
        (LineDecision::Granted, 21)
    );
    assert_eq!(allocation.non_eu_granted_units, 20);
    world.stop().await;
}

async fn a_country_cap_limits_the_units_of_groups_led_from_one_country(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let french = world.applicant(university("FR", "Université d'Essai")).await;
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    let capped = proto::Rulebook {
        country_cap_percent: 30,
        ..whole_grants()
    };
    // At most 30 of the call's 100 units to groups led from one country.
    let call = de_call(&world, 100, capped, 0).await;
    let first_fr = asking(&world, &french, &call, 20, &users_in("FR", 2)).await;
    let second_fr = asking(&world, &french, &call, 20, &[works_in("FR"), works_in("PL")]).await;
    let from_pl = asking(&world, &polish, &call, 20, &users_in("PL", 2)).await;
    world
        .assess_all(&call.id, &[(&first_fr, 9.0), (&second_fr, 8.0), (&from_pl, 7.0)])
        .await;

    let allocation = world.commit(&call.id).await.allocation.expect("stored");
    assert_eq!(
        outcome(&allocation, &first_fr.id, world.de.id()),
        (LineDecision::Granted, 20)
    );
    assert_eq!(
        outcome(&allocation, &second_fr.id, world.de.id()),
        (LineDecision::Refused, 0),
        "20 + 20 units led from FR exceed 30: {:?}",
        line(&allocation, &second_fr.id)
    );
    let explanation = &line(&allocation, &second_fr.id).explanation;
    assert!(
        explanation.contains("FR") || explanation.contains("country"),
        "{explanation}"
    );
    assert_eq!(
        outcome(&allocation, &from_pl.id, world.de.id()),
        (LineDecision::Granted, 20)
    );
    world.stop().await;
}

async fn capacity_goes_to_the_higher_ranked_proposal(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = de_call(&world, 100, rulebook(), 0).await;
    let higher = asking(&world, &applicant, &call, 60, &users_in("PL", 2)).await;
    let lower = asking(&world, &applicant, &call, 60, &users_in("FR", 2)).await;
    world.assess_all(&call.id, &[(&higher, 9.0), (&lower, 6.0)]).await;

    let allocation = world.commit(&call.id).await.allocation.expect("stored");
    assert_eq!(
        outcome(&allocation, &higher.id, world.de.id()),
        (LineDecision::Granted, 60)
    );
    let (decision, units) = outcome(&allocation, &lower.id, world.de.id());
    assert!(units <= 40, "the call offers 100 units in all: {allocation:#?}");
    assert!(
        matches!(decision, LineDecision::Cut | LineDecision::Refused),
        "{decision:?}"
    );
    if decision == LineDecision::Cut {
        // Partial grants keep the rulebook's minimum share (50 % of 60).
        assert!(units >= 30, "{units}");
        assert!(!line(&allocation, &lower.id).explanation.is_empty());
    }
    world.stop().await;
}
