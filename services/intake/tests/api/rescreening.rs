//! Sanctions drift (SEC-3): a party screened CLEAR at submission and listed later. A newer list
//! version re-screens every open request against the names it adds or changes, once per
//! version, off the request path; a new MATCH suspends, a new POSSIBLE holds for review, and
//! a reviewer's approval resumes the request where it was. A run left unfinished resumes after
//! a restart, and a re-import of the same file does nothing.

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::{eventually, token};
use rti_proto::intake::{self as proto, AccessRequestStatus as S, ScreeningVerdict as V};

use crate::helpers::*;

rti_platform::backend_tests!(
    sec3_a_newer_list_rescreens_open_requests_for_the_names_it_adds_once_per_version,
    sec3_a_run_left_unfinished_resumes_after_a_restart,
);

/// [`SANCTIONS_XML`] four days later, with a company and a person added: the company is listed
/// under the name of an applicant screened CLEAR before, the person a typo away from a contact.
pub fn later_list() -> String {
    SANCTIONS_XML
        .replace("2026-11-20T18:00:00.000+01:00", "2026-11-24T18:00:00.000+01:00")
        .replace(
            "</export>",
            r#"  <sanctionEntity euReferenceNumber="EU.FICT.900" logicalId="FICT.0900">
    <regulation programme="RUS"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias wholeName="Listed Later Photonics"/>
  </sanctionEntity>
  <sanctionEntity euReferenceNumber="EU.FICT.901" logicalId="FICT.0901">
    <regulation programme="RUS"/>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias wholeName="Miroslav Zhdanovsky"/>
  </sanctionEntity>
</export>"#,
        )
}

pub async fn read(world: &World, id: &str) -> proto::AccessRequest {
    world
        .client()
        .get_access_request(with_token(
            proto::GetAccessRequestRequest { id: id.into() },
            &token(Role::Admin),
        ))
        .await
        .expect("reads")
        .into_inner()
}

