//! Who may do what, both ways: the RPC × role table walked through a running allocation and
//! checked against the contract's comments, then the object-level rules in the handlers:
//! coordinators run calls, reviewers see their panel's proposals, operators act at their
//! installations, applicants for their own organisation.

use rti_allocation::AUTHZ;
use rti_platform::auth::Role::{self, Admin, Applicant, Coordinator, Funder, Operator, Reviewer, Service};
use rti_platform::authz::Access;
use rti_platform::db::Backend;
use rti_platform::testing::{call_with_empty_request, expect_code, token};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    every_rpc_admits_exactly_the_roles_its_rule_names,
    only_a_coordinator_or_an_admin_creates_and_runs_calls,
    operators_see_offer_and_confirm_only_at_their_installations,
    applicants_see_and_accept_only_their_own_proposals_and_slots,
    operators_and_applicants_read_only_their_lines_of_an_allocation,
);

/// Whether a status is the table's refusal (not a handler's answer to an empty request).
fn refused_by_table(status: &tonic::Status) -> bool {
    status.code() == Code::Unauthenticated
        || (status.code() == Code::PermissionDenied && status.message().contains("is for the roles"))
}

/// What the contract's comments say of each RPC: roles that must be admitted, and roles that
/// must not be. `None` for the public ones.
fn contract(method: &str) -> Option<(&'static [Role], &'static [Role])> {
    const RUNS_CALLS: (&[Role], &[Role]) = (&[Coordinator, Admin], &[Applicant, Operator, Reviewer, Funder]);
    const READS_PROPOSALS: (&[Role], &[Role]) = (&[Coordinator, Admin, Reviewer, Operator, Applicant], &[Funder]);
    const OPERATOR_ONLY: (&[Role], &[Role]) = (&[Operator], &[Applicant, Reviewer, Funder, Service]);
    let rule: (&'static [Role], &'static [Role]) = match method {
        "GetCall" | "ListCalls" => return None,
        "CreateCall" | "AmendRulebook" | "SetPanel" | "GetRanking" | "RunAllocation" | "GetLedger" => RUNS_CALLS,
        "GetProposal" | "ListProposals" => READS_PROPOSALS,
        "EvaluateEligibility" => (&[Coordinator, Admin, Service], &[Applicant, Operator, Reviewer, Funder]),
        "DeclareConflict" | "SubmitReview" => (&[Reviewer], &[Applicant, Operator, Funder, Service]),
        "SubmitFeasibility" | "OfferSlot" | "ConfirmSlot" | "RecordDelivery" => OPERATOR_ONLY,
        "GetAllocation" | "ListSlots" => (&[Coordinator, Admin, Operator, Applicant], &[Funder]),
        "AcceptSlot" => (&[Applicant], &[Operator, Reviewer, Funder, Service]),
        "DeclineSlot" => (&[Applicant, Operator], &[Reviewer, Funder, Service]),
        "Subscribe" => (&[Admin, Service], &[Applicant, Operator, Reviewer, Coordinator, Funder]),
        other => panic!("{other} is not in the contract"),
    };
    Some(rule)
}

