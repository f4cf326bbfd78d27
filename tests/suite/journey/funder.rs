//! The end of the journey: each operator records its users' access (pseudonymous, TA-10), once
//! reporting has heard of the request and its slot; Poland's national funder pulls the usage of
//! the period by lane and installation, and sees both journeys counted: one user in the
//! industrial lane at the cleanroom, three in the transnational lane at the beamline. Their units
//! stay withheld, since one organisation makes up each (the p% rule: never exposing a single
//! company). A funder of another country sees neither.

use serde_json::{Value as Json, json};

use super::catalogue::{Catalogue, Published};
use super::industrial::{HOURS, Industrial};
use super::transnational::{SHIFTS_DELIVERED, Transnational};
use super::transport::timestamp;
use super::{DAY, Journey};

const REPORTING: &str = "rti.reporting.v1.ReportingService";

/// An hour in microseconds.
const HOUR: i64 = 3_600_000_000;

/// One person's use, as the operator records it.
struct Use<'a> {
    installation: &'a Published,
    request_id: &'a str,
    slot_id: &'a str,
    user: &'a str,
    organisation: &'a str,
    organisation_type: &'a str,
    units: i64,
    eu_funded: bool,
}

pub(crate) async fn record_usage_and_pull_statistics(
    journey: &Journey,
    catalogue: &Catalogue,
    industrial: &Industrial,
    transnational: &Transnational,
) {
    let ids = &journey.cast.ids;
    record(
        journey,
        &Use {
            installation: &catalogue.cleanroom,
            request_id: &industrial.request_id,
            slot_id: &industrial.slot_id,
            user: "wisla-user-1",
            organisation: &ids.company,
            organisation_type: "ORGANISATION_TYPE_SME",
            units: HOURS,
            eu_funded: false,
        },
    )
    .await;
    // Five shifts delivered, used by the three researchers: two, two and one.
    for (index, units) in [2, 2, 1].into_iter().enumerate() {
        record(
            journey,
            &Use {
                installation: &catalogue.beamline,
                request_id: &transnational.request_id,
                slot_id: &transnational.slot_id,
                user: &format!("pomeranian-user-{index}"),
                organisation: &ids.university,
                organisation_type: "ORGANISATION_TYPE_UNIVERSITY",
                units,
                // TA-4: the group works outside the beamline's country.
                eu_funded: true,
            },
        )
        .await;
    }
    assert_eq!(2 + 2 + 1, SHIFTS_DELIVERED);

    let query = json!({
        "groupBy": ["lane", "installation"],
        "measures": ["users", "units_used"],
        "filter": {
            "from": timestamp(catalogue.cleanroom.window_start),
            "to": timestamp(catalogue.cleanroom.window_start + 28 * DAY),
        },
    });
    let rows = journey
        .stream(
            &journey.cast.polish_funder,
            &format!("{REPORTING}/QueryUsageStatistics"),
            query.clone(),
        )
        .await;
    assert_eq!(rows.len(), 2, "one row per lane and installation: {rows:#?}");
    let expected = [
        ("industrial", &catalogue.cleanroom.installation_id, 1),
        ("transnational", &catalogue.beamline.installation_id, 3),
    ];
    for (lane, installation_id, users) in expected {
        let row = rows
            .iter()
            .find(|row| row["groups"][0]["value"] == lane)
            .unwrap_or_else(|| panic!("no {lane} row in {rows:#?}"));
        assert_eq!(row["groups"][1]["value"], json!(installation_id), "{row}");
        assert_eq!(measure(row, "users")["integer"], json!(users.to_string()), "{row}");
        assert_eq!(
            measure(row, "units_used")["withheld"],
            "WITHHELD_REASON_DOMINANCE",
            "one organisation's units are never shown: {row}"
        );
    }

    let elsewhere = journey
        .stream(
            &journey.cast.german_funder,
            &format!("{REPORTING}/QueryUsageStatistics"),
            query,
        )
        .await;
    assert!(
        elsewhere.is_empty(),
        "neither user works in Germany, nor installation is there: {elsewhere:#?}"
    );
}

/// Records one use, once reporting knows the request and its slot from the other services'
/// events; the same record again is a retry and changes nothing.
async fn record(journey: &Journey, using: &Use<'_>) {
    let period_start = using.installation.window_start + DAY + 9 * HOUR;
    let record = json!({"record": {
        "recordId": format!("journey-{}", uuid::Uuid::now_v7()),
        "accessRequestId": using.request_id,
        "installationId": using.installation.installation_id,
        "slotId": using.slot_id,
        "userId": using.user,
        "homeOrganisationId": using.organisation,
        "homeOrganisationType": using.organisation_type,
        "homeCountry": "PL",
        "periodStart": timestamp(period_start),
        "periodEnd": timestamp(period_start + 4 * HOUR),
        "unitsUsed": using.units.to_string(),
        "daysOnSite": 1,
        "accessMode": "ACCESS_MODE_PHYSICAL",
        "euFunded": using.eu_funded,
        "newUser": true,
    }});
    let operator = &using.installation.operator;
    let rpc = format!("{REPORTING}/RecordUsage");
    let recorded = journey
        .once_known(operator, &rpc, record.clone(), tonic::Code::FailedPrecondition)
        .await;
    assert_eq!(recorded["created"], true, "{recorded}");
    let again = journey.call(operator, &rpc, record).await;
    assert_eq!(again["created"], false, "a retry never counts twice: {again}");
}

/// The value of `name` in a statistics row.
fn measure<'a>(row: &'a Json, name: &str) -> &'a Json {
    row["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|value| value["measure"] == name)
        .unwrap_or_else(|| panic!("no {name} in {row}"))
}
