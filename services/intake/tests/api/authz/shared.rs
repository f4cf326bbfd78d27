//! Requests that name installations of two operators (issue 13, item 5): a decision that ends
//! the request (decline, close) needs an operator of every installation it names, and what one
//! operator reads of the request leaves out the other's quote lines and the screening's hits.
//! Coordinators read no request at all here, industrial ones least of all.

use rti_proto::registry;

use super::*;

rti_platform::backend_tests!(
    declining_and_closing_need_an_operator_of_every_requested_installation,
    an_operator_reads_neither_screening_hits_nor_another_operators_quote_lines,
);

/// EUR 250.00 and EUR 900.00 per hour, the two installations' tariffs.
const PLAIN_HOURLY: i64 = 25_000;
const ELSEWHERE_HOURLY: i64 = 90_000;

/// The world with the fixture list imported, a second installation run by another operator,
/// tariffs on both, and a registered applicant with its token.
async fn shared_world(backend: Backend) -> Option<(World, registry::Installation, String)> {
    let world = world(backend).await?;
    world.import_fixture_list().await;
    let elsewhere = world.elsewhere("Beamline").await;
    world.set_tariff(&world.plain.id, PLAIN_HOURLY).await;
    world.set_tariff(&elsewhere.id, ELSEWHERE_HOURLY).await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    Some((world, elsewhere, applicant))
}

/// An industrial draft of `applicant` for the plain installation and `elsewhere`, with
/// `contact_person_id` as its contact (empty for none).
async fn draft_for_both(
    world: &World,
    elsewhere: &registry::Installation,
    applicant: &str,
    contact_person_id: &str,
) -> proto::AccessRequest {
    let mut request = industrial(&world.plain.id);
    request.installations.push(proto::RequestedInstallation {
        installation_id: elsewhere.id.clone(),
        units: 2,
    });
    request.contact_person_id = contact_person_id.into();
    world.draft(applicant, request).await
}

/// A request of `applicant` for both installations, submitted and screened clear.
async fn in_feasibility(world: &World, elsewhere: &registry::Installation, applicant: &str) -> proto::AccessRequest {
    let draft = draft_for_both(world, elsewhere, applicant, "").await;
    let submitted = world.submit(applicant, &draft.id).await.expect("submits");
    assert_eq!(submitted.status(), proto::AccessRequestStatus::Feasibility);
    submitted
}

fn operator_of_both(world: &World, elsewhere: &registry::Installation) -> String {
    operator_token(&[&world.plain.infrastructure_id, &elsewhere.infrastructure_id])
}

async fn quote(world: &World, caller: &str, id: &str) -> proto::AccessRequest {
    let request = proto::QuoteAccessRequestRequest {
        id: id.into(),
        valid_days: 0,
    };
    expect_ok(
        world.client().quote_access_request(with_token(request, caller)).await,
        "an operator of both installations quotes",
    )
}

async fn get_as(world: &World, caller: &str, id: &str) -> Result<tonic::Response<proto::AccessRequest>, tonic::Status> {
    let request = proto::GetAccessRequestRequest { id: id.into() };
    world.client().get_access_request(with_token(request, caller)).await
}

async fn declining_and_closing_need_an_operator_of_every_requested_installation(backend: Backend) {
    let Some((world, elsewhere, applicant)) = shared_world(backend).await else {
        return;
    };
    let plain_operator = operator_token(&[&world.plain.infrastructure_id]);
    let elsewhere_operator = operator_token(&[&elsewhere.infrastructure_id]);
    let both = operator_of_both(&world, &elsewhere);

    let request = in_feasibility(&world, &elsewhere, &applicant).await;
    let decline = |caller: &str| {
        let message = proto::DeclineAccessRequestRequest {
            id: request.id.clone(),
            reason: "no capacity this quarter".into(),
        };
        let mut client = world.client();
        let request = with_token(message, caller);
        async move { client.decline_access_request(request).await }
    };
    for (who, caller) in [
        ("the operator of the first installation only", &plain_operator),
        ("the operator of the second installation only", &elsewhere_operator),
    ] {
        let refused = decline(caller).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Feasibility,
        "a refused decline changes nothing"
    );
    let declined = expect_ok(decline(&both).await, "an operator of both installations declines");
    assert_eq!(declined.status(), proto::AccessRequestStatus::Declined);

    let request = in_feasibility(&world, &elsewhere, &applicant).await;
    quote(&world, &both, &request.id).await;
    let accept = proto::AcceptQuoteRequest { id: request.id.clone() };
    expect_ok(
        world.client().accept_quote(with_token(accept, &applicant)).await,
        "the applicant accepts",
    );
    let close = |caller: &str| {
        let message = proto::CloseAccessRequestRequest {
            id: request.id.clone(),
            reason: String::new(),
        };
        let mut client = world.client();
        let request = with_token(message, caller);
        async move { client.close_access_request(request).await }
    };
    for (who, caller) in [
        ("the operator of the first installation only", &plain_operator),
        ("the operator of the second installation only", &elsewhere_operator),
    ] {
        let refused = close(caller).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Accepted,
        "a refused close changes nothing"
    );
    let closed = expect_ok(close(&both).await, "an operator of both installations closes");
    assert_eq!(closed.status(), proto::AccessRequestStatus::Closed);
    world.stop().await;
}

