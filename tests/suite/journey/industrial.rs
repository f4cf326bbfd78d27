//! The industrial lane (the charter's): a Polish SME registers its company and its engineer,
//! searches the catalogue in Polish, asks the Austrian cleanroom for four hours, submits under the
//! standard service contract, is acknowledged and quoted from the tariff with its SME discount
//! (SA-5), and accepts; the operator offers a slot from the capacity window (held in the
//! registry), the SME takes it, the operator confirms it and records the four hours delivered.

use serde_json::{Value as Json, json};

use super::catalogue::{CLEANROOM_PRICE_CENTS, Catalogue, WINDOW_UNITS};
use super::slots::{Delivery, schedule_and_deliver};
use super::{Journey, int};

/// The four hours asked for.
pub(crate) const HOURS: i64 = 4;

/// What the industrial lane leaves for the usage and the statistics.
#[derive(Debug, Clone)]
pub(crate) struct Industrial {
    pub(crate) request_id: String,
    pub(crate) slot_id: String,
}

const INTAKE: &str = "rti.intake.v1.IntakeService";

pub(crate) async fn request_four_hours_at_a_cleanroom_abroad(journey: &Journey, catalogue: &Catalogue) -> Industrial {
    register_company(journey).await;
    search_in_polish(journey, catalogue).await;
    let request_id = request_and_accept_a_quote(journey, catalogue).await;

    // The industrial lane comes to allocation for the operator's slot, without a panel.
    let known = journey.received_by_allocation(&request_id).await;
    assert_eq!(known["lane"], "LANE_INDUSTRIAL", "{known}");
    let delivery = Delivery {
        units: HOURS,
        delivered: HOURS,
        lost: 0,
        lost_reason: "",
    };
    let slot_id = schedule_and_deliver(journey, &catalogue.cleanroom, &journey.cast.sme, &request_id, &delivery).await;
    Industrial { request_id, slot_id }
}

/// The company (SME-1 computes its size) and its engineer, who works where it is established.
async fn register_company(journey: &Journey) {
    let (sme, ids) = (&journey.cast.sme, &journey.cast.ids);
    let company = journey
        .call(
            sme,
            &format!("{INTAKE}/RegisterOrganisation"),
            json!({"requestId": uuid::Uuid::now_v7().to_string(), "organisation": {
                "id": ids.company,
                "legalName": "Wisła Microfluidics sp. z o.o. (journey)",
                "country": "PL",
                "kind": "ORGANISATION_KIND_COMPANY",
                "legalForm": "sp. z o.o.",
                "figures": {"headcountAwu": 12.0, "turnoverEurCents": "180000000", "balanceSheetEurCents": "90000000"},
                "referenceYear": 2025,
            }}),
        )
        .await;
    // SME-1: 12 people and EUR 1.8 million of turnover make a small enterprise.
    assert_eq!(company["assessment"]["smeCategory"], "SME_CATEGORY_SMALL", "{company}");
    let engineer = journey
        .call(
            sme,
            &format!("{INTAKE}/RegisterPerson"),
            json!({"requestId": uuid::Uuid::now_v7().to_string(), "person": {
                "id": ids.engineer,
                "fullName": "Agnieszka Nowak (journey)",
                "organisationId": ids.company,
            }}),
        )
        .await;
    assert_eq!(engineer["workCountry"], "PL", "the employer's country: {engineer}");
}

