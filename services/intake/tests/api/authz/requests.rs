//! Access requests: created, read, listed, submitted and withdrawn by their own organisation;
//! sanctions lists imported by an admin; screening reviewed by anyone but the applicant.

use super::*;

rti_platform::backend_tests!(
    an_applicant_creates_access_requests_only_for_its_own_organisation,
    a_request_is_read_by_its_organisation_its_operators_admins_and_services,
    listing_shows_each_caller_only_the_requests_it_may_read,
    only_the_requesting_organisation_submits_its_request,
    only_the_requesting_organisation_withdraws_its_request,
    only_an_admin_imports_a_sanctions_list,
    an_applicant_cannot_review_the_screening_of_its_own_held_request,
);

fn create_request(request: proto::AccessRequest) -> proto::CreateAccessRequestRequest {
    proto::CreateAccessRequestRequest {
        idempotency_key: new_id(),
        access_request: Some(request),
    }
}

async fn an_applicant_creates_access_requests_only_for_its_own_organisation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (mine, applicant) = world.register(small_company("Acme Photonics")).await;
    let (theirs, _) = world.register(small_company("Other Optics")).await;
    let mut client = world.client();
    let for_organisation = |organisation_id: &str| proto::AccessRequest {
        organisation_id: organisation_id.into(),
        ..industrial(&world.plain.id)
    };

    let own = expect_ok(
        client
            .create_access_request(with_token(create_request(for_organisation(&mine.id)), &applicant))
            .await,
        "a request for its own organisation",
    );
    assert_eq!(own.organisation_id, mine.id);
    let foreign = client
        .create_access_request(with_token(create_request(for_organisation(&theirs.id)), &applicant))
        .await;
    expect_code(&foreign, Code::PermissionDenied, "a request for another organisation");
    let nameless = client
        .create_access_request(with_token(
            create_request(industrial(&world.plain.id)),
            &applicant_without_organisation(),
        ))
        .await;
    expect_code(&nameless, Code::PermissionDenied, "a token without `org`");
    let by_admin = expect_ok(
        client
            .create_access_request(with_token(
                create_request(for_organisation(&theirs.id)),
                &token(Role::Admin),
            ))
            .await,
        "an admin creates a request for the organisation named",
    );
    assert_eq!(by_admin.organisation_id, theirs.id);
    world.stop().await;
}

