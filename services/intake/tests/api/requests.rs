//! Creating access requests: idempotency under concurrency, validation naming fields, the
//! registry's word on installations, and the TA-5 dissemination rule.

use futures::future::join_all;
use rti_platform::db::Backend;
use rti_proto::intake::{self as proto, AccessRequestStatus as S};
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    thirty_two_concurrent_creates_with_one_key_make_one_request,
    a_key_reused_for_another_body_is_refused,
    bad_input_names_every_field,
    only_published_installations_can_be_requested,
    people_and_groups_must_belong_to_the_requester,
    ta5_transnational_results_are_disseminated_unless_the_users_work_for_an_sme,
    submission_needs_the_agreement_accepted_and_a_sanctions_list,
    events_carry_what_reporting_needs_and_no_names,
);

fn create(key: &str, request: proto::AccessRequest) -> proto::CreateAccessRequestRequest {
    proto::CreateAccessRequestRequest {
        idempotency_key: key.into(),
        access_request: Some(request),
    }
}

async fn thirty_two_concurrent_creates_with_one_key_make_one_request(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let key = rti_platform::ids::new_id();
    let calls = (0..32).map(|_| {
        let mut client = world.client();
        let message = create(&key, industrial(&world.plain.id));
        let applicant = applicant.clone();
        async move { client.create_access_request(with_token(message, &applicant)).await }
    });
    let answers = join_all(calls).await;
    let ids: std::collections::BTreeSet<String> = answers
        .into_iter()
        .map(|answer| answer.expect("every retry is answered").into_inner().id)
        .collect();
    assert_eq!(ids.len(), 1, "one request for one key: {ids:?}");
    let listed = world
        .client()
        .list_access_requests(with_token(proto::ListAccessRequestsRequest::default(), &applicant))
        .await
        .expect("lists")
        .into_inner();
    assert_eq!(listed.access_requests.len(), 1);
    assert_eq!(listed.access_requests[0].history.len(), 1, "one creation recorded");
    world.stop().await;
}

async fn a_key_reused_for_another_body_is_refused(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let key = rti_platform::ids::new_id();
    world
        .client()
        .create_access_request(with_token(create(&key, industrial(&world.plain.id)), &applicant))
        .await
        .expect("creates");
    let other = proto::AccessRequest {
        title: "Something else".into(),
        ..industrial(&world.plain.id)
    };
    let refused = world
        .client()
        .create_access_request(with_token(create(&key, other), &applicant))
        .await
        .expect_err("the key belongs to another request");
    assert_eq!(violated_fields(&refused), ["idempotency_key"]);
    assert!(refused.message().contains("already used"), "{}", refused.message());
    world.stop().await;
}

async fn bad_input_names_every_field(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let bad = proto::AccessRequest {
        lane: proto::Lane::Industrial as i32,
        installations: vec![
            proto::RequestedInstallation {
                installation_id: "not-a-uuid".into(),
                units: 0,
            },
            proto::RequestedInstallation {
                installation_id: "not-a-uuid".into(),
                units: 1,
            },
        ],
        embargo_until: "next year".into(),
        ..Default::default()
    };
    let refused = world
        .client()
        .create_access_request(with_token(create("", bad), &applicant))
        .await
        .expect_err("refused");
    assert_eq!(
        violated_fields(&refused),
        [
            "idempotency_key",
            "access_request.title",
            "access_request.description",
            "access_request.installations[0].installation_id",
            "access_request.installations[0].units",
            "access_request.installations[1].installation_id",
            "access_request.installations[1].installation_id",
            "access_request.confidentiality",
            "access_request.embargo_until",
            "access_request.agreement_kind",
            "access_request.ip_regime",
        ]
    );
    world.stop().await;
}

async fn only_published_installations_can_be_requested(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let mut request = industrial(&world.draft.id);
    request.installations.push(proto::RequestedInstallation {
        installation_id: rti_platform::ids::new_id(),
        units: 2,
    });
    request.installations.push(proto::RequestedInstallation {
        installation_id: world.plain.id.clone(),
        units: 2,
    });
    let refused = world
        .client()
        .create_access_request(with_token(create(&rti_platform::ids::new_id(), request), &applicant))
        .await
        .expect_err("a draft and an unknown installation are not open to requests");
    assert_eq!(
        violated_fields(&refused),
        [
            "access_request.installations[0].installation_id",
            "access_request.installations[1].installation_id"
        ]
    );
    world.stop().await;
}