/// "Pomieszczenie czyste do mikrofluidyki": the cleanroom's descriptions are English and German,
/// found through the thesaurus; the hit carries the window that is free.
async fn search_in_polish(journey: &Journey, catalogue: &Catalogue) {
    let search = json!({"query": "pomieszczenie czyste do mikrofluidyki"});
    let found = rti_platform::testing::eventually("the published cleanroom in the search index", || async {
        let found = journey
            .call_anonymously("rti.registry.v1.RegistryService/SearchInstallations", search.clone())
            .await;
        (!found["hits"].as_array().expect("hits").is_empty()).then_some(found)
    })
    .await;
    let hits = found["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1, "only the cleanroom answers: {found}");
    let hit = &hits[0];
    assert_eq!(
        hit["installation"]["id"],
        json!(catalogue.cleanroom.installation_id),
        "{hit}"
    );
    assert_eq!(hit["infrastructureAcronym"], "DCR", "{hit}");
    assert_eq!(
        hit["nextFreeWindow"]["windowId"],
        json!(catalogue.cleanroom.window_id),
        "{hit}"
    );
    assert_eq!(int(&hit["nextFreeWindow"]["freeUnits"]), WINDOW_UNITS, "{hit}");
}

/// Four hours asked (a retry of the creation changes nothing), the agreement accepted at
/// submission, screening clear; the operator acknowledges and quotes, the SME accepts.
async fn request_and_accept_a_quote(journey: &Journey, catalogue: &Catalogue) -> String {
    let (sme, ids) = (&journey.cast.sme, &journey.cast.ids);
    let operator = &catalogue.cleanroom.operator;
    let create = json!({"idempotencyKey": uuid::Uuid::now_v7().to_string(), "accessRequest": {
        "lane": "LANE_INDUSTRIAL",
        "organisationId": ids.company,
        "installations": [{"installationId": catalogue.cleanroom.installation_id, "units": HOURS.to_string()}],
        "title": "Bonding trials of a PDMS lab-on-a-chip (journey)",
        "description": "Four hours of soft lithography and plasma bonding for a diagnostic chip prototype.",
        "confidentiality": "CONFIDENTIALITY_LEVEL_CONFIDENTIAL",
        "ipRegime": "IP_REGIME_USER_OWNS",
        "agreementKind": "AGREEMENT_KIND_SERVICE_CONTRACT",
        "contactPersonId": ids.engineer,
    }});
    let draft = journey
        .call(sme, &format!("{INTAKE}/CreateAccessRequest"), create.clone())
        .await;
    assert_eq!(draft["status"], "ACCESS_REQUEST_STATUS_DRAFT", "{draft}");
    let retried = journey
        .call(sme, &format!("{INTAKE}/CreateAccessRequest"), create)
        .await;
    assert_eq!(
        retried["id"], draft["id"],
        "a retry returns the same request, never a second"
    );
    let request_id = draft["id"].as_str().expect("an id").to_owned();

    let submitted = journey
        .call(
            sme,
            &format!("{INTAKE}/SubmitAccessRequest"),
            json!({"id": request_id, "acceptAgreement": true}),
        )
        .await;
    assert_eq!(submitted["status"], "ACCESS_REQUEST_STATUS_FEASIBILITY", "{submitted}");
    assert_eq!(
        submitted["screening"]["verdict"], "SCREENING_VERDICT_CLEAR",
        "{submitted}"
    );
    assert_eq!(
        submitted["agreementAcceptance"]["kind"], "AGREEMENT_KIND_SERVICE_CONTRACT",
        "{submitted}"
    );

    let acknowledged = journey
        .call(
            operator,
            &format!("{INTAKE}/AcknowledgeAccessRequest"),
            json!({"id": request_id}),
        )
        .await;
    // IND-7d: the acknowledgement is the first milestone of the decision clock.
    assert!(
        acknowledged["deadlines"]["acknowledgeTime"].is_string(),
        "{acknowledged}"
    );
    let quoted = journey
        .call(
            operator,
            &format!("{INTAKE}/QuoteAccessRequest"),
            json!({"id": request_id, "validDays": 30}),
        )
        .await;
    assert_eq!(quoted["status"], "ACCESS_REQUEST_STATUS_QUOTED", "{quoted}");
    assert_quote(&quoted["quote"]);
    let accepted = journey
        .call(sme, &format!("{INTAKE}/AcceptQuote"), json!({"id": request_id}))
        .await;
    assert_eq!(accepted["status"], "ACCESS_REQUEST_STATUS_ACCEPTED", "{accepted}");
    // SA-6: accepting the quote records its aid in the company's de minimis ledger.
    let statement = journey
        .call(
            sme,
            &format!("{INTAKE}/GetDeMinimisStatement"),
            json!({"organisationId": ids.company}),
        )
        .await;
    assert_eq!(statement["granted"], quoted["quote"]["aid"], "{statement}");
    assert_eq!(
        int(&statement["headroom"]["minorUnits"]) + int(&statement["granted"]["minorUnits"]),
        int(&statement["ceiling"]["minorUnits"]),
        "{statement}"
    );
    request_id
}

/// IND-7a, SA-4, SA-5: four hours at the market price; the SME's discount (the provider's price
/// policy) is de minimis aid, and what is charged and the aid add up to the market price.
fn assert_quote(quote: &Json) {
    let market = HOURS * CLEANROOM_PRICE_CENTS;
    let line = &quote["lines"][0];
    assert_eq!(int(&line["units"]), HOURS, "{quote}");
    assert_eq!(int(&line["unitPrice"]["minorUnits"]), CLEANROOM_PRICE_CENTS, "{quote}");
    assert_eq!(quote["requesterClass"], "REQUESTER_CLASS_SME", "{quote}");
    assert_eq!(
        quote["marketPrice"],
        json!({"currency": "EUR", "minorUnits": market.to_string()})
    );
    let discount = int(&quote["discountPercent"]);
    assert!(discount > 0, "the SME pays less than the market price: {quote}");
    let charged = int(&quote["chargedPrice"]["minorUnits"]);
    assert_eq!(charged, market * (100 - discount) / 100, "{quote}");
    assert_eq!(charged + int(&quote["aid"]["minorUnits"]), market, "{quote}");
    assert_eq!(quote["aidBasis"], "AID_BASIS_DE_MINIMIS", "{quote}");
}
