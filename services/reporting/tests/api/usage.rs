//! Usage records (TA-10): kept once per record id, each checked against what intake, allocation
//! and the registry said (request known and granted here, units within the grant or delivery,
//! period within the slot, the operator's own installation), one by one in a stream with a
//! summary; and the usage measures computed from them.

use rti_platform::db::Backend;
use rti_platform::testing::violated_fields;
use rti_platform::time::timestamp_from_micros;
use rti_proto::reporting as proto;
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    usage_measures_count_units_users_new_users_and_groups,
    a_record_is_kept_once_and_a_retry_changes_nothing,
    each_check_refuses_a_record_naming_its_field,
    an_operator_records_usage_only_at_its_own_infrastructures,
    a_stream_keeps_the_good_records_and_reports_each_bad_one,
    a_record_is_checked_against_the_projections_as_they_stand_when_it_arrives,
    a_period_whose_days_would_overflow_is_refused_by_field,
);

pub struct UsageFixture {
    pub cleanroom: Site,
    pub beamline: Site,
    pub industrial: String,
    pub industrial_slot: String,
    pub proposal: String,
}

/// An accepted industrial request (10 units at the Cleanroom, a slot 2–6 March delivering 8) and
/// a granted proposal (15 units at the Beamline, a slot 4–8 May delivering 15).
pub fn usage_fixture(world: &World) -> UsageFixture {
    let cleanroom = world.site("Cleanroom", "DE");
    let beamline = world.site("Beamline", "FR");
    let industrial = world.industrial(&sme("DE"), &cleanroom, 10, date(2, 1), date(2, 11), Outcome::Accepted);
    let industrial_slot = world.slot(&industrial, &cleanroom, 10, date(3, 2), date(3, 7), Some((8, 2)));
    let proposal = world.proposal(
        &university("PL"),
        &beamline,
        20,
        date(2, 1),
        date(3, 1),
        Some(15),
        false,
    );
    world.slot(&proposal, &beamline, 15, date(5, 4), date(5, 9), Some((15, 0)));
    UsageFixture {
        cleanroom,
        beamline,
        industrial,
        industrial_slot,
        proposal,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn record(
    request: &str,
    site: &Site,
    user: &str,
    organisation: &str,
    country: &str,
    start: i64,
    end: i64,
    units: i64,
) -> proto::UsageRecord {
    proto::UsageRecord {
        record_id: rti_platform::ids::new_id(),
        access_request_id: request.to_owned(),
        installation_id: site.installation.clone(),
        slot_id: String::new(),
        user_id: user.to_owned(),
        home_organisation_id: organisation.to_owned(),
        home_organisation_type: proto::OrganisationType::Sme as i32,
        home_country: country.to_owned(),
        period_start: Some(timestamp_from_micros(start)),
        period_end: Some(timestamp_from_micros(end)),
        units_used: units,
        days_on_site: 1,
        access_mode: proto::AccessMode::Physical as i32,
        eu_funded: false,
        new_user: true,
    }
}

pub async fn record_usage(world: &World, token: &str, record: proto::UsageRecord) -> Result<bool, tonic::Status> {
    world
        .client()
        .record_usage(authorized(proto::RecordUsageRequest { record: Some(record) }, token))
        .await
        .map(|response| response.into_inner().created)
}

async fn usage_measures_count_units_users_new_users_and_groups(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let first = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        3,
    );
    let mut second = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-2",
        "o-1",
        "DE",
        date(3, 4),
        date(3, 5),
        4,
    );
    second.new_user = false;
    second.access_mode = proto::AccessMode::Remote as i32;
    second.days_on_site = 0;
    let mut third = record(
        &fixture.proposal,
        &fixture.beamline,
        "u-3",
        "o-5",
        "PL",
        date(5, 4),
        date(5, 6),
        10,
    );
    third.eu_funded = true;
    third.home_organisation_type = proto::OrganisationType::University as i32;
    let mut fourth = third.clone();
    fourth.record_id = rti_platform::ids::new_id();
    fourth.period_start = Some(timestamp_from_micros(date(5, 6)));
    fourth.period_end = Some(timestamp_from_micros(date(5, 8)));
    fourth.units_used = 5;
    fourth.new_user = false;
    for usage in [first, second, third, fourth] {
        assert!(record_usage(&world, &admin(), usage).await.expect("kept"));
    }

    let measures = ["units_used", "users", "new_users", "user_groups"];
    let by_installation = rows(&world, &admin(), query_2026(&["installation"], &measures))
        .await
        .expect("answers");
    let cleanroom = row_of(&by_installation, &[&fixture.cleanroom.installation]);
    for (measure, expected) in measures.iter().zip([7, 2, 1, 1]) {
        assert_eq!(
            value(cleanroom, measure),
            Shown::Integer(expected),
            "Cleanroom {measure}"
        );
    }
    let beamline = row_of(&by_installation, &[&fixture.beamline.installation]);
    for (measure, expected) in measures.iter().zip([15, 1, 1, 1]) {
        assert_eq!(value(beamline, measure), Shown::Integer(expected), "Beamline {measure}");
    }
    let total = rows(&world, &admin(), query_2026(&[], &measures))
        .await
        .expect("answers");
    for (measure, expected) in measures.iter().zip([22, 3, 2, 2]) {
        assert_eq!(value(&total[0], measure), Shown::Integer(expected), "total {measure}");
    }
    let by_mode = rows(
        &world,
        &admin(),
        query_2026(&["access_mode", "funding_scheme"], &["users"]),
    )
    .await
    .expect("answers");
    assert_eq!(
        value(row_of(&by_mode, &["physical", "market"]), "users"),
        Shown::Integer(1)
    );
    assert_eq!(
        value(row_of(&by_mode, &["remote", "market"]), "users"),
        Shown::Integer(1)
    );
    assert_eq!(
        value(row_of(&by_mode, &["physical", "eu_transnational_access"]), "users"),
        Shown::Integer(1)
    );
    let by_type = rows(
        &world,
        &admin(),
        query_2026(&["requester_type", "month"], &["units_used"]),
    )
    .await
    .expect("answers");
    assert_eq!(
        value(row_of(&by_type, &["sme", "2026-03"]), "units_used"),
        Shown::Integer(7)
    );
    assert_eq!(
        value(row_of(&by_type, &["university", "2026-05"]), "units_used"),
        Shown::Integer(15)
    );
}

