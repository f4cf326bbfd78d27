//! The status machines, transition by transition, through the RPCs (DESIGN §3, SEC-7).

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{operator_token, token};
use rti_proto::intake::{self as proto, AccessRequestStatus as S};

use crate::helpers::*;

rti_platform::backend_tests!(
    an_industrial_request_goes_from_draft_through_screening_to_feasibility,
    a_listed_person_declines_the_request_at_screening,
    a_near_name_holds_the_request_until_a_person_decides,
    a_critical_technology_installation_holds_the_request_for_security_review,
    a_transnational_proposal_goes_to_review,
    withdrawing_ends_the_request_and_nothing_follows,
    the_other_edges_of_both_lanes_are_taken_and_stored,
);

async fn an_industrial_request_goes_from_draft_through_screening_to_feasibility(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    assert_eq!(draft.status(), S::Draft);
    assert_eq!(path(&draft), [S::Draft]);

    let submitted = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(submitted.status(), S::Feasibility);
    assert_eq!(path(&submitted), [S::Draft, S::Submitted, S::Screening, S::Feasibility]);
    let acceptance = submitted.agreement_acceptance.clone().expect("acceptance recorded");
    assert_eq!(acceptance.kind(), proto::AgreementKind::ServiceContract);
    assert_eq!(acceptance.version, 1);
    assert_eq!(acceptance.accepted_by, submitted.history[1].actor);
    assert_eq!(submitted.history[2].actor, "intake");
    let screening = submitted.screening.clone().expect("screened");
    assert_eq!(screening.verdict(), proto::ScreeningVerdict::Clear);

    // A retried submission returns the request as it is.
    let again = world.submit(&applicant, &draft.id).await.expect("a retry is answered");
    assert_eq!(again, submitted);
    // What was returned is what is stored.
    let read = world
        .client()
        .get_access_request(with_token(
            proto::GetAccessRequestRequest { id: draft.id.clone() },
            &applicant,
        ))
        .await
        .expect("reads")
        .into_inner();
    assert_eq!(read, submitted);
    world.stop().await;
}

async fn a_listed_person_declines_the_request_at_screening(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let contact = world.person(&applicant, "Boris Invented-Testname").await;
    let submitted = world.submitted_with_contact(&applicant, &contact.id).await;
    assert_eq!(submitted.status(), S::Declined, "SEC-1: a MATCH blocks");
    assert_eq!(path(&submitted), [S::Draft, S::Submitted, S::Screening, S::Declined]);
    let screening = submitted.screening.expect("screened");
    assert_eq!(screening.verdict(), proto::ScreeningVerdict::Match);
    assert_eq!(screening.hits[0].listed_party, "FICT.0001");
    assert_eq!(screening.hits[0].subject_id, contact.id);
    assert!(
        submitted.history[3].reason.contains("FICT.0001"),
        "{:?}",
        submitted.history[3]
    );
    world.stop().await;
}

async fn a_near_name_holds_the_request_until_a_person_decides(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let contact = world.person(&applicant, "Borys Invented-Testnam").await;
    let held = world.submitted_with_contact(&applicant, &contact.id).await;
    assert_eq!(held.status(), S::Screening, "SEC-3: a POSSIBLE goes to a person");
    assert_eq!(
        held.screening.as_ref().expect("screened").verdict(),
        proto::ScreeningVerdict::Possible
    );

    let review = |decision: proto::ReviewDecision, rationale: &str| proto::ReviewScreeningRequest {
        id: held.id.clone(),
        decision: decision as i32,
        rationale: rationale.into(),
        conditions: String::new(),
    };
    let missing = world
        .client()
        .review_screening(with_token(
            review(proto::ReviewDecision::Approve, ""),
            &token(Role::Admin),
        ))
        .await
        .expect_err("a decision needs its rationale");
    assert_eq!(violated_fields(&missing), ["rationale"]);
    let approved = world
        .client()
        .review_screening(with_token(
            review(proto::ReviewDecision::Approve, "different birth date and employer"),
            &token(Role::Admin),
        ))
        .await
        .expect("reviews")
        .into_inner();
    assert_eq!(approved.status(), S::Feasibility);
    let decided = approved.screening.expect("screened").review.expect("review recorded");
    assert_eq!(decided.rationale, "different birth date and employer");
    assert_eq!(decided.reviewer, "test-admin");
    // Reviewed once: a second decision is refused, naming the state.
    let again = world
        .client()
        .review_screening(with_token(
            review(proto::ReviewDecision::Reject, "changed my mind"),
            &token(Role::Admin),
        ))
        .await
        .expect_err("only a held request is reviewed");
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert!(again.message().contains("FEASIBILITY"), "{}", again.message());
    world.stop().await;
}

