//! Before anyone asks: the admin imports the sanctions list that intake screens against and
//! registers two providers; their operators describe and publish an installation each, a
//! cleanroom in Vienna for the market (with a tariff) and a beamline in Grenoble for excellence,
//! and open a capacity window on each.

use serde_json::{Value as Json, json};

use super::cast::operator_of;
use super::transport::timestamp;
use super::{DAY, Journey, int};

/// The fictional EU sanctions list of the suite's fixtures (every name invented).
const SANCTIONS_XML: &str = include_str!("../fixtures/sanctions.xml");

/// EUR 180.00 an hour of cleanroom time, the market price (SA-4).
pub(crate) const CLEANROOM_PRICE_CENTS: i64 = 18_000;
/// The units each capacity window offers.
pub(crate) const WINDOW_UNITS: i64 = 120;

/// A published installation and what the journey needs of it.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) installation_id: String,
    /// Its capacity window, open from two days ago for four weeks.
    pub(crate) window_id: String,
    pub(crate) window_start: i64,
    /// A token of its operator.
    pub(crate) operator: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    /// In Austria: the SME's industrial request.
    pub(crate) cleanroom: Published,
    /// In France: the research group's transnational access.
    pub(crate) beamline: Published,
}

pub(crate) async fn publish(journey: &Journey) -> Catalogue {
    let admin = &journey.cast.admin;
    let imported = journey
        .call(
            admin,
            "rti.intake.v1.IntakeService/ImportSanctionsList",
            json!({
                "format": "SANCTIONS_LIST_FORMAT_XML",
                "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SANCTIONS_XML),
            }),
        )
        .await;
    assert!(int(&imported["parties"]) > 0, "{imported}");

    let cleanroom = publish_installation(
        journey,
        json!({"name": "Donau Microfabrication Centre", "country": "AT", "website": "https://dmc.example.org"}),
        json!({
            "name": "Donau Cleanroom",
            "acronym": "DCR",
            "description": "An ISO 5 cleanroom for microfluidics and MEMS prototyping.",
            "kind": "INFRASTRUCTURE_KIND_TECHNOLOGY",
            "structure": "INFRASTRUCTURE_STRUCTURE_SINGLE_SITED",
            "countries": ["AT"],
            "legalForm": "LEGAL_FORM_RTO",
        }),
        json!({
            "name": "ISO 5 cleanroom: microfluidics bay",
            "countries": ["AT"],
            "accessTypes": ["ACCESS_TYPE_PHYSICAL"],
            "accessModes": ["ACCESS_MODE_MARKET"],
            "unitOfAccess": {"kind": "UNIT_KIND_HOUR", "description": "one hour of cleanroom tool time with support"},
            "annualCapacityUnits": "2000",
            "trlMin": 3,
            "trlMax": 7,
            "typicalLeadTimeDays": 14,
            "scientificDomains": ["SCIENTIFIC_DOMAIN_PHYSICAL_SCIENCES_ENGINEERING"],
            "techniques": ["soft lithography", "PDMS moulding", "wafer bonding"],
            "descriptions": [
                {"language": "en", "text": "A cleanroom bay for microfluidics: soft lithography, PDMS moulding and bonding of lab-on-a-chip prototypes for start-ups and SMEs."},
                {"language": "de", "text": "Ein Reinraum für Mikrofluidik: Softlithographie, PDMS-Abformung und Bonden von Lab-on-a-Chip-Prototypen für Start-ups und KMU."},
            ],
        }),
        Some(CLEANROOM_PRICE_CENTS),
    )
    .await;
    let beamline = publish_installation(
        journey,
        json!({"name": "Alpine Light Source", "country": "FR", "website": "https://als.example.org"}),
        json!({
            "name": "Alpine Light Source",
            "acronym": "ALS",
            "description": "A third-generation synchrotron light source.",
            "kind": "INFRASTRUCTURE_KIND_RESEARCH",
            "structure": "INFRASTRUCTURE_STRUCTURE_SINGLE_SITED",
            "countries": ["FR"],
            "legalForm": "LEGAL_FORM_PUBLIC_BODY",
        }),
        json!({
            "name": "Powder diffraction beamline",
            "countries": ["FR"],
            "accessTypes": ["ACCESS_TYPE_PHYSICAL", "ACCESS_TYPE_REMOTE"],
            "accessModes": ["ACCESS_MODE_EXCELLENCE"],
            "unitOfAccess": {"kind": "UNIT_KIND_SHIFT_8H", "description": "one 8-hour shift of beamtime"},
            "annualCapacityUnits": "600",
            "typicalLeadTimeDays": 60,
            "scientificDomains": ["SCIENTIFIC_DOMAIN_PHYSICAL_SCIENCES_ENGINEERING"],
            "techniques": ["powder diffraction"],
            "descriptions": [
                {"language": "en", "text": "High-resolution powder diffraction with synchrotron X-rays for materials research."},
                {"language": "fr", "text": "Diffraction sur poudre à haute résolution avec les rayons X du synchrotron."},
            ],
        }),
        None,
    )
    .await;
    Catalogue { cleanroom, beamline }
}