async fn a_record_is_kept_once_and_a_retry_changes_nothing(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let usage = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        3,
    );
    assert!(record_usage(&world, &admin(), usage.clone()).await.expect("kept"));
    assert!(
        !record_usage(&world, &admin(), usage.clone()).await.expect("a retry"),
        "not created twice"
    );
    let mut other = usage.clone();
    other.units_used = 4;
    let status = record_usage(&world, &admin(), other).await.expect_err("other values");
    assert_eq!(status.code(), Code::AlreadyExists);
    let total = rows(&world, &admin(), query_2026(&[], &["units_used"]))
        .await
        .expect("answers");
    assert_eq!(value(&total[0], "units_used"), Shown::Integer(3));
}

async fn each_check_refuses_a_record_naming_its_field(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let refused_field = |status: tonic::Status| {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        rti_platform::testing::failed_subjects(&status)
    };
    let whole = record(
        &fixture.proposal,
        &fixture.beamline,
        "u-3",
        "o-5",
        "PL",
        date(5, 4),
        date(5, 8),
        15,
    );
    assert!(record_usage(&world, &admin(), whole).await.expect("the whole grant"));
    let beyond = record(
        &fixture.proposal,
        &fixture.beamline,
        "u-3",
        "o-5",
        "PL",
        date(5, 4),
        date(5, 8),
        1,
    );
    let status = record_usage(&world, &admin(), beyond)
        .await
        .expect_err("beyond the grant");
    assert_eq!(refused_field(status), ["record.units_used"]);

    let unknown = record(
        &rti_platform::ids::new_id(),
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        1,
    );
    let status = record_usage(&world, &admin(), unknown)
        .await
        .expect_err("unknown request");
    assert_eq!(refused_field(status), ["record.access_request_id"]);

    let mut outside = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(4, 2),
        date(4, 3),
        1,
    );
    outside.slot_id = fixture.industrial_slot.clone();
    let status = record_usage(&world, &admin(), outside)
        .await
        .expect_err("outside the slot");
    assert_eq!(refused_field(status), ["record.period_start"]);

    let elsewhere = record(
        &fixture.industrial,
        &fixture.beamline,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        1,
    );
    let status = record_usage(&world, &admin(), elsewhere)
        .await
        .expect_err("not asked for");
    assert_eq!(refused_field(status), ["record.installation_id"]);

    let mut malformed = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "someone@example.org",
        "o-1",
        "XX",
        0,
        0,
        0,
    );
    malformed.period_start = None;
    let status = record_usage(&world, &admin(), malformed).await.expect_err("malformed");
    assert_eq!(
        violated_fields(&status),
        [
            "record.user_id",
            "record.home_country",
            "record.period_start",
            "record.units_used"
        ]
    );
}