async fn people_and_groups_must_belong_to_the_requester(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let (_, other) = world.register(small_company("Other Optics")).await;
    let stranger = world.person(&other, "Eva Elsewhere").await;
    let refused = world
        .client()
        .create_access_request(with_token(
            create(
                &rti_platform::ids::new_id(),
                proto::AccessRequest {
                    contact_person_id: stranger.id.clone(),
                    ..industrial(&world.plain.id)
                },
            ),
            &applicant,
        ))
        .await
        .expect_err("the contact works elsewhere");
    assert_eq!(violated_fields(&refused), ["access_request.contact_person_id"]);

    let unknown_leader = world
        .client()
        .create_user_group(with_token(
            proto::CreateUserGroupRequest {
                user_group: Some(proto::UserGroup {
                    name: "Ghost team".into(),
                    leader_person_id: rti_platform::ids::new_id(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &applicant,
        ))
        .await
        .expect_err("the leader must be registered");
    assert_eq!(unknown_leader.code(), Code::NotFound);
    world.stop().await;
}

async fn ta5_transnational_results_are_disseminated_unless_the_users_work_for_an_sme(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    for (organisation, allowed) in [
        (large_company("Bigcorp Optics"), false),
        (small_company("Acme Photonics"), true),
    ] {
        let (_, applicant) = world.register(organisation).await;
        let leader = world.person(&applicant, "Anna Example").await;
        let group = world.user_group(&applicant, &leader.id, &[]).await;
        let confidential = proto::AccessRequest {
            agreement_kind: proto::AgreementKind::TaUserAgreement as i32,
            ip_regime: proto::IpRegime::UserOwns as i32,
            ..transnational(&world.plain.id, &group.id)
        };
        let answer = world
            .client()
            .create_access_request(with_token(
                create(&rti_platform::ids::new_id(), confidential),
                &applicant,
            ))
            .await;
        if allowed {
            assert_eq!(
                answer.expect("an SME keeps its results").into_inner().status(),
                S::Draft
            );
        } else {
            assert_eq!(
                violated_fields(&answer.expect_err("TA-5")),
                ["access_request.ip_regime"]
            );
        }
    }
    world.stop().await;
}

async fn submission_needs_the_agreement_accepted_and_a_sanctions_list(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    let draft = world.draft(&applicant, industrial(&world.plain.id)).await;
    let no_list = world
        .submit(&applicant, &draft.id)
        .await
        .expect_err("nothing to screen against");
    assert_eq!(no_list.code(), Code::FailedPrecondition);
    assert!(
        no_list.message().contains("ImportSanctionsList"),
        "{}",
        no_list.message()
    );

    world.import_fixture_list().await;
    let not_accepted = world
        .client()
        .submit_access_request(with_token(
            proto::SubmitAccessRequestRequest {
                id: draft.id.clone(),
                accept_agreement: false,
            },
            &applicant,
        ))
        .await
        .expect_err("the industrial lane runs under an accepted agreement");
    assert_eq!(violated_fields(&not_accepted), ["accept_agreement"]);
    let unchanged = world
        .client()
        .get_access_request(with_token(
            proto::GetAccessRequestRequest { id: draft.id.clone() },
            &applicant,
        ))
        .await
        .expect("reads")
        .into_inner();
    assert_eq!(unchanged.status(), S::Draft, "a refused submission changes nothing");
    world.stop().await;
}

async fn events_carry_what_reporting_needs_and_no_names(backend: Backend) {
    use futures::StreamExt;
    use rti_proto::common::event::Payload;
    let Some(world) = world(backend).await else { return };
    world.import_fixture_list().await;
    let (organisation, applicant) = world.register(small_company("Acme Photonics")).await;
    let contact = world.person(&applicant, "Henrietta Uniquename").await;
    let submitted = world.submitted_with_contact(&applicant, &contact.id).await;
    let admin = rti_platform::testing::token(rti_platform::auth::Role::Admin);
    let mut stream = world
        .client()
        .subscribe(with_token(
            rti_proto::common::SubscribeRequest {
                after_sequence: 0,
                types: vec!["rti.intake.v1.AccessRequestStatusChanged".into()],
            },
            &admin,
        ))
        .await
        .expect("subscribes")
        .into_inner();
    let mut steps = Vec::new();
    while steps.len() < 4 {
        let event = stream.next().await.expect("an event").expect("not an error");
        let encoded = serde_json::to_string(&event).expect("json");
        assert!(!encoded.contains("Uniquename"), "no person names in events: {encoded}");
        let Some(Payload::AccessRequestStatusChanged(changed)) = event.payload else {
            panic!("filtered to status changes")
        };
        assert_eq!(changed.access_request_id, submitted.id);
        assert_eq!(changed.organisation_id, organisation.id);
        assert_eq!(changed.country, "DE");
        assert_eq!(changed.sme_category(), proto::SmeCategory::Small);
        assert_eq!(changed.requester_kind(), proto::OrganisationKind::Company);
        assert_eq!(changed.lane(), proto::Lane::Industrial);
        assert_eq!(changed.installations[0].units, 4);
        steps.push(changed.to());
    }
    assert_eq!(steps, [S::Draft, S::Submitted, S::Screening, S::Feasibility]);
    world.stop().await;
}
