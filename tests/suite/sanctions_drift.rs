//! Sanctions drift through the gateway (SEC-3, docs/security.md item 10): the demo's accepted
//! industrial request has a delivered slot and a confirmed one ahead. Its company is listed in a
//! newer version of the sanctions list: intake suspends the request, allocation suspends the
//! slot ahead (not the delivered one) and refuses its delivery, until a compliance officer's
//! review lifts it.

use rti_gateway::demo;
use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{TEST_SECRET, eventually, token};
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as allocation, SlotStatus};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self, AccessRequestStatus};
use rti_tests::{spawn_suite, with_token};
use tonic::Code;
use tonic::transport::Channel;

async fn slots(channel: &Channel, access_request_id: &str) -> Vec<allocation::Slot> {
    AllocationServiceClient::new(channel.clone())
        .list_slots(with_token(
            allocation::ListSlotsRequest {
                access_request_id: access_request_id.into(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("lists slots")
        .into_inner()
        .slots
}

async fn request(channel: &Channel, id: &str) -> intake::AccessRequest {
    IntakeServiceClient::new(channel.clone())
        .get_access_request(with_token(
            intake::GetAccessRequestRequest { id: id.into() },
            &token(Role::Admin),
        ))
        .await
        .expect("reads the request")
        .into_inner()
}

async fn deliver(channel: &Channel, slot_id: &str) -> Result<allocation::Slot, tonic::Status> {
    AllocationServiceClient::new(channel.clone())
        .record_delivery(with_token(
            allocation::RecordDeliveryRequest {
                slot_id: slot_id.into(),
                delivered_units: 1,
                lost_units: 0,
                lost_reason: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn a_company_listed_after_screening_has_its_slot_ahead_suspended_until_review(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let channel = suite.channel.clone();
    let loader = demo::loader_token(TEST_SECRET).expect("signs");
    let catalogue = demo::catalogue::load(channel.clone(), &loader)
        .await
        .expect("catalogue");
    let requests = demo::requests::load(channel.clone(), &loader, &catalogue)
        .await
        .expect("requests");
    demo::calls::load(channel.clone(), TEST_SECRET, &catalogue, &requests)
        .await
        .expect("calls and slots");
    let id = requests.accepted_industrial_request_id.clone();
    let before = slots(&channel, &id).await;
    let ahead = before
        .iter()
        .find(|slot| slot.status() == SlotStatus::Confirmed)
        .expect("a confirmed slot ahead")
        .clone();
    assert!(before.iter().any(|slot| slot.status() == SlotStatus::Delivered));

    let mut intake_client = IntakeServiceClient::new(channel.clone());
    let organisation_id = request(&channel, &id).await.organisation_id;
    let company = intake_client
        .get_organisation(with_token(
            intake::GetOrganisationRequest { id: organisation_id },
            &token(Role::Admin),
        ))
        .await
        .expect("reads the company")
        .into_inner()
        .legal_name;
    let later = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-12-01T18:00:00.000+01:00">
  <sanctionEntity euReferenceNumber="EU.FICT.900" logicalId="FICT.0900">
    <regulation programme="RUS"/>
    <subjectType code="enterprise" classificationCode="E"/>
    <nameAlias wholeName="{company}"/>
  </sanctionEntity>
</export>"#
    );
    let version = intake_client
        .import_sanctions_list(with_token(
            intake::ImportSanctionsListRequest {
                format: intake::SanctionsListFormat::Xml as i32,
                content: later.into_bytes(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("imports through the gateway")
        .into_inner();

    let suspended = eventually("the slot ahead suspended", || async {
        let now = slots(&channel, &id).await;
        now.iter()
            .any(|slot| slot.id == ahead.id && !slot.suspended_reason.is_empty())
            .then_some(now)
    })
    .await;
    for slot in &suspended {
        assert_eq!(
            slot.suspended_reason.is_empty(),
            slot.status() == SlotStatus::Delivered,
            "only what lies ahead is suspended: {slot:?}"
        );
    }
    let held = request(&channel, &id).await;
    assert_eq!(held.status(), AccessRequestStatus::Screening);
    let last = held.history.last().expect("a step");
    assert!(
        last.reason.contains(&version.id),
        "recorded with the version: {}",
        last.reason
    );
    let refused = deliver(&channel, &ahead.id).await.expect_err("suspended");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("suspended"), "{refused:?}");

    intake_client
        .review_screening(with_token(
            intake::ReviewScreeningRequest {
                id: id.clone(),
                decision: intake::ReviewDecision::Approve as i32,
                rationale: "a namesake: another registration number".into(),
                conditions: String::new(),
            },
            &token(Role::Admin),
        ))
        .await
        .expect("reviews through the gateway");
    assert_eq!(request(&channel, &id).await.status(), AccessRequestStatus::Accepted);
    eventually("the suspension lifted", || async {
        slots(&channel, &id)
            .await
            .iter()
            .all(|slot| slot.suspended_reason.is_empty())
            .then_some(())
    })
    .await;
    let delivered = deliver(&channel, &ahead.id).await.expect("delivered once cleared");
    assert_eq!(delivered.status(), SlotStatus::Delivered);
}

backend_tests!(a_company_listed_after_screening_has_its_slot_ahead_suspended_until_review);
