//! Sanctions drift at allocation (SEC-3): a party screened CLEAR at submission and listed later.
//! A newer list imported in intake suspends the slots of the request whose party matches it,
//! with the reason, until intake's review clears the request; and a slot is confirmed only
//! after intake screened its request again against the newest list.

use rti_platform::db::Backend;
use rti_proto::allocation::{self as proto, SlotStatus};
use rti_proto::intake;
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(sec3_a_party_listed_later_suspends_its_slots_until_review_clears_it);

/// A list four days newer than the one intake screened with, listing the applicant below.
const LATER_LIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-11-24T18:00:00.000+01:00">
  <sanctionEntity euReferenceNumber="EU.FICT.1" logicalId="FICT.0001">
    <regulation programme="RUS"/>
    <subjectType code="person" classificationCode="P"/>
    <nameAlias wholeName="Boris Invented-Testname"/>
  </sanctionEntity>
  <sanctionEntity euReferenceNumber="EU.FICT.900" logicalId="FICT.0900">
    <regulation programme="RUS"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias wholeName="Politechnika Listowana"/>
  </sanctionEntity>
</export>"#;

async fn slots_of(world: &World, access_request_id: &str) -> Vec<proto::Slot> {
    world
        .list_slots(&admin(), access_request_id)
        .await
        .expect("lists the slots")
        .slots
}

async fn sec3_a_party_listed_later_suspends_its_slots_until_review_clears_it(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let listed = world.applicant(university("PL", "Politechnika Listowana")).await;
    let granted = world.granted(&listed, &[(&world.de, 10)], &users_in("PL", 2)).await;
    let other = world.applicant(university("PL", "Politechnika Czysta")).await;
    let untouched = world.granted(&other, &[(&world.de, 5)], &users_in("PL", 2)).await;
    let operator = world.de.operator();
    let accepted = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 4))
        .await
        .expect("offers");
    world.accept_slot(&listed.token, &accepted.id).await.expect("accepts");
    let held = world
        .offer_slot(&operator, offer(&granted.proposal.id, &world.de, 3))
        .await
        .expect("offers");
    let clean = world
        .offer_slot(&operator, offer(&untouched.proposal.id, &world.de, 2))
        .await
        .expect("offers");
    world.accept_slot(&other.token, &clean.id).await.expect("accepts");

    let later = world
        .intake()
        .import_sanctions_list(with_token(
            intake::ImportSanctionsListRequest {
                format: intake::SanctionsListFormat::Xml as i32,
                content: LATER_LIST.as_bytes().to_vec(),
            },
            &admin(),
        ))
        .await
        .expect("imports")
        .into_inner();
    // Whether intake's worker or this confirmation screens the request first, it is not confirmed.
    let refused = world
        .confirm_slot(&operator, &accepted.id)
        .await
        .expect_err("screened again first");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

    let suspended = eventually("the slots suspended", || async {
        let slots = slots_of(&world, &granted.proposal.id).await;
        slots
            .iter()
            .all(|slot| !slot.suspended_reason.is_empty())
            .then_some(slots)
    })
    .await;
    assert!(suspended[0].suspended_reason.contains("SEC-3"), "{:?}", suspended[0]);
    let request = world
        .intake()
        .get_access_request(with_token(
            intake::GetAccessRequestRequest {
                id: granted.proposal.id.clone(),
            },
            &admin(),
        ))
        .await
        .expect("reads")
        .into_inner();
    assert_eq!(request.status(), intake::AccessRequestStatus::Screening);
    let rescreening = &request.screening.expect("screened").rescreenings[0];
    assert_eq!(
        (rescreening.sanctions_list_id.as_str(), rescreening.verdict()),
        (later.id.as_str(), intake::ScreeningVerdict::Match)
    );
    let refused = world
        .accept_slot(&listed.token, &held.id)
        .await
        .expect_err("a suspended slot is not accepted");
    assert!(refused.message().contains("suspended"), "{refused:?}");
    // The other request's slot goes on.
    let confirmed = world.confirm_slot(&operator, &clean.id).await.expect("confirms");
    assert_eq!(
        (confirmed.status(), confirmed.suspended_reason.as_str()),
        (SlotStatus::Confirmed, "")
    );

    // The compliance officer rules the match out (a namesake): the slots go on.
    world
        .intake()
        .review_screening(with_token(
            intake::ReviewScreeningRequest {
                id: granted.proposal.id.clone(),
                decision: intake::ReviewDecision::Approve as i32,
                rationale: "another legal entity: a namesake, checked in the registry".into(),
                conditions: String::new(),
            },
            &admin(),
        ))
        .await
        .expect("reviews");
    eventually("the suspension lifted", || async {
        let slots = slots_of(&world, &granted.proposal.id).await;
        slots.iter().all(|slot| slot.suspended_reason.is_empty()).then_some(())
    })
    .await;
    let confirmed = world.confirm_slot(&operator, &accepted.id).await.expect("confirms");
    assert_eq!(confirmed.status(), SlotStatus::Confirmed);
    world.stop().await;
}