async fn a_request_is_read_by_its_organisation_its_operators_admins_and_services(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let (_, other_applicant) = world.register(small_company("Other Optics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let mut client = world.client();
    let get = |id: &str| proto::GetAccessRequestRequest { id: id.into() };
    let operator = operator_token(&[&world.plain.infrastructure_id]);

    let readers = [
        ("the requesting organisation's applicant", applicant.clone()),
        ("an operator of the installation's infrastructure", operator.clone()),
        ("an admin", token(Role::Admin)),
        ("a service", token(Role::Service)),
    ];
    for (who, caller) in &readers {
        let read = expect_ok(client.get_access_request(with_token(get(&draft.id), caller)).await, who);
        assert_eq!(read, draft, "{who}");
    }
    let strangers = [
        ("another organisation's applicant", other_applicant.clone()),
        ("an applicant without `org`", applicant_without_organisation()),
        ("an operator of another infrastructure", stranger_operator()),
    ];
    for (who, caller) in &strangers {
        let refused = client.get_access_request(with_token(get(&draft.id), caller)).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }

    // An unknown id does not tell a non-admin whether it exists.
    let unknown = new_id();
    for (who, caller) in [("an applicant", &applicant), ("an operator", &operator)] {
        let refused = client.get_access_request(with_token(get(&unknown), caller)).await;
        expect_code(&refused, Code::PermissionDenied, &format!("an unknown id as {who}"));
    }
    for role in [Role::Admin, Role::Service] {
        let missing = client.get_access_request(with_token(get(&unknown), &token(role))).await;
        expect_code(&missing, Code::NotFound, &format!("an unknown id as {role:?}"));
    }
    world.stop().await;
}

/// The ids of the requests `caller` lists with `organisation_id` as the filter, sorted.
async fn listed(world: &World, caller: &str, organisation_id: &str) -> Vec<String> {
    let listed = expect_ok(
        world
            .client()
            .list_access_requests(with_token(
                proto::ListAccessRequestsRequest {
                    organisation_id: organisation_id.into(),
                    ..Default::default()
                },
                caller,
            ))
            .await,
        "lists",
    );
    assert!(listed.next_page_token.is_empty(), "one page");
    let mut ids: Vec<String> = listed.access_requests.into_iter().map(|request| request.id).collect();
    ids.sort();
    ids
}

async fn listing_shows_each_caller_only_the_requests_it_may_read(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant_a) = world.register(small_company("Acme Photonics")).await;
    let (organisation_b, applicant_b) = world.register(small_company("Other Optics")).await;
    let request_a = world.draft(&applicant_a, industrial(&world.plain.id)).await;
    let request_b = world.draft(&applicant_b, industrial(&world.plain.id)).await;
    let mut both = vec![request_a.id.clone(), request_b.id.clone()];
    both.sort();

    assert_eq!(listed(&world, &applicant_a, "").await, [request_a.id.as_str()]);
    assert_eq!(listed(&world, &applicant_b, "").await, [request_b.id.as_str()]);
    assert_eq!(
        listed(&world, &applicant_a, &organisation_b.id).await,
        Vec::<String>::new(),
        "a filter on another organisation widens nothing"
    );
    assert_eq!(
        listed(&world, &applicant_without_organisation(), "").await,
        Vec::<String>::new(),
        "an applicant without `org` sees nothing"
    );
    let operator = operator_token(&[&world.plain.infrastructure_id]);
    assert_eq!(listed(&world, &operator, "").await, both);
    assert_eq!(listed(&world, &stranger_operator(), "").await, Vec::<String>::new());
    for role in [Role::Admin, Role::Service] {
        assert_eq!(listed(&world, &token(role), "").await, both, "{role:?}");
    }
    assert_eq!(
        listed(&world, &token(Role::Admin), &organisation_b.id).await,
        [request_b.id.as_str()],
        "the filter narrows an admin's list"
    );
    world.stop().await;
}

async fn only_the_requesting_organisation_submits_its_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let (_, other_applicant) = world.register(small_company("Other Optics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let operator = operator_token(&[&world.plain.infrastructure_id]);

    for (who, caller) in [
        ("another organisation's applicant", &other_applicant),
        ("an operator who reads the request", &operator),
    ] {
        let refused = world.submit(caller, &draft.id).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(status_of(&world, &draft.id).await, proto::AccessRequestStatus::Draft);
    let submitted = world.submit(&applicant, &draft.id).await;
    expect_code(&submitted, Code::Ok, "the requesting organisation's applicant");
    assert_eq!(
        submitted.expect("checked").status(),
        proto::AccessRequestStatus::Feasibility
    );
    world.stop().await;
}

async fn only_the_requesting_organisation_withdraws_its_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let (_, other_applicant) = world.register(small_company("Other Optics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let operator = operator_token(&[&world.plain.infrastructure_id]);
    let mut client = world.client();
    let withdraw = || proto::WithdrawAccessRequestRequest {
        id: draft.id.clone(),
        reason: "found capacity at home".into(),
    };

    for (who, caller) in [
        ("another organisation's applicant", &other_applicant),
        ("an operator who reads the request", &operator),
    ] {
        let refused = client.withdraw_access_request(with_token(withdraw(), caller)).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    assert_eq!(status_of(&world, &draft.id).await, proto::AccessRequestStatus::Draft);
    let withdrawn = expect_ok(
        client.withdraw_access_request(with_token(withdraw(), &applicant)).await,
        "the requesting organisation's applicant",
    );
    assert_eq!(withdrawn.status(), proto::AccessRequestStatus::Withdrawn);
    world.stop().await;
}

async fn only_an_admin_imports_a_sanctions_list(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let mut client = world.client();
    let import = || proto::ImportSanctionsListRequest {
        format: proto::SanctionsListFormat::Xml as i32,
        content: SANCTIONS_XML.as_bytes().to_vec(),
    };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let operator = operator_token(&[&world.plain.infrastructure_id]);
    for (who, caller) in [
        ("an applicant", applicant),
        ("an operator", operator),
        ("a service", token(Role::Service)),
        ("a reviewer", token(Role::Reviewer)),
    ] {
        let refused = client.import_sanctions_list(with_token(import(), &caller)).await;
        expect_code(&refused, Code::PermissionDenied, who);
    }
    let imported = world.import_fixture_list().await;
    assert_eq!(imported.parties, 2);
    world.stop().await;
}

async fn an_applicant_cannot_review_the_screening_of_its_own_held_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.quantum.id)).await;
    let held = world.submit(&applicant, &draft.id).await.expect("submits");
    assert_eq!(held.status(), proto::AccessRequestStatus::Screening);

    let refused = world
        .client()
        .review_screening(with_token(
            proto::ReviewScreeningRequest {
                id: draft.id.clone(),
                decision: proto::ReviewDecision::Approve as i32,
                rationale: "we vouch for ourselves".into(),
                conditions: String::new(),
            },
            &applicant,
        ))
        .await;
    expect_code(
        &refused,
        Code::PermissionDenied,
        "the requester reviews its own screening",
    );
    assert_eq!(
        status_of(&world, &draft.id).await,
        proto::AccessRequestStatus::Screening,
        "still held"
    );
    world.stop().await;
}