/// The list versions `request` was screened again with, in order.
pub fn rescreened_with(request: &proto::AccessRequest) -> Vec<(String, V)> {
    request
        .screening
        .as_ref()
        .map(|screening| {
            screening
                .rescreenings
                .iter()
                .map(|rescreening| (rescreening.sanctions_list_id.clone(), rescreening.verdict()))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `id` was screened again with `list`.
pub async fn rescreened(world: &World, id: &str, list: &str) -> proto::AccessRequest {
    eventually(&format!("request {id} re-screened with {list}"), || async {
        let request = read(world, id).await;
        rescreened_with(&request)
            .iter()
            .any(|(version, _)| version == list)
            .then_some(request)
    })
    .await
}

async fn review(world: &World, id: &str, decision: proto::ReviewDecision) -> proto::AccessRequest {
    world
        .client()
        .review_screening(with_token(
            proto::ReviewScreeningRequest {
                id: id.into(),
                decision: decision as i32,
                rationale: "checked the date of birth against the listing".into(),
                conditions: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("reviews")
        .into_inner()
}

/// A request of a new company called `name` with a contact called `contact`, submitted.
async fn submitted(world: &World, name: &str, contact: &str) -> proto::AccessRequest {
    let (_, applicant) = world.register(small_company(name)).await;
    let person = world.person(&applicant, contact).await;
    world.submitted_with_contact(&applicant, &person.id).await
}

async fn sec3_a_newer_list_rescreens_open_requests_for_the_names_it_adds_once_per_version(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let first = world.import_fixture_list().await;
    let listed_later = submitted(&world, "Listed Later Photonics", "Anna Clearwater").await;
    let typo_contact = submitted(&world, "Harmless Optics", "Miroslav Zhdanovksy").await;
    let untouched = submitted(&world, "Untouched Labs", "Jonas Elsewhere").await;
    for request in [&listed_later, &typo_contact, &untouched] {
        assert_eq!(request.status(), S::Feasibility, "CLEAR against the first version");
    }
    // Held at submission for a name already listed, and approved by a person: the newer
    // version does not change that name, so the delta does not hold it again.
    let reviewed = submitted(&world, "Reviewed Robotics", "Boris Invented-Testnam").await;
    assert_eq!(reviewed.status(), S::Screening, "a possible match of FICT.0001");
    let reviewed = review(&world, &reviewed.id, proto::ReviewDecision::Approve).await;
    assert_eq!(reviewed.status(), S::Feasibility);
    let (_, drafter) = world.register(small_company("Listed Later Photonics")).await;
    let draft = world.draft(&drafter, industrial(&world.plain.id)).await;

    let later = world.import_xml_list(&later_list()).await;
    assert_ne!(later.id, first.id);

    let suspended = rescreened(&world, &listed_later.id, &later.id).await;
    assert_eq!(suspended.status(), S::Screening, "a new MATCH suspends");
    assert_eq!(rescreened_with(&suspended), [(later.id.clone(), V::Match)]);
    let step = suspended.history.last().expect("a step");
    assert!(
        step.reason.starts_with("suspended") && step.reason.contains(&later.id),
        "{}",
        step.reason
    );
    assert_eq!(suspended.screening.as_ref().expect("screened").verdict(), V::Match);

    let held = rescreened(&world, &typo_contact.id, &later.id).await;
    assert_eq!(held.status(), S::Screening, "a new POSSIBLE goes to review");
    assert_eq!(rescreened_with(&held), [(later.id.clone(), V::Possible)]);

    for clear in [&untouched, &reviewed] {
        let clear = rescreened(&world, &clear.id, &later.id).await;
        assert_eq!(clear.status(), S::Feasibility, "CLEAR against what the version adds");
        assert_eq!(rescreened_with(&clear), [(later.id.clone(), V::Clear)]);
    }
    assert_eq!(
        read(&world, &draft.id).await.status(),
        S::Draft,
        "a draft is screened at submission"
    );

    // The same file again is the same version, and asking again screens nothing twice.
    assert_eq!(world.import_xml_list(&later_list()).await.id, later.id);
    let again = world
        .client()
        .rescreen_access_request(with_token(
            proto::RescreenAccessRequestRequest {
                id: untouched.id.clone(),
            },
            &token(Role::Service),
        ))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(rescreened_with(&again).len(), 1, "once per version");

    // A person rules out the match: the request resumes where it was; the possible one is
    // confirmed and declined.
    let resumed = review(&world, &listed_later.id, proto::ReviewDecision::Approve).await;
    assert_eq!(resumed.status(), S::Feasibility);
    let declined = review(&world, &typo_contact.id, proto::ReviewDecision::Reject).await;
    assert_eq!(declined.status(), S::Declined);
    world.stop().await;
}

async fn sec3_a_run_left_unfinished_resumes_after_a_restart(backend: Backend) {
    let without_worker = rti_intake::app::Options {
        rescreen_in_background: false,
    };
    let Some(mut world) = world_with(backend, without_worker).await else {
        return;
    };
    world.import_fixture_list().await;
    let first = submitted(&world, "Listed Later Photonics", "Anna Clearwater").await;
    let second = submitted(&world, "Harmless Optics", "Miroslav Zhdanovksy").await;
    let later = world.import_xml_list(&later_list()).await;
    // Stopped mid-way: allocation asked about the first before a slot, the run did nothing yet.
    let asked = world
        .client()
        .rescreen_access_request(with_token(
            proto::RescreenAccessRequestRequest { id: first.id.clone() },
            &token(Role::Service),
        ))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(asked.status(), S::Screening);
    assert!(rescreened_with(&read(&world, &second.id).await).is_empty());

    world.restart_intake(rti_intake::app::Options::default()).await;
    let resumed = rescreened(&world, &second.id, &later.id).await;
    assert_eq!(resumed.status(), S::Screening);
    assert_eq!(
        rescreened_with(&read(&world, &first.id).await),
        [(later.id.clone(), V::Match)],
        "the request screened before the restart is not screened twice"
    );
    world.stop().await;
}
