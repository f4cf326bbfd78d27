//! Selection (TA-7): the panel and its conflicts of interest, reviews per criterion and their
//! weighted score, the operators' feasibility, and the ranking with its priority bonuses.

use rti_platform::db::Backend;
use rti_proto::allocation as proto;
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    ta7_a_panel_reviews_the_calls_proposals_and_states_its_independence,
    a_declared_conflict_hides_the_proposal_from_the_reviewer,
    a_review_scores_every_criterion_from_zero_to_ten,
    the_weighted_score_is_the_weighted_mean_and_a_reviewer_sees_only_its_own,
    feasibility_comes_from_the_operator_of_the_installation,
    ta7_groups_new_to_the_installation_get_the_new_user_bonus,
    ta7_groups_from_countries_without_an_equivalent_ri_get_priority,
    a_proposal_that_cannot_be_allocated_says_why,
);

const ALICE: &str = "reviewer-alice";
const BOB: &str = "reviewer-bob";
const CAROL: &str = "reviewer-carol";

/// A call offering 50 units of the DE site, and a proposal to it of a group working in PL.
async fn one_proposal(world: &World) -> (proto::Call, proto::Proposal) {
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let call = world.call_for(&[(&world.de, 50)]).await;
    let proposal = world
        .propose(&applicant, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    (call, proposal)
}

fn listed(proposals: &[proto::Proposal], id: &str) -> bool {
    proposals.iter().any(|proposal| proposal.id == id)
}

/// Whether `subject` finds `proposal_id` among the call's proposals (a refusal finds nothing).
async fn lists(world: &World, subject: &str, call_id: &str, proposal_id: &str) -> bool {
    match world.list_proposals(&reviewer(subject), call_id).await {
        Ok(proposals) => listed(&proposals, proposal_id),
        Err(status) => {
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            false
        }
    }
}

async fn ta7_a_panel_reviews_the_calls_proposals_and_states_its_independence(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (call, proposal) = one_proposal(&world).await;
    let members = vec![
        member(ALICE),
        member(BOB),
        proto::PanelMember {
            independent: false,
            ..member(CAROL)
        },
    ];
    let panel = world
        .set_panel(&coordinator(), &call.id, members.clone())
        .await
        .expect("sets the panel");
    assert_eq!(panel.call_id, call.id);
    assert_eq!(panel.members, members);
    assert!((panel.independent_share - 2.0 / 3.0).abs() < 1e-9, "{panel:?}");

    let seen = world
        .get_proposal(&reviewer(ALICE), &proposal.id)
        .await
        .expect("a panel member sees the call's proposals");
    assert_eq!(seen.id, proposal.id);
    assert!(lists(&world, ALICE, &call.id, &proposal.id).await);

    let outsider = "reviewer-dave";
    let refused = world.get_proposal(&reviewer(outsider), &proposal.id).await;
    assert_eq!(refused.expect_err("not on the panel").code(), Code::PermissionDenied);
    assert!(!lists(&world, outsider, &call.id, &proposal.id).await);
    let review = world
        .submit_review(&reviewer(outsider), &proposal.id, scores(9.0, 9.0))
        .await;
    assert_eq!(review.expect_err("not on the panel").code(), Code::PermissionDenied);

    // A new panel replaces the old one: Carol leaves and no longer sees the proposal.
    world.panel(&call.id, &[ALICE, BOB]).await;
    let gone = world.get_proposal(&reviewer(CAROL), &proposal.id).await;
    assert_eq!(gone.expect_err("off the panel").code(), Code::PermissionDenied);
    world.stop().await;
}

async fn a_declared_conflict_hides_the_proposal_from_the_reviewer(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (call, proposal) = one_proposal(&world).await;
    world.panel(&call.id, &[ALICE, BOB]).await;
    world
        .declare_conflict(&reviewer(ALICE), &proposal.id)
        .await
        .expect("a panel member declares a conflict");

    let hidden = world.get_proposal(&reviewer(ALICE), &proposal.id).await;
    assert_eq!(hidden.expect_err("conflicted").code(), Code::PermissionDenied);
    assert!(
        !lists(&world, ALICE, &call.id, &proposal.id).await,
        "left out of the list"
    );
    let scored = world
        .submit_review(&reviewer(ALICE), &proposal.id, scores(9.0, 9.0))
        .await
        .expect_err("a conflicted member does not score");
    assert!(
        matches!(scored.code(), Code::PermissionDenied | Code::FailedPrecondition),
        "{scored:?}"
    );
    let reviews = world
        .get_proposal(&coordinator(), &proposal.id)
        .await
        .expect("reads")
        .reviews;
    assert!(reviews.is_empty(), "{reviews:?}");

    // The other member is not concerned.
    world
        .get_proposal(&reviewer(BOB), &proposal.id)
        .await
        .expect("Bob still sees it");
    assert!(lists(&world, BOB, &call.id, &proposal.id).await);
    world
        .submit_review(&reviewer(BOB), &proposal.id, scores(7.0, 7.0))
        .await
        .expect("Bob scores it");
    world.stop().await;
}

/// The fields a refused review names.
async fn refused_review(world: &World, proposal_id: &str, given: Vec<proto::CriterionScore>) -> Vec<String> {
    let refused = world
        .submit_review(&reviewer(REVIEWER), proposal_id, given)
        .await
        .expect_err("the review is invalid");
    violated_fields(&refused)
}

#[track_caller]
fn names_scores(fields: &[String]) {
    assert!(fields.iter().any(|field| field.starts_with("scores")), "{fields:?}");
}

async fn a_review_scores_every_criterion_from_zero_to_ten(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (call, proposal) = one_proposal(&world).await;
    world.panel(&call.id, &[REVIEWER]).await;

    let mut missing = scores(8.0, 8.0);
    missing.pop();
    names_scores(&refused_review(&world, &proposal.id, missing).await);
    names_scores(&refused_review(&world, &proposal.id, scores(11.0, 8.0)).await);
    names_scores(&refused_review(&world, &proposal.id, scores(8.0, -1.0)).await);
    let mut unknown = scores(8.0, 8.0);
    unknown[1].criterion = "charisma".into();
    names_scores(&refused_review(&world, &proposal.id, unknown).await);

    let reviews = world
        .get_proposal(&coordinator(), &proposal.id)
        .await
        .expect("reads")
        .reviews;
    assert!(reviews.is_empty(), "refused reviews are not stored: {reviews:?}");
    let bounds = world
        .submit_review(&reviewer(REVIEWER), &proposal.id, scores(0.0, 10.0))
        .await
        .expect("0 and 10 are scores");
    assert_eq!(bounds.reviewer, REVIEWER);
    world.stop().await;
}

async fn the_weighted_score_is_the_weighted_mean_and_a_reviewer_sees_only_its_own(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (call, proposal) = one_proposal(&world).await;
    world.panel(&call.id, &[ALICE, BOB]).await;
    let weighted = |excellence: f64, feasibility: f64| {
        (EXCELLENCE_WEIGHT * excellence + FEASIBILITY_WEIGHT * feasibility) / (EXCELLENCE_WEIGHT + FEASIBILITY_WEIGHT)
    };
    let by_alice = world
        .submit_review(&reviewer(ALICE), &proposal.id, scores(8.0, 4.0))
        .await
        .expect("Alice reviews");
    assert!(
        (by_alice.weighted_score - weighted(8.0, 4.0)).abs() < 1e-9,
        "{by_alice:?}"
    );
    assert!((by_alice.weighted_score - 7.0).abs() < 1e-9);
    assert_eq!(by_alice.proposal_id, proposal.id);
    let by_bob = world
        .submit_review(&reviewer(BOB), &proposal.id, scores(5.0, 9.0))
        .await
        .expect("Bob reviews");
    assert!((by_bob.weighted_score - 6.0).abs() < 1e-9, "{by_bob:?}");

    for subject in [ALICE, BOB] {
        let seen = world
            .get_proposal(&reviewer(subject), &proposal.id)
            .await
            .expect("reads");
        let reviewers: Vec<&str> = seen.reviews.iter().map(|review| review.reviewer.as_str()).collect();
        assert_eq!(reviewers, [subject], "a reviewer sees its own review only");
    }
    let all = world.get_proposal(&coordinator(), &proposal.id).await.expect("reads");
    let mut reviewers: Vec<&str> = all.reviews.iter().map(|review| review.reviewer.as_str()).collect();
    reviewers.sort_unstable();
    assert_eq!(reviewers, [ALICE, BOB], "the coordinator sees every review");

    let ranked = world.ranking(&coordinator(), &call.id).await.expect("ranks");
    let entry = &ranked.proposals[0];
    assert_eq!((entry.proposal_id.as_str(), entry.reviews), (proposal.id.as_str(), 2));
    assert!((entry.mean_score - 6.5).abs() < 1e-9, "{entry:?}");

    // A member's new review replaces its earlier one.
    world
        .submit_review(&reviewer(ALICE), &proposal.id, scores(10.0, 10.0))
        .await
        .expect("Alice reviews again");
    let ranked = world.ranking(&coordinator(), &call.id).await.expect("ranks");
    assert_eq!(ranked.proposals[0].reviews, 2);
    assert!(
        (ranked.proposals[0].mean_score - 8.0).abs() < 1e-9,
        "{:?}",
        ranked.proposals[0]
    );
    world.stop().await;
}

async fn feasibility_comes_from_the_operator_of_the_installation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, proposal) = one_proposal(&world).await;
    let applicant = applicant_token(&proposal.organisation_id);
    for (who, caller) in [
        ("the operator of another infrastructure", world.fr.operator()),
        ("an operator of nothing here", stranger_operator()),
        ("the applicant", applicant),
    ] {
        let refused = world
            .submit_feasibility(&caller, &proposal.id, world.de.id(), true)
            .await
            .expect_err(who);
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}: {refused:?}");
    }
    let assessed = world
        .submit_feasibility(&world.de.operator(), &proposal.id, world.de.id(), true)
        .await
        .expect("the operator of the installation");
    let [feasibility] = &assessed.feasibility[..] else {
        panic!("one feasibility: {:?}", assessed.feasibility)
    };
    assert_eq!(feasibility.installation_id, world.de.id());
    assert!(feasibility.feasible);
    assert_eq!(feasibility.operator, "test-operator");
    let elsewhere = world
        .submit_feasibility(&world.fr.operator(), &proposal.id, world.fr.id(), true)
        .await;
    assert!(elsewhere.is_err(), "the proposal does not ask for the FR installation");
    world.stop().await;
}

