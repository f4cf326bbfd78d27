//! Calls: what CreateCall refuses and names, retries, public reads with the registry's facts,
//! and rulebook amendments as new versions (TA-8, TA-15).

use rti_platform::db::Backend;
use rti_platform::ids::new_id;
use rti_proto::allocation as proto;

use crate::helpers::*;

rti_platform::backend_tests!(
    create_call_names_every_invalid_field,
    create_call_refuses_unknown_and_unpublished_installations,
    a_retried_create_call_returns_the_same_call,
    ta8_calls_are_public_and_carry_the_registrys_facts,
    ta15_an_amended_rulebook_is_a_new_version_and_the_old_one_is_kept,
);

/// The fields a refused CreateCall names.
async fn refused_fields(world: &World, request: proto::CreateCallRequest) -> Vec<String> {
    let refused = world
        .create_call(&coordinator(), request)
        .await
        .expect_err("the call is invalid");
    violated_fields(&refused)
}

#[track_caller]
fn assert_names(fields: &[String], expected: &[&str]) {
    for field in expected {
        assert!(
            fields.iter().any(|named| named == field),
            "{field} is named in {fields:?}"
        );
    }
}

async fn all_calls(world: &World) -> Vec<proto::Call> {
    world
        .allocation()
        .list_calls(proto::ListCallsRequest::default())
        .await
        .expect("lists calls without a token")
        .into_inner()
        .calls
}

async fn create_call_names_every_invalid_field(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let empty = proto::CreateCallRequest {
        request_id: new_id(),
        ..Default::default()
    };
    let fields = refused_fields(&world, empty).await;
    assert_names(&fields, &["title", "close_time", "installations", "criteria"]);

    let mut zeros = call_request(vec![offered(&world.de, 0)]);
    zeros.criteria[0].weight = 0.0;
    let fields = refused_fields(&world, zeros).await;
    assert_names(&fields, &["installations[0].units", "criteria[0].weight"]);
    assert!(
        !fields.iter().any(|field| field == "criteria[1].weight"),
        "a valid weight is not named: {fields:?}"
    );

    // Every violation at once, and nothing stored.
    let mut everything = call_request(vec![offered(&world.de, -3)]);
    everything.title = String::new();
    everything.criteria[1].weight = -1.0;
    let fields = refused_fields(&world, everything).await;
    assert_names(&fields, &["title", "installations[0].units", "criteria[1].weight"]);
    assert!(all_calls(&world).await.is_empty(), "refused calls are not stored");
    world.stop().await;
}

async fn create_call_refuses_unknown_and_unpublished_installations(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let unknown = proto::CallInstallation {
        installation_id: new_id(),
        units: 10,
        ..Default::default()
    };
    let fields = refused_fields(&world, call_request(vec![unknown])).await;
    assert_names(&fields, &["installations[0].installation_id"]);

    let draft = world.draft_installation().await;
    let unpublished = proto::CallInstallation {
        installation_id: draft.id.clone(),
        units: 10,
        ..Default::default()
    };
    let fields = refused_fields(&world, call_request(vec![offered(&world.de, 10), unpublished])).await;
    assert_names(&fields, &["installations[1].installation_id"]);
    assert!(
        !fields.iter().any(|field| field == "installations[0].installation_id"),
        "the published installation is not named: {fields:?}"
    );
    assert!(all_calls(&world).await.is_empty());
    world.stop().await;
}

async fn a_retried_create_call_returns_the_same_call(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let request = call_request(vec![offered(&world.de, 40)]);
    let first = world.open_call(request.clone()).await;
    let again = world.open_call(request.clone()).await;
    assert_eq!(
        again.id, first.id,
        "a retry with the same request_id returns the same call"
    );
    let other = world
        .open_call(proto::CreateCallRequest {
            request_id: new_id(),
            ..request
        })
        .await;
    assert_ne!(other.id, first.id, "another request_id is another call");
    let ids: Vec<String> = all_calls(&world).await.into_iter().map(|call| call.id).collect();
    assert_eq!(ids.iter().filter(|id| **id == first.id).count(), 1, "{ids:?}");
    assert_eq!(ids.len(), 2);
    world.stop().await;
}

