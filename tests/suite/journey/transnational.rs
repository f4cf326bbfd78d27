//! The transnational-access lane: a coordinator opens a call at the French beamline and seats an
//! independent panel; a Polish university registers its research group (working in Poland, so
//! transnational at a French installation, TA-2) and proposes six shifts; allocation receives the
//! proposal from intake and finds it eligible, the panel scores it, the operator finds it
//! feasible, the coordinator ranks and allocates; the operator schedules a slot, and delivers five
//! shifts, one lost.

use serde_json::{Value as Json, json};

use super::cast::REVIEWERS;
use super::catalogue::Catalogue;
use super::slots::{Delivery, schedule_and_deliver};
use super::transport::timestamp;
use super::{DAY, Journey, int};

const INTAKE: &str = "rti.intake.v1.IntakeService";
const ALLOCATION: &str = "rti.allocation.v1.AllocationService";

/// The shifts the group asks for and is granted.
pub(crate) const SHIFTS: i64 = 6;
/// The shifts delivered of them (one lost to a storage-ring trip).
pub(crate) const SHIFTS_DELIVERED: i64 = 5;

/// What the transnational lane leaves for the usage and the statistics.
#[derive(Debug, Clone)]
pub(crate) struct Transnational {
    pub(crate) request_id: String,
    pub(crate) slot_id: String,
}

pub(crate) async fn propose_to_a_call(journey: &Journey, catalogue: &Catalogue) -> Transnational {
    let call_id = open_call(journey, catalogue).await;
    register_group(journey).await;
    let request_id = propose(journey, catalogue, &call_id).await;
    found_eligible(journey, &request_id).await;
    review_and_allocate(journey, catalogue, &call_id, &request_id).await;
    let delivery = Delivery {
        units: SHIFTS,
        delivered: SHIFTS_DELIVERED,
        lost: SHIFTS - SHIFTS_DELIVERED,
        lost_reason: "One shift lost to a storage-ring trip.",
    };
    let slot_id = schedule_and_deliver(
        journey,
        &catalogue.beamline,
        &journey.cast.research_group,
        &request_id,
        &delivery,
    )
    .await;

    let ledger = journey
        .call(
            &journey.cast.coordinator,
            &format!("{ALLOCATION}/GetLedger"),
            json!({"callId": call_id}),
        )
        .await;
    assert_eq!(
        (
            int(&ledger["grantedUnits"]),
            int(&ledger["deliveredUnits"]),
            int(&ledger["lostUnits"])
        ),
        (SHIFTS, SHIFTS_DELIVERED, SHIFTS - SHIFTS_DELIVERED),
        "{ledger}"
    );
    Transnational { request_id, slot_id }
}

/// The group's proposal of six shifts to the call; submitted, intake screens it and hands it
/// to allocation in review. Returns its id.
async fn propose(journey: &Journey, catalogue: &Catalogue, call_id: &str) -> String {
    let group = &journey.cast.research_group;
    let ids = &journey.cast.ids;
    let draft = journey
        .call(
            group,
            &format!("{INTAKE}/CreateAccessRequest"),
            json!({"idempotencyKey": uuid::Uuid::now_v7().to_string(), "accessRequest": {
                "lane": "LANE_TRANSNATIONAL",
                "organisationId": ids.university,
                "installations": [{"installationId": catalogue.beamline.installation_id, "units": SHIFTS.to_string()}],
                "title": "Phase transitions in sodium-ion cathodes (journey)",
                "description": "In-situ powder diffraction of layered oxide cathodes while cycling.",
                // TA-5: the group publishes its results.
                "confidentiality": "CONFIDENTIALITY_LEVEL_PUBLIC",
                "ipRegime": "IP_REGIME_OPEN_DISSEMINATION",
                "agreementKind": "AGREEMENT_KIND_TA_USER_AGREEMENT",
                "contactPersonId": ids.researchers[0],
                "userGroupId": ids.user_group,
                "callId": call_id,
            }}),
        )
        .await;
    let request_id = draft["id"].as_str().expect("an id").to_owned();
    let submitted = journey
        .call(
            group,
            &format!("{INTAKE}/SubmitAccessRequest"),
            json!({"id": request_id, "acceptAgreement": false}),
        )
        .await;
    assert_eq!(submitted["status"], "ACCESS_REQUEST_STATUS_IN_REVIEW", "{submitted}");
    request_id
}