/// The admin registers the provider and its infrastructure; the infrastructure's operator
/// describes the installation, prices it when it is sold (`price_cents` an hour), opens a
/// capacity window and publishes it.
async fn publish_installation(
    journey: &Journey,
    provider: Json,
    mut infrastructure: Json,
    mut installation: Json,
    price_cents: Option<i64>,
) -> Published {
    let admin = &journey.cast.admin;
    let registry = |method: &str| format!("rti.registry.v1.RegistryService/{method}");
    let provider = journey
        .call(admin, &registry("CreateProvider"), json!({"provider": provider}))
        .await;
    infrastructure["providerId"] = provider["id"].clone();
    let infrastructure = journey
        .call(
            admin,
            &registry("CreateInfrastructure"),
            json!({"infrastructure": infrastructure}),
        )
        .await;
    let infrastructure_id = infrastructure["id"].as_str().expect("an id").to_owned();
    let operator = operator_of(&format!("journey-operator-{infrastructure_id}"), &infrastructure_id);

    installation["infrastructureId"] = json!(infrastructure_id);
    let created = journey
        .call(
            &operator,
            &registry("CreateInstallation"),
            json!({"requestId": uuid::Uuid::now_v7().to_string(), "installation": installation}),
        )
        .await;
    assert_eq!(created["status"], "INSTALLATION_STATUS_DRAFT", "{created}");
    let installation_id = created["id"].as_str().expect("an id").to_owned();

    let today = rti_platform::time::now_micros().div_euclid(DAY) * DAY;
    let window_start = today - 2 * DAY;
    if let Some(price_cents) = price_cents {
        let tariff = journey
            .call(
                &operator,
                &registry("SetTariff"),
                json!({"tariff": {
                    "installationId": installation_id,
                    "pricePerUnit": {"currency": "EUR", "minorUnits": price_cents.to_string()},
                    "basis": "TARIFF_BASIS_MARKET_PRICE",
                    "validFrom": timestamp(window_start - 30 * DAY),
                }}),
            )
            .await;
        assert_eq!(int(&tariff["pricePerUnit"]["minorUnits"]), price_cents, "{tariff}");
    }
    let window = journey
        .call(
            &operator,
            &registry("AddCapacityWindow"),
            json!({"window": {
                "installationId": installation_id,
                "startTime": timestamp(window_start),
                "endTime": timestamp(window_start + 28 * DAY),
                "units": WINDOW_UNITS.to_string(),
            }}),
        )
        .await;
    assert_eq!(int(&window["freeUnits"]), WINDOW_UNITS, "{window}");

    let published = journey
        .call(
            &operator,
            &registry("PublishInstallation"),
            json!({"id": installation_id}),
        )
        .await;
    assert_eq!(published["status"], "INSTALLATION_STATUS_PUBLISHED", "{published}");
    Published {
        installation_id,
        window_id: window["id"].as_str().expect("an id").to_owned(),
        window_start,
        operator,
    }
}