/// The ranking's entry for `proposal_id`.
fn entry<'a>(ranking: &'a proto::Ranking, proposal_id: &str) -> &'a proto::RankedProposal {
    ranking
        .proposals
        .iter()
        .find(|entry| entry.proposal_id == proposal_id)
        .unwrap_or_else(|| panic!("{proposal_id} is ranked: {ranking:#?}"))
}

async fn ta7_groups_new_to_the_installation_get_the_new_user_bonus(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    // A group uses the DE installation under a first call: granted, confirmed and delivered.
    let veterans = world.group(&applicant, &users_in("PL", 2)).await;
    let first = world.granted_group(&applicant, &[(&world.de, 10)], &veterans.id).await;
    let slot = world
        .confirmed_slot(&first.proposal.id, &world.de, 10, &applicant)
        .await;
    world
        .record_delivery(&world.de.operator(), &slot.id, (10, 0), "")
        .await
        .expect("delivered");

    let call = world.call_for(&[(&world.de, 50)]).await;
    let returning = world
        .propose_request(
            &applicant,
            transnational(&call.id, &[(world.de.id(), 10)], &veterans.id),
        )
        .await;
    let newcomers = world
        .propose(&applicant, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    world
        .assess_all(&call.id, &[(&returning, 7.0), (&newcomers, 7.0)])
        .await;
    let ranking = world.ranking(&coordinator(), &call.id).await.expect("ranks");
    let new = entry(&ranking, &newcomers.id);
    assert!(
        (new.priority_bonus - 0.5).abs() < 1e-9,
        "the rulebook's new_user_bonus: {new:?}"
    );
    assert!(!new.bonus_reasons.is_empty());
    assert!((new.total - (new.mean_score + new.priority_bonus)).abs() < 1e-9);
    let old = entry(&ranking, &returning.id);
    assert!(
        old.priority_bonus.abs() < 1e-9,
        "they used the installation before: {old:?}"
    );
    assert!(new.rank < old.rank, "{ranking:#?}");
    world.stop().await;
}

async fn ta7_groups_from_countries_without_an_equivalent_ri_get_priority(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let with_equivalent = proto::CallInstallation {
        equivalent_ri_countries: vec!["FR".into()],
        ..offered(&world.de, 50)
    };
    let bonus = proto::Rulebook {
        no_equivalent_ri_bonus: 2.0,
        ..rulebook()
    };
    let call = world.call_under(bonus, vec![with_equivalent]).await;
    let french = world.applicant(university("FR", "Université d'Essai")).await;
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    let asks = [(world.de.id(), 10)];
    let from_fr = world.propose(&french, &call.id, &asks, &users_in("FR", 2)).await;
    let from_pl = world.propose(&polish, &call.id, &asks, &users_in("PL", 2)).await;
    world.assess_all(&call.id, &[(&from_fr, 8.0), (&from_pl, 7.0)]).await;

    let ranking = world.ranking(&coordinator(), &call.id).await.expect("ranks");
    let fr = entry(&ranking, &from_fr.id);
    let pl = entry(&ranking, &from_pl.id);
    assert!((fr.priority_bonus - 0.5).abs() < 1e-9, "new users only: {fr:?}");
    assert!(
        (pl.priority_bonus - 2.5).abs() < 1e-9,
        "new users, and no equivalent RI in PL: {pl:?}"
    );
    assert!((pl.total - 9.5).abs() < 1e-9 && (fr.total - 8.5).abs() < 1e-9);
    let order: Vec<&str> = ranking
        .proposals
        .iter()
        .map(|entry| entry.proposal_id.as_str())
        .collect();
    assert_eq!(
        order,
        [from_pl.id.as_str(), from_fr.id.as_str()],
        "ordered by mean plus bonus"
    );
    assert_eq!((pl.rank, fr.rank), (1, 2));
    world.stop().await;
}

async fn a_proposal_that_cannot_be_allocated_says_why(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let threshold = proto::Rulebook {
        score_threshold: 5.0,
        ..rulebook()
    };
    let call = world.call_under(threshold, vec![offered(&world.de, 100)]).await;
    let asks = [(world.de.id(), 10)];
    let abroad = users_in("PL", 2);
    let sound = world.propose(&applicant, &call.id, &asks, &abroad).await;
    let ineligible = world.propose(&applicant, &call.id, &asks, &users_in("DE", 2)).await;
    let weak = world.propose(&applicant, &call.id, &asks, &abroad).await;
    world
        .assess_all(&call.id, &[(&sound, 8.0), (&ineligible, 8.0), (&weak, 3.0)])
        .await;

    let unassessed = world.propose(&applicant, &call.id, &asks, &abroad).await;
    world
        .submit_review(&reviewer(REVIEWER), &unassessed.id, scores(8.0, 8.0))
        .await
        .expect("reviewed, but no operator assessed it");
    let unreviewed = world.propose(&applicant, &call.id, &asks, &abroad).await;
    world
        .submit_feasibility(&world.de.operator(), &unreviewed.id, world.de.id(), true)
        .await
        .expect("feasible, but nobody reviewed it");
    let infeasible = world.propose(&applicant, &call.id, &asks, &abroad).await;
    world
        .submit_review(&reviewer(REVIEWER), &infeasible.id, scores(8.0, 8.0))
        .await
        .expect("reviewed");
    world
        .submit_feasibility(&world.de.operator(), &infeasible.id, world.de.id(), false)
        .await
        .expect("not feasible");

    let ranking = world.ranking(&coordinator(), &call.id).await.expect("ranks");
    let ok = entry(&ranking, &sound.id);
    assert!(ok.allocatable, "{ok:?}");
    assert!(ok.not_allocatable_reason.is_empty());
    for (what, proposal) in [
        ("ineligible (TA-2)", &ineligible),
        ("below the threshold", &weak),
        ("without feasibility", &unassessed),
        ("without reviews", &unreviewed),
        ("not feasible", &infeasible),
    ] {
        let ranked = entry(&ranking, &proposal.id);
        assert!(!ranked.allocatable, "{what}: {ranked:?}");
        assert!(!ranked.not_allocatable_reason.is_empty(), "{what} says why: {ranked:?}");
    }
    assert_eq!(
        entry(&ranking, &ineligible.id).eligibility(),
        proto::EligibilityOutcome::Fail
    );
    world.stop().await;
}