async fn an_operator_reads_neither_screening_hits_nor_another_operators_quote_lines(backend: Backend) {
    let Some((world, elsewhere, applicant)) = shared_world(backend).await else {
        return;
    };
    // SEC-3: a name close to a listed one is a POSSIBLE hit, held for the compliance officer.
    let contact = world.person(&applicant, "Borys Invented-Testnam").await;
    let draft = draft_for_both(&world, &elsewhere, &applicant, &contact.id).await;
    let held = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(held.status(), proto::AccessRequestStatus::Screening);
    let review = proto::ReviewScreeningRequest {
        id: held.id.clone(),
        decision: proto::ReviewDecision::Approve as i32,
        rationale: "Borys Invented-Testnam has another birth date than the listed person".into(),
        conditions: String::new(),
    };
    expect_ok(
        world
            .client()
            .review_screening(with_token(review, &token(Role::Admin)))
            .await,
        "the compliance officer clears the hit",
    );
    quote(&world, &operator_of_both(&world, &elsewhere), &held.id).await;

    let plain_operator = operator_token(&[&world.plain.infrastructure_id]);
    let seen = expect_ok(
        get_as(&world, &plain_operator, &held.id).await,
        "the operator of one installation",
    );
    let screening = seen.screening.as_ref().expect("the screening's verdict is shown");
    assert_eq!(screening.verdict(), proto::ScreeningVerdict::Possible);
    assert!(screening.hits.is_empty(), "no hit is shown: {:?}", screening.hits);
    assert_eq!(screening.review.as_ref().expect("the decision is shown").rationale, "");
    assert!(
        seen.history
            .iter()
            .all(|step| !step.reason.contains("Invented") && !step.reason.contains("EU.FICT")),
        "no step names the hit: {:?}",
        seen.history
    );
    let quote = seen.quote.as_ref().expect("the quote");
    let lines: Vec<&str> = quote.lines.iter().map(|line| line.installation_id.as_str()).collect();
    assert_eq!(lines, [world.plain.id.as_str()], "only the operator's own line");
    let market = quote.market_price.as_ref().expect("a total");
    assert_eq!(market.minor_units, 4 * PLAIN_HOURLY, "the total of the lines shown");
    assert!(quote.aid.as_ref().is_none_or(|aid| aid.minor_units == 0));
    assert!(
        quote
            .de_minimis_headroom_after
            .as_ref()
            .is_none_or(|headroom| headroom.minor_units == 0)
    );
    let listed = world
        .client()
        .list_access_requests(with_token(proto::ListAccessRequestsRequest::default(), &plain_operator))
        .await
        .expect("the operator lists")
        .into_inner();
    assert_eq!(
        listed.access_requests,
        std::slice::from_ref(&seen),
        "the list shows what the get shows"
    );

    // The other way: the requester and an admin see the hits and every line.
    for (who, caller) in [("the requester", applicant.clone()), ("an admin", token(Role::Admin))] {
        let whole = expect_ok(get_as(&world, &caller, &held.id).await, who);
        assert_eq!(whole.screening.expect("screened").hits.len(), 1, "{who}");
        assert_eq!(whole.quote.expect("quoted").lines.len(), 2, "{who}");
    }
    // A coordinator reads no request of intake, this industrial one included.
    let coordinator = token(Role::Coordinator);
    expect_code(
        &get_as(&world, &coordinator, &held.id).await,
        Code::PermissionDenied,
        "a coordinator reads an industrial request",
    );
    let listed = world
        .client()
        .list_access_requests(with_token(proto::ListAccessRequestsRequest::default(), &coordinator))
        .await;
    expect_code(&listed, Code::PermissionDenied, "a coordinator lists requests");
    world.stop().await;
}
