//! Applicants act for the organisation their token names: registering it, reading it, its people,
//! user groups and de minimis statement.

use super::*;

rti_platform::backend_tests!(
    an_applicant_registers_only_the_organisation_its_token_names,
    an_applicant_reads_only_its_own_organisation,
    people_and_user_groups_are_registered_only_for_the_applicants_own_organisation,
    an_applicant_reads_only_its_own_organisations_de_minimis_statement,
);

fn register_request(organisation: proto::Organisation) -> proto::RegisterOrganisationRequest {
    proto::RegisterOrganisationRequest {
        organisation: Some(organisation),
        ..Default::default()
    }
}

async fn an_applicant_registers_only_the_organisation_its_token_names(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let mut client = world.client();
    let own = new_id();
    let applicant = applicant_token(&own);

    let someone_elses = client
        .register_organisation(with_token(
            register_request(proto::Organisation {
                id: new_id(),
                ..small_company("Impostor GmbH")
            }),
            &applicant,
        ))
        .await;
    expect_code(&someone_elses, Code::PermissionDenied, "another organisation's id");
    let nameless = client
        .register_organisation(with_token(
            register_request(small_company("Nameless GmbH")),
            &applicant_without_organisation(),
        ))
        .await;
    expect_code(&nameless, Code::PermissionDenied, "a token without `org`");

    let registered = expect_ok(
        client
            .register_organisation(with_token(
                register_request(proto::Organisation {
                    id: own.clone(),
                    ..small_company("Acme Photonics")
                }),
                &applicant,
            ))
            .await,
        "the organisation the token names",
    );
    assert_eq!(registered.id, own);

    let chosen = new_id();
    let by_admin = expect_ok(
        client
            .register_organisation(with_token(
                register_request(proto::Organisation {
                    id: chosen.clone(),
                    ..small_company("Registered by an admin")
                }),
                &token(Role::Admin),
            ))
            .await,
        "an admin registers any organisation",
    );
    assert_eq!(by_admin.id, chosen);
    world.stop().await;
}

async fn an_applicant_reads_only_its_own_organisation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (mine, applicant) = world.register(small_company("Acme Photonics")).await;
    let (theirs, _) = world.register(small_company("Other Optics")).await;
    let mut client = world.client();
    let get = |id: &str| proto::GetOrganisationRequest { id: id.into() };

    let own = expect_ok(
        client.get_organisation(with_token(get(&mine.id), &applicant)).await,
        "its own organisation",
    );
    assert_eq!(own, mine);
    let other = client.get_organisation(with_token(get(&theirs.id), &applicant)).await;
    expect_code(&other, Code::PermissionDenied, "another organisation");
    let nameless = client
        .get_organisation(with_token(get(&mine.id), &applicant_without_organisation()))
        .await;
    expect_code(&nameless, Code::PermissionDenied, "a token without `org`");
    for role in [Role::Admin, Role::Service] {
        let read = expect_ok(
            client.get_organisation(with_token(get(&theirs.id), &token(role))).await,
            &format!("{role:?} reads any organisation"),
        );
        assert_eq!(read, theirs);
    }
    world.stop().await;
}