async fn ta8_calls_are_public_and_carry_the_registrys_facts(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    // Output-only facts sent by the caller are replaced by the registry's.
    let misleading = proto::CallInstallation {
        countries: vec!["FR".into()],
        infrastructure_id: new_id(),
        provider_form: proto::ProviderForm::Jrc as i32,
        ..offered(&world.de, 40)
    };
    let older = world.call_for(&[(&world.fr, 10)]).await;
    let created = world
        .open_call(call_request(vec![misleading, offered(&world.eric, 20)]))
        .await;
    assert!(!created.id.is_empty());
    assert_eq!(created.status(), proto::CallStatus::Open);
    assert_eq!(created.coordinator, COORDINATOR);
    assert_eq!(created.rulebook.as_ref().map(|rulebook| rulebook.version), Some(1));

    let public = world.get_call(&created.id).await.expect("GetCall needs no token");
    assert_eq!(public, created, "what CreateCall returned is what is stored");
    let [de, eric] = &public.installations[..] else {
        panic!("two installations: {public:#?}")
    };
    assert_eq!(de.installation_id, world.de.id());
    assert_eq!(de.units, 40);
    assert_eq!(de.countries, ["DE"]);
    assert_eq!(de.infrastructure_id, world.de.infrastructure.id);
    assert_eq!(de.provider_form(), proto::ProviderForm::Other);
    assert_eq!(eric.countries, ["IT"]);
    assert_eq!(eric.infrastructure_id, world.eric.infrastructure.id);
    assert_eq!(
        eric.provider_form(),
        proto::ProviderForm::Eric,
        "TA-3(a) reads the legal form"
    );

    let listed = all_calls(&world).await;
    let ids: Vec<&str> = listed.iter().map(|call| call.id.as_str()).collect();
    assert_eq!(ids, [created.id.as_str(), older.id.as_str()], "newest first");
    assert_eq!(listed[0], created);
    world.stop().await;
}

async fn ta15_an_amended_rulebook_is_a_new_version_and_the_old_one_is_kept(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let call = world.call_for(&[(&world.de, 40)]).await;
    let amended_rules = proto::Rulebook {
        new_user_bonus: 1.5,
        eu_only: true,
        // Output only: the service numbers versions.
        version: 9,
        ..rulebook()
    };
    let amended = world
        .amend_rulebook(
            &coordinator(),
            &call.id,
            amended_rules,
            "the work programme restricts the call",
        )
        .await
        .expect("amends");
    let in_force = amended.rulebook.clone().expect("a rulebook in force");
    assert_eq!(in_force.version, 2);
    assert_eq!(in_force.new_user_bonus, 1.5);
    assert!(in_force.eu_only);
    assert_eq!(in_force.reason, "the work programme restricts the call");
    assert!(in_force.effective_time.is_some());
    let first = amended
        .rulebook_history
        .iter()
        .find(|old| old.version == 1)
        .unwrap_or_else(|| panic!("version 1 is kept: {:#?}", amended.rulebook_history));
    assert_eq!(first.new_user_bonus, 0.5, "version 1 is kept as it was");
    assert!(!first.eu_only);
    assert_eq!(
        (amended.id.as_str(), amended.title.as_str()),
        (call.id.as_str(), call.title.as_str())
    );
    assert_eq!(world.get_call(&call.id).await.expect("reads"), amended);

    let third = world
        .amend_rulebook(&admin(), &call.id, rulebook(), "restriction lifted")
        .await
        .expect("an admin amends too");
    assert_eq!(third.rulebook.as_ref().map(|rulebook| rulebook.version), Some(3));
    let mut kept: Vec<i32> = third.rulebook_history.iter().map(|old| old.version).collect();
    kept.sort_unstable();
    assert!(kept.starts_with(&[1, 2]), "every earlier version is kept: {kept:?}");

    let refused = world
        .amend_rulebook(&reviewer(REVIEWER), &call.id, rulebook(), "a reviewer tries")
        .await
        .expect_err("a reviewer does not amend");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    world.stop().await;
}