async fn a_critical_technology_installation_holds_the_request_for_security_review(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.quantum.id)).await;
    let held = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(held.status(), S::Screening, "SEC-5 flags go to a security review");
    let flags = held.screening.expect("screened").security_flags;
    assert!(
        flags[0].contains("QUANTUM") && flags[0].contains("highest-risk"),
        "{flags:?}"
    );

    let conditions_missing = world
        .client()
        .review_screening(with_token(
            proto::ReviewScreeningRequest {
                id: draft.id.clone(),
                decision: proto::ReviewDecision::ApproveWithConditions as i32,
                rationale: "civil research".into(),
                conditions: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("conditions are required");
    assert_eq!(violated_fields(&conditions_missing), ["conditions"]);
    let rejected = world
        .client()
        .review_screening(with_token(
            proto::ReviewScreeningRequest {
                id: draft.id.clone(),
                decision: proto::ReviewDecision::Reject as i32,
                rationale: "end use not credible".into(),
                conditions: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("reviews")
        .into_inner();
    assert_eq!(rejected.status(), S::Declined);
    assert_eq!(path(&rejected), [S::Draft, S::Submitted, S::Screening, S::Declined]);
    world.stop().await;
}

async fn a_transnational_proposal_goes_to_review(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (organisation, applicant) = world.register(small_company("Acme Photonics")).await;
    let leader = world.person(&applicant, "Anna Example").await;
    let member = world.person(&applicant, "Jonas Sample").await;
    let group = world.user_group(&applicant, &leader.id, &[&member.id]).await;
    assert_eq!(group.organisation_id, organisation.id);
    let draft = world.draft(&applicant, transnational(&world.plain.id, &group.id)).await;
    assert_eq!(draft.agreement_kind(), proto::AgreementKind::TaUserAgreement);
    assert_eq!(draft.ip_regime(), proto::IpRegime::OpenDissemination);
    // The TA lane needs no acceptance flag: the TA user agreement comes with the grant.
    let submitted = world
        .client()
        .submit_access_request(with_token(
            proto::SubmitAccessRequestRequest {
                id: draft.id.clone(),
                accept_agreement: false,
            },
            &applicant,
        ))
        .await
        .expect("submits")
        .into_inner();
    assert_eq!(path(&submitted), [S::Draft, S::Submitted, S::Screening, S::InReview]);
    world.stop().await;
}

async fn withdrawing_ends_the_request_and_nothing_follows(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let withdrawn = world
        .client()
        .withdraw_access_request(with_token(
            proto::WithdrawAccessRequestRequest {
                id: draft.id.clone(),
                reason: "found capacity at home".into(),
            },
            &applicant,
        ))
        .await
        .expect("withdraws")
        .into_inner();
    assert_eq!(path(&withdrawn), [S::Draft, S::Withdrawn]);
    assert_eq!(withdrawn.history[1].reason, "found capacity at home");
    let refused = world
        .submit(&applicant, &draft.id)
        .await
        .expect_err("a withdrawn draft is not submitted");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "the request is WITHDRAWN; it cannot become SUBMITTED"
    );
    world.stop().await;
}

/// A TA proposal of `applicant`'s organisation, submitted and in review.
async fn in_review(world: &World, applicant: &str) -> proto::AccessRequest {
    let leader = world.person(applicant, "Anna Example").await;
    let group = world.user_group(applicant, &leader.id, &[]).await;
    let draft = world.draft(applicant, transnational(&world.plain.id, &group.id)).await;
    let submitted = world.submit(applicant, &draft.id).await.expect("submits");
    assert_eq!(submitted.status(), S::InReview);
    submitted
}

async fn the_other_edges_of_both_lanes_are_taken_and_stored(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, 10_000).await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let operator = operator_token(&[&world.plain.infrastructure_id]);
    let service = token(Role::Service);
    let decline = |id: &str, caller: &str| {
        let mut client = world.client();
        let message = proto::DeclineAccessRequestRequest {
            id: id.into(),
            reason: "not this time".into(),
        };
        let caller = caller.to_owned();
        async move {
            client
                .decline_access_request(with_token(message, &caller))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let withdraw = |id: &str| {
        let mut client = world.client();
        let message = proto::WithdrawAccessRequestRequest {
            id: id.into(),
            reason: String::new(),
        };
        let applicant = applicant.clone();
        async move {
            client
                .withdraw_access_request(with_token(message, &applicant))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let quoted = |applicant: String| {
        let world = &world;
        let operator = operator.clone();
        async move {
            let request = world.in_feasibility(&applicant).await;
            world
                .client()
                .quote_access_request(with_token(
                    proto::QuoteAccessRequestRequest {
                        id: request.id.clone(),
                        valid_days: 0,
                    },
                    &operator,
                ))
                .await
                .expect("quotes")
                .into_inner()
        }
    };
    let through_quote = [S::Draft, S::Submitted, S::Screening, S::Feasibility, S::Quoted];

    // Industrial: QUOTED → DECLINED (the operator), QUOTED → WITHDRAWN, ACCEPTED → WITHDRAWN.
    let request = quoted(applicant.clone()).await;
    let declined = decline(&request.id, &operator)
        .await
        .expect("declines a quoted request");
    assert_eq!(path(&declined), [&through_quote[..], &[S::Declined]].concat());
    let request = quoted(applicant.clone()).await;
    let withdrawn = withdraw(&request.id).await.expect("withdraws a quoted request");
    assert_eq!(path(&withdrawn), [&through_quote[..], &[S::Withdrawn]].concat());
    let request = quoted(applicant.clone()).await;
    world
        .client()
        .accept_quote(with_token(
            proto::AcceptQuoteRequest { id: request.id.clone() },
            &applicant,
        ))
        .await
        .expect("accepts");
    let withdrawn = withdraw(&request.id).await.expect("withdraws an accepted request");
    assert_eq!(
        path(&withdrawn),
        [&through_quote[..], &[S::Accepted, S::Withdrawn]].concat()
    );

    // Industrial: SCREENING → WITHDRAWN (held for a security review).
    let draft = world.draft(&applicant, industrial(&world.quantum.id)).await;
    world.submit(&applicant, &draft.id).await.expect("held");
    let withdrawn = withdraw(&draft.id).await.expect("withdraws a held request");
    assert_eq!(path(&withdrawn), [S::Draft, S::Submitted, S::Screening, S::Withdrawn]);

    // TA: IN_REVIEW → DECLINED and IN_REVIEW → CLOSED by allocation (a service), → WITHDRAWN.
    let ta_path = [S::Draft, S::Submitted, S::Screening, S::InReview];
    let proposal = in_review(&world, &applicant).await;
    let refused = decline(&proposal.id, &operator)
        .await
        .expect_err("the panel decides, not the operator");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let declined = decline(&proposal.id, &service).await.expect("the panel declines");
    assert_eq!(path(&declined), [&ta_path[..], &[S::Declined]].concat());
    let proposal = in_review(&world, &applicant).await;
    let closed = world
        .client()
        .close_access_request(with_token(
            proto::CloseAccessRequestRequest {
                id: proposal.id.clone(),
                reason: "units allocated".into(),
            },
            &service,
        ))
        .await
        .expect("allocation closes it")
        .into_inner();
    assert_eq!(path(&closed), [&ta_path[..], &[S::Closed]].concat());
    let proposal = in_review(&world, &applicant).await;
    let withdrawn = withdraw(&proposal.id).await.expect("withdraws a proposal in review");
    assert_eq!(path(&withdrawn), [&ta_path[..], &[S::Withdrawn]].concat());
    // Every step is stored with its actor.
    assert!(
        withdrawn
            .history
            .iter()
            .all(|step| !step.actor.is_empty() && step.time.is_some())
    );
    world.stop().await;
}