fn person_request(organisation_id: &str, name: &str) -> proto::RegisterPersonRequest {
    proto::RegisterPersonRequest {
        person: Some(proto::Person {
            full_name: name.into(),
            organisation_id: organisation_id.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn group_request(organisation_id: &str, leader_person_id: &str) -> proto::CreateUserGroupRequest {
    proto::CreateUserGroupRequest {
        user_group: Some(proto::UserGroup {
            name: "Sensor team".into(),
            organisation_id: organisation_id.into(),
            leader_person_id: leader_person_id.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn people_and_user_groups_are_registered_only_for_the_applicants_own_organisation(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (mine, applicant) = world.register(small_company("Acme Photonics")).await;
    let (theirs, _) = world.register(small_company("Other Optics")).await;
    let mut client = world.client();

    let person = expect_ok(
        client
            .register_person(with_token(person_request(&mine.id, "Anna Example"), &applicant))
            .await,
        "a person of its own organisation",
    );
    assert_eq!(person.organisation_id, mine.id);
    let foreign_person = client
        .register_person(with_token(person_request(&theirs.id, "Jonas Sample"), &applicant))
        .await;
    expect_code(
        &foreign_person,
        Code::PermissionDenied,
        "a person of another organisation",
    );
    let by_admin = expect_ok(
        client
            .register_person(with_token(
                person_request(&theirs.id, "Jonas Sample"),
                &token(Role::Admin),
            ))
            .await,
        "an admin registers a person anywhere",
    );
    assert_eq!(by_admin.organisation_id, theirs.id);

    let group = expect_ok(
        client
            .create_user_group(with_token(group_request(&mine.id, &person.id), &applicant))
            .await,
        "a group of its own organisation",
    );
    assert_eq!(group.organisation_id, mine.id);
    let foreign_group = client
        .create_user_group(with_token(group_request(&theirs.id, &person.id), &applicant))
        .await;
    expect_code(
        &foreign_group,
        Code::PermissionDenied,
        "a group of another organisation",
    );
    // Issue 13, item 5: a group that does not exist is not told apart from another's.
    let get = |id: &str, caller: &str| {
        let request = with_token(proto::GetUserGroupRequest { id: id.into() }, caller);
        let mut client = world.client();
        async move { client.get_user_group(request).await }
    };
    let foreign = expect_ok(
        client
            .create_user_group(with_token(group_request(&theirs.id, &by_admin.id), &token(Role::Admin)))
            .await,
        "an admin makes a group of the other organisation",
    );
    expect_ok(get(&group.id, &applicant).await, "its own group");
    let nowhere = new_id();
    expect_code(
        &get(&foreign.id, &applicant).await,
        Code::PermissionDenied,
        "another's group",
    );
    expect_code(
        &get(&nowhere, &applicant).await,
        Code::PermissionDenied,
        "no such group",
    );
    expect_code(
        &get(&nowhere, &token(Role::Admin)).await,
        Code::NotFound,
        "no such group, to an admin",
    );
    world.stop().await;
}

async fn statement_as(
    world: &World,
    caller: &str,
    organisation_id: &str,
) -> Result<tonic::Response<proto::DeMinimisStatement>, tonic::Status> {
    let get = proto::GetDeMinimisStatementRequest {
        organisation_id: organisation_id.into(),
    };
    world.client().get_de_minimis_statement(with_token(get, caller)).await
}

async fn an_applicant_reads_only_its_own_organisations_de_minimis_statement(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (mine, applicant) = world.register(small_company("Acme Photonics")).await;
    let (theirs, _) = world.register(small_company("Other Optics")).await;

    for (what, named) in [
        ("its organisation by default", ""),
        ("its organisation by id", mine.id.as_str()),
    ] {
        let own = expect_ok(statement_as(&world, &applicant, named).await, what);
        assert_eq!(own.organisation_id, mine.id, "{what}");
    }
    let other = statement_as(&world, &applicant, &theirs.id).await;
    expect_code(&other, Code::PermissionDenied, "another registered organisation");
    let unknown = statement_as(&world, &applicant, &new_id()).await;
    expect_code(
        &unknown,
        Code::PermissionDenied,
        "an unknown organisation, without telling whether it exists",
    );
    let nameless = statement_as(&world, &applicant_without_organisation(), "").await;
    expect_code(&nameless, Code::PermissionDenied, "a token without `org`");
    let operator = statement_as(&world, &stranger_operator(), &mine.id).await;
    expect_code(&operator, Code::PermissionDenied, "an operator");

    for role in [Role::Admin, Role::Service] {
        for organisation in [&mine, &theirs] {
            let read = expect_ok(
                statement_as(&world, &token(role), &organisation.id).await,
                &format!("{role:?} reads any organisation's statement"),
            );
            assert_eq!(read.organisation_id, organisation.id, "{role:?}");
        }
        let unnamed = statement_as(&world, &token(role), "")
            .await
            .expect_err("an admin or a service names the organisation");
        assert_eq!(violated_fields(&unnamed), ["organisation_id"], "{role:?}");
    }
    world.stop().await;
}
