//! Operators act on requests for their own infrastructures only: quotes, declines and closes;
//! the requesting organisation accepts. A request for one installation here; `shared.rs` has
//! requests that name two operators' installations.

use super::*;

rti_platform::backend_tests!(
    only_an_operator_of_the_requested_infrastructure_quotes,
    only_the_requesting_organisation_accepts_its_quote,
    only_an_operator_of_a_requested_infrastructure_declines,
    an_operator_of_the_infrastructure_an_admin_or_a_service_closes,
);

/// EUR 250.00 per hour, the plain installation's tariff in the quoting tests.
const HOURLY: i64 = 25_000;

/// The world with the fixture list imported and a tariff on the plain installation, and a
/// registered applicant with its token.
async fn priced_world(backend: Backend) -> Option<(World, String)> {
    let world = world(backend).await?;
    world.import_fixture_list().await;
    world.set_tariff(&world.plain.id, HOURLY).await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    Some((world, applicant))
}

/// The operator of the plain installation's infrastructure.
fn plain_operator(world: &World) -> String {
    operator_token(&[&world.plain.infrastructure_id])
}

async fn quote_as(
    world: &World,
    caller: &str,
    id: &str,
) -> Result<tonic::Response<proto::AccessRequest>, tonic::Status> {
    let quote = proto::QuoteAccessRequestRequest {
        id: id.into(),
        valid_days: 0,
    };
    world.client().quote_access_request(with_token(quote, caller)).await
}

async fn accept_as(
    world: &World,
    caller: &str,
    id: &str,
) -> Result<tonic::Response<proto::AccessRequest>, tonic::Status> {
    let accept = proto::AcceptQuoteRequest { id: id.into() };
    world.client().accept_quote(with_token(accept, caller)).await
}

async fn decline_as(
    world: &World,
    caller: &str,
    id: &str,
) -> Result<tonic::Response<proto::AccessRequest>, tonic::Status> {
    let decline = proto::DeclineAccessRequestRequest {
        id: id.into(),
        reason: "the resist chemistry is not available".into(),
    };
    world.client().decline_access_request(with_token(decline, caller)).await
}

async fn close_as(
    world: &World,
    caller: &str,
    id: &str,
) -> Result<tonic::Response<proto::AccessRequest>, tonic::Status> {
    let close = proto::CloseAccessRequestRequest {
        id: id.into(),
        reason: String::new(),
    };
    world.client().close_access_request(with_token(close, caller)).await
}

/// A request of `applicant` for the plain installation, quoted by its operator.
async fn quoted(world: &World, applicant: &str) -> proto::AccessRequest {
    let request = world.in_feasibility(applicant).await;
    let quoted = expect_ok(
        quote_as(world, &plain_operator(world), &request.id).await,
        "the operator quotes",
    );
    assert_eq!(quoted.status(), proto::AccessRequestStatus::Quoted);
    quoted
}

/// A request of `applicant` for the plain installation, quoted and accepted.
async fn accepted(world: &World, applicant: &str) -> proto::AccessRequest {
    let request = quoted(world, applicant).await;
    let accepted = expect_ok(accept_as(world, applicant, &request.id).await, "the applicant accepts");
    assert_eq!(accepted.status(), proto::AccessRequestStatus::Accepted);
    accepted
}