async fn every_rpc_admits_exactly_the_roles_its_rule_names(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
    let channel = world.allocation_channel();
    for rule in AUTHZ.rules {
        let method = rule.method;
        match (contract(method), rule.access) {
            (None, Access::Public) => {}
            (Some((admitted, excluded)), Access::Roles(roles)) => {
                for role in admitted {
                    assert!(roles.contains(role), "{method} admits {role:?} (contract)");
                }
                for role in excluded {
                    assert!(!roles.contains(role), "{method} refuses {role:?} (contract)");
                }
            }
            (_, access) => panic!("{method}: the table says {access:?}, the contract otherwise"),
        }
        let anonymous = call_with_empty_request(channel.clone(), AUTHZ.service, method, None).await;
        match rule.access {
            Access::Public => assert!(
                !anonymous.as_ref().is_err_and(refused_by_table),
                "{method} anonymous: {anonymous:?}"
            ),
            Access::Roles(_) => expect_code(&anonymous, Code::Unauthenticated, &format!("{method} anonymous")),
        }
        for role in Role::ALL {
            let outcome = call_with_empty_request(channel.clone(), AUTHZ.service, method, Some(&token(role))).await;
            let allowed = match rule.access {
                Access::Public => true,
                Access::Roles(roles) => roles.contains(&role),
            };
            if allowed {
                assert!(
                    !outcome.as_ref().is_err_and(refused_by_table),
                    "{method} as {role:?}: {outcome:?}"
                );
            } else {
                expect_code(&outcome, Code::PermissionDenied, &format!("{method} as {role:?}"));
                assert!(
                    outcome.as_ref().is_err_and(refused_by_table),
                    "{method} as {role:?} is refused by the table: {outcome:?}"
                );
            }
        }
    }
    let forged = call_with_empty_request(channel, AUTHZ.service, "ListProposals", Some("not.a.jwt")).await;
    expect_code(&forged, Code::Unauthenticated, "a forged token");
    world.stop().await;
}