async fn an_operator_records_usage_only_at_its_own_infrastructures(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let usage = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        1,
    );
    let beamline_operator = operator_of(&[&fixture.beamline.infrastructure]);
    let status = record_usage(&world, &beamline_operator, usage.clone())
        .await
        .expect_err("not its own");
    assert_eq!(status.code(), Code::PermissionDenied);
    let cleanroom_operator = operator_of(&[&fixture.cleanroom.infrastructure]);
    assert!(record_usage(&world, &cleanroom_operator, usage).await.expect("its own"));
}

async fn a_stream_keeps_the_good_records_and_reports_each_bad_one(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let good = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        2,
    );
    let unknown = record(
        &rti_platform::ids::new_id(),
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(3, 2),
        date(3, 3),
        1,
    );
    let mut nameless = good.clone();
    nameless.record_id = rti_platform::ids::new_id();
    nameless.user_id = String::new();
    let beyond = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-2",
        "o-1",
        "DE",
        date(3, 4),
        date(3, 5),
        9,
    );
    let sent = vec![
        good.clone(),
        unknown.clone(),
        good.clone(),
        nameless.clone(),
        beyond.clone(),
    ];
    let summary = world
        .client()
        .ingest_usage(authorized(futures::stream::iter(sent), &admin()))
        .await
        .expect("a summary")
        .into_inner();
    assert_eq!(
        (summary.received, summary.created, summary.unchanged, summary.rejected),
        (5, 1, 1, 3)
    );
    let rejected: Vec<(i64, &str, &str)> = summary
        .rejections
        .iter()
        .map(|rejection| (rejection.index, rejection.record_id.as_str(), rejection.field.as_str()))
        .collect();
    assert!(
        rejected.contains(&(1, unknown.record_id.as_str(), "access_request_id")),
        "{rejected:?}"
    );
    assert!(
        rejected.contains(&(3, nameless.record_id.as_str(), "user_id")),
        "{rejected:?}"
    );
    // 2 units already used of 10 granted (8 delivered): 9 more would pass both.
    assert!(
        rejected.contains(&(4, beyond.record_id.as_str(), "units_used")),
        "{rejected:?}"
    );
    let total = rows(&world, &admin(), query_2026(&[], &["units_used"]))
        .await
        .expect("answers");
    assert_eq!(value(&total[0], "units_used"), Shown::Integer(2));
}

/// Entitlements are kept between batches (`store/entitlements.rs`): a slot reported after a
/// record was refused for lying outside every slot lets the same record in.
async fn a_record_is_checked_against_the_projections_as_they_stand_when_it_arrives(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let in_april = record(
        &fixture.industrial,
        &fixture.cleanroom,
        "u-1",
        "o-1",
        "DE",
        date(4, 2),
        date(4, 3),
        1,
    );
    let status = record_usage(&world, &admin(), in_april.clone())
        .await
        .expect_err("no slot in April yet");
    assert_eq!(
        rti_platform::testing::failed_subjects(&status),
        ["record.period_start"],
        "{status:?}"
    );
    world.slot(&fixture.industrial, &fixture.cleanroom, 2, date(4, 1), date(4, 5), None);
    world.caught_up().await;
    assert!(
        record_usage(&world, &admin(), in_april)
            .await
            .expect("kept once the slot is known"),
        "the April slot admits the record"
    );
}

/// Item 6 of docs/security.md: the days of a period are counted with checked arithmetic; the
/// widest timestamps protobuf carries once made the subtraction overflow (a panic).
async fn a_period_whose_days_would_overflow_is_refused_by_field(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    let fixture = usage_fixture(&world);
    world.caught_up().await;
    let sound = record(
        &fixture.proposal,
        &fixture.beamline,
        "u-3",
        "o-5",
        "PL",
        date(5, 4),
        date(5, 8),
        1,
    );
    let wide = proto::UsageRecord {
        period_start: Some(timestamp_from_micros(i64::MIN)),
        period_end: Some(timestamp_from_micros(i64::MAX)),
        ..sound.clone()
    };
    let status = record_usage(&world, &admin(), wide).await.expect_err("refused");
    assert_eq!(violated_fields(&status), ["record.period_end"]);
    // The service still answers, and the same record with a sound period is kept.
    assert!(record_usage(&world, &admin(), sound).await.expect("kept"));
}