/// An operator quotes only when it operates the infrastructure of every requested installation.
/// Requests spanning two infrastructures, and what the operator of one may do and read of them,
/// are walked in `shared.rs`.
async fn only_an_operator_of_the_requested_infrastructure_quotes(backend: Backend) {
    let Some((world, applicant)) = priced_world(backend).await else {
        return;
    };
    let request = world.in_feasibility(&applicant).await;

    for (who, caller) in [
        ("an operator of another infrastructure", stranger_operator()),
        ("the requesting applicant", applicant.clone()),
        ("a reviewer", token(Role::Reviewer)),
        ("a service", token(Role::Service)),
    ] {
        let refused = quote_as(&world, &caller, &request.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Feasibility,
        "refused quotes change nothing"
    );

    let by_operator = expect_ok(
        quote_as(&world, &plain_operator(&world), &request.id).await,
        "the operator of the installation's infrastructure",
    );
    assert_eq!(by_operator.status(), proto::AccessRequestStatus::Quoted);
    // An operator of several infrastructures, the requested one among them.
    let second = world.in_feasibility(&applicant).await;
    let wide_operator = operator_token(&[&new_id(), &world.plain.infrastructure_id]);
    let by_wide_operator = expect_ok(
        quote_as(&world, &wide_operator, &second.id).await,
        "an operator of the requested infrastructure and others",
    );
    assert_eq!(by_wide_operator.status(), proto::AccessRequestStatus::Quoted);
    let third = world.in_feasibility(&applicant).await;
    let by_admin = expect_ok(quote_as(&world, &token(Role::Admin), &third.id).await, "an admin");
    assert_eq!(by_admin.status(), proto::AccessRequestStatus::Quoted);
    world.stop().await;
}

async fn only_the_requesting_organisation_accepts_its_quote(backend: Backend) {
    let Some((world, applicant)) = priced_world(backend).await else {
        return;
    };
    let (_, other_applicant) = world.register(small_company("Other Optics")).await;
    let request = quoted(&world, &applicant).await;

    for (who, caller) in [
        ("another organisation's applicant", other_applicant),
        ("an applicant without `org`", applicant_without_organisation()),
        ("the operator who quoted and reads the request", plain_operator(&world)),
        ("a service", token(Role::Service)),
    ] {
        let refused = accept_as(&world, &caller, &request.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Quoted,
        "refused acceptances change nothing"
    );

    let by_owner = expect_ok(
        accept_as(&world, &applicant, &request.id).await,
        "the requesting organisation's applicant",
    );
    assert_eq!(by_owner.status(), proto::AccessRequestStatus::Accepted);
    let second = quoted(&world, &applicant).await;
    let by_admin = expect_ok(accept_as(&world, &token(Role::Admin), &second.id).await, "an admin");
    assert_eq!(by_admin.status(), proto::AccessRequestStatus::Accepted);
    world.stop().await;
}

async fn only_an_operator_of_a_requested_infrastructure_declines(backend: Backend) {
    let Some((world, applicant)) = priced_world(backend).await else {
        return;
    };
    let (_, other_applicant) = world.register(small_company("Other Optics")).await;
    let request = world.in_feasibility(&applicant).await;

    for (who, caller) in [
        ("an operator of another infrastructure", stranger_operator()),
        ("the requesting applicant", applicant.clone()),
        ("another organisation's applicant", other_applicant),
        ("a service", token(Role::Service)),
    ] {
        let refused = decline_as(&world, &caller, &request.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Feasibility,
        "refused declines change nothing"
    );

    let by_operator = expect_ok(
        decline_as(&world, &plain_operator(&world), &request.id).await,
        "the operator of the installation's infrastructure",
    );
    assert_eq!(by_operator.status(), proto::AccessRequestStatus::Declined);
    let second = world.in_feasibility(&applicant).await;
    let by_admin = expect_ok(decline_as(&world, &token(Role::Admin), &second.id).await, "an admin");
    assert_eq!(by_admin.status(), proto::AccessRequestStatus::Declined);
    world.stop().await;
}

async fn an_operator_of_the_infrastructure_an_admin_or_a_service_closes(backend: Backend) {
    let Some((world, applicant)) = priced_world(backend).await else {
        return;
    };
    let request = accepted(&world, &applicant).await;

    for (who, caller) in [
        ("an operator of another infrastructure", stranger_operator()),
        ("the requesting applicant", applicant.clone()),
        ("a reviewer", token(Role::Reviewer)),
    ] {
        let refused = close_as(&world, &caller, &request.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(
        status_of(&world, &request.id).await,
        proto::AccessRequestStatus::Accepted,
        "refused closes change nothing"
    );

    let closers = [
        (
            "the operator of the installation's infrastructure",
            plain_operator(&world),
        ),
        ("an admin", token(Role::Admin)),
        ("a service", token(Role::Service)),
    ];
    for (index, (who, caller)) in closers.iter().enumerate() {
        let id = if index == 0 {
            request.id.clone()
        } else {
            accepted(&world, &applicant).await.id
        };
        let closed = expect_ok(close_as(&world, caller, &id).await, who);
        assert_eq!(closed.status(), proto::AccessRequestStatus::Closed, "{who}");
        assert_eq!(
            closed.history.last().expect("history").reason,
            "access delivered",
            "{who}"
        );
    }
    world.stop().await;
}