async fn only_a_coordinator_or_an_admin_creates_and_runs_calls(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let outsiders = [
        ("a reviewer", reviewer(REVIEWER)),
        ("an operator of the installation", world.de.operator()),
        ("an applicant", applicant.token.clone()),
        ("a funder", funder()),
    ];
    let request = call_request(vec![offered(&world.de, 50)]);
    for (who, caller) in &outsiders {
        let refused = world.create_call(caller, request.clone()).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    let call = world.open_call(request).await;
    let by_admin = world
        .create_call(&admin(), call_request(vec![offered(&world.de, 50)]))
        .await;
    expect_code(&by_admin, Code::Ok, "an admin");

    let proposal = world
        .propose(&applicant, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    world.assess_all(&call.id, &[(&proposal, 8.0)]).await;
    for (who, caller) in &outsiders {
        let run = world.run_allocation(caller, &call.id, false).await;
        expect_code(&run, Code::PermissionDenied, who);
        let panel = world.set_panel(caller, &call.id, vec![member(who)]).await;
        expect_code(&panel, Code::PermissionDenied, who);
        let ranking = world.ranking(caller, &call.id).await;
        expect_code(&ranking, Code::PermissionDenied, who);
    }
    let missing = world.get_allocation(&coordinator(), &call.id).await;
    expect_code(&missing, Code::NotFound, "refused runs store nothing");
    world.commit(&call.id).await;
    world.stop().await;
}

async fn operators_see_offer_and_confirm_only_at_their_installations(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let applicant = world.applicant(university("PL", "Politechnika Testowa")).await;
    let granted = world.granted(&applicant, &[(&world.de, 10)], &users_in("PL", 2)).await;
    let id = &granted.proposal.id;
    let (own, other) = (world.de.operator(), world.fr.operator());

    expect_code(
        &world.get_proposal(&own, id).await,
        Code::Ok,
        "the installation's operator",
    );
    expect_code(
        &world.get_proposal(&other, id).await,
        Code::PermissionDenied,
        "another operator",
    );
    let offered_elsewhere = world.offer_slot(&other, offer(id, &world.de, 5)).await;
    expect_code(&offered_elsewhere, Code::PermissionDenied, "another operator offers");
    let held = world.offer_slot(&own, offer(id, &world.de, 5)).await.expect("offers");
    world.accept_slot(&applicant.token, &held.id).await.expect("accepts");
    for (who, caller) in [("another operator", other.clone()), ("a stranger", stranger_operator())] {
        let refused = world.confirm_slot(&caller, &held.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
        let delivery = world.record_delivery(&caller, &held.id, (5, 0), "").await;
        expect_code(&delivery, Code::PermissionDenied, who);
        let listed = world.list_slots(&caller, id).await;
        expect_code(&listed, Code::PermissionDenied, who);
    }
    let confirmed = world.confirm_slot(&own, &held.id).await.expect("its own installation");
    assert_eq!(confirmed.status(), rti_proto::allocation::SlotStatus::Confirmed);
    world.stop().await;
}

async fn applicants_see_and_accept_only_their_own_proposals_and_slots(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let owner = world.applicant(university("PL", "Politechnika Testowa")).await;
    let stranger = world.applicant(university("FR", "Université d'Essai")).await;
    let granted = world.granted(&owner, &[(&world.de, 10)], &users_in("PL", 2)).await;
    let id = &granted.proposal.id;

    expect_code(
        &world.get_proposal(&owner.token, id).await,
        Code::Ok,
        "its own proposal",
    );
    let foreign = world.get_proposal(&stranger.token, id).await;
    expect_code(&foreign, Code::PermissionDenied, "another organisation's proposal");
    let listed = world
        .list_proposals(&stranger.token, &granted.call.id)
        .await
        .unwrap_or_default();
    assert!(listed.iter().all(|proposal| proposal.id != *id), "left out: {listed:?}");
    let own_list = world
        .list_proposals(&owner.token, &granted.call.id)
        .await
        .expect("lists");
    assert!(own_list.iter().any(|proposal| proposal.id == *id));
    let reviews = world.get_proposal(&owner.token, id).await.expect("reads").reviews;
    assert!(reviews.is_empty(), "reviews are for the coordinator: {reviews:?}");

    let held = world
        .offer_slot(&world.de.operator(), offer(id, &world.de, 5))
        .await
        .expect("offers");
    let slots = world.list_slots(&stranger.token, id).await;
    expect_code(&slots, Code::PermissionDenied, "another organisation's slots");
    let accepted = world.accept_slot(&stranger.token, &held.id).await;
    expect_code(&accepted, Code::PermissionDenied, "another organisation accepts");
    let declined = world.decline_slot(&stranger.token, &held.id).await;
    expect_code(&declined, Code::PermissionDenied, "another organisation declines");
    let accepted = world.accept_slot(&owner.token, &held.id).await.expect("its own slot");
    assert_eq!(accepted.status(), rti_proto::allocation::SlotStatus::Accepted);
    world.stop().await;
}

async fn operators_and_applicants_read_only_their_lines_of_an_allocation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let polish = world.applicant(university("PL", "Politechnika Testowa")).await;
    let french = world.applicant(university("FR", "Université d'Essai")).await;
    let call = world.call_for(&[(&world.de, 50), (&world.fr, 50)]).await;
    let at_de = world
        .propose(&polish, &call.id, &[(world.de.id(), 10)], &users_in("PL", 2))
        .await;
    let at_fr = world
        .propose(&french, &call.id, &[(world.fr.id(), 10)], &users_in("DE", 2))
        .await;
    world.assess_all(&call.id, &[(&at_de, 8.0), (&at_fr, 8.0)]).await;
    world.commit(&call.id).await;

    let lines = |allocation: &rti_proto::allocation::Allocation| -> Vec<String> {
        allocation.lines.iter().map(|line| line.proposal_id.clone()).collect()
    };
    for (who, caller, own) in [
        ("the PL applicant", polish.token.clone(), &at_de.id),
        ("the FR applicant", french.token.clone(), &at_fr.id),
        ("the DE operator", world.de.operator(), &at_de.id),
        ("the FR operator", world.fr.operator(), &at_fr.id),
    ] {
        let seen = world.get_allocation(&caller, &call.id).await.expect(who);
        assert_eq!(lines(&seen), std::slice::from_ref(own), "{who} sees its line only");
    }
    let everything = world.get_allocation(&coordinator(), &call.id).await.expect("reads");
    assert_eq!(everything.lines.len(), 2);
    let refused = world.get_allocation(&reviewer(REVIEWER), &call.id).await;
    expect_code(&refused, Code::PermissionDenied, "a reviewer");
    let ledger = world.ledger(&polish.token, &call.id).await;
    expect_code(&ledger, Code::PermissionDenied, "the ledger is the coordinator's");
    world.stop().await;
}