/// Allocation has the proposal from intake's events and judged it under the call's rulebook.
async fn found_eligible(journey: &Journey, request_id: &str) {
    journey.received_by_allocation(request_id).await;
    let proposal = journey
        .call(
            &journey.cast.coordinator,
            &format!("{ALLOCATION}/GetProposal"),
            json!({"id": request_id}),
        )
        .await;
    assert_eq!(proposal["status"], "PROPOSAL_STATUS_IN_REVIEW", "{proposal}");
    assert_eq!(proposal["eligibility"], "ELIGIBILITY_OUTCOME_PASS", "{proposal}");
    assert!(
        proposal["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|finding| finding["rule"] == "TA-2" && finding["outcome"] == "ELIGIBILITY_OUTCOME_PASS"),
        "TA-2: the group works in Poland, the beamline is in France: {proposal}"
    );
}

/// The coordinator's call at the beamline, open for three more weeks, and its panel.
async fn open_call(journey: &Journey, catalogue: &Catalogue) -> String {
    let coordinator = &journey.cast.coordinator;
    let now = rti_platform::time::now_micros();
    let call = journey
        .call(
            coordinator,
            &format!("{ALLOCATION}/CreateCall"),
            json!({
                "requestId": uuid::Uuid::now_v7().to_string(),
                "title": "Transnational access to X-ray diffraction 2026 (journey)",
                "programme": "HORIZON-INFRA-2026-SERV (journey)",
                "grantAgreement": "JOURNEY-101000001",
                "publicUrl": "https://access.example.org/calls/journey",
                "openTime": timestamp(now - 10 * DAY),
                "closeTime": timestamp(now + 21 * DAY),
                "installations": [{
                    "installationId": catalogue.beamline.installation_id,
                    "units": "30",
                    "equivalentRiCountries": ["FR", "DE"],
                }],
                "criteria": [{"name": "excellence", "weight": 3.0}, {"name": "feasibility", "weight": 1.0}],
                "rulebook": {
                    "transnationality": true,
                    "nonEuCapPercent": 20,
                    "smeDisseminationExemption": true,
                    "newUserBonus": 0.5,
                    "scoreThreshold": 5.0,
                },
            }),
        )
        .await;
    assert_eq!(call["status"], "CALL_STATUS_OPEN", "{call}");
    let call_id = call["id"].as_str().expect("an id").to_owned();
    let members: Vec<Json> = REVIEWERS
        .iter()
        .map(|reviewer| json!({"reviewer": reviewer, "independent": true, "affiliation": "Independent expert"}))
        .collect();
    let panel = journey
        .call(
            coordinator,
            &format!("{ALLOCATION}/SetPanel"),
            json!({"callId": call_id, "members": members}),
        )
        .await;
    // TA-7: the panel is of independent experts.
    assert_eq!(panel["independentShare"], 1.0, "{panel}");
    call_id
}

/// The university, its three researchers (working in Poland) and their group.
async fn register_group(journey: &Journey) {
    let (group, ids) = (&journey.cast.research_group, &journey.cast.ids);
    journey
        .call(
            group,
            &format!("{INTAKE}/RegisterOrganisation"),
            json!({"requestId": uuid::Uuid::now_v7().to_string(), "organisation": {
                "id": ids.university,
                "legalName": "Pomeranian University of Technology (journey)",
                "country": "PL",
                "kind": "ORGANISATION_KIND_UNIVERSITY",
            }}),
        )
        .await;
    let names = [
        "Tomasz Wiśniewski (journey)",
        "Ewa Kowalczyk (journey)",
        "Piotr Zieliński (journey)",
    ];
    for (id, name) in ids.researchers.iter().zip(names) {
        journey
            .call(
                group,
                &format!("{INTAKE}/RegisterPerson"),
                json!({"requestId": uuid::Uuid::now_v7().to_string(), "person": {
                    "id": id, "fullName": name, "organisationId": ids.university,
                }}),
            )
            .await;
    }
    let created = journey
        .call(
            group,
            &format!("{INTAKE}/CreateUserGroup"),
            json!({"requestId": uuid::Uuid::now_v7().to_string(), "userGroup": {
                "id": ids.user_group,
                "name": "Battery materials group (journey)",
                "leaderPersonId": ids.researchers[0],
                "memberPersonIds": ids.researchers[1..],
                "organisationId": ids.university,
            }}),
        )
        .await;
    let members = created["members"].as_array().expect("members");
    assert_eq!(members.len(), 3, "{created}");
    assert!(members.iter().all(|member| member["workCountry"] == "PL"), "{created}");
}

/// Two reviews, the operator's feasibility, the ranking, and the coordinator's allocation.
async fn review_and_allocate(journey: &Journey, catalogue: &Catalogue, call_id: &str, request_id: &str) {
    let coordinator = &journey.cast.coordinator;
    let scores = [(8.5, 8.0), (8.0, 7.0)];
    for (reviewer, (excellence, feasibility)) in journey.cast.reviewers.iter().zip(scores) {
        let review = journey
            .call(
                reviewer,
                &format!("{ALLOCATION}/SubmitReview"),
                json!({
                    "proposalId": request_id,
                    "scores": [
                        {"criterion": "excellence", "score": excellence},
                        {"criterion": "feasibility", "score": feasibility},
                    ],
                    "comment": "Clear hypothesis, realistic beamtime.",
                }),
            )
            .await;
        let weighted = (3.0 * excellence + feasibility) / 4.0;
        assert_eq!(review["weightedScore"], weighted, "{review}");
    }
    journey
        .call(
            &catalogue.beamline.operator,
            &format!("{ALLOCATION}/SubmitFeasibility"),
            json!({
                "proposalId": request_id,
                "installationId": catalogue.beamline.installation_id,
                "feasible": true,
                "note": "The cycling cell fits the sample stage.",
            }),
        )
        .await;
    let ranking = journey
        .call(
            coordinator,
            &format!("{ALLOCATION}/GetRanking"),
            json!({"callId": call_id}),
        )
        .await;
    let ranked = &ranking["proposals"][0];
    assert_eq!(ranked["proposalId"], request_id, "{ranking}");
    assert_eq!(ranked["allocatable"], true, "{ranking}");
    assert_eq!(ranked["meanScore"], (8.375 + 7.75) / 2.0, "{ranking}");

    let run = journey
        .call(
            coordinator,
            &format!("{ALLOCATION}/RunAllocation"),
            json!({"callId": call_id, "dryRun": false}),
        )
        .await;
    let line = &run["allocation"]["lines"][0];
    assert_eq!(line["decision"], "LINE_DECISION_GRANTED", "{run}");
    assert_eq!(int(&line["granted"][0]["units"]), SHIFTS, "{run}");
    let granted = journey
        .call(
            &journey.cast.research_group,
            &format!("{ALLOCATION}/GetProposal"),
            json!({"id": request_id}),
        )
        .await;
    assert_eq!(granted["status"], "PROPOSAL_STATUS_GRANTED", "{granted}");
}
