//! The capacity calendar through the API: windows that never overlap, downtime that closes
//! capacity and names the reservations it hits, availability per day, and reservations that
//! are idempotent and never over-book a window, whatever the concurrency.

use std::collections::BTreeSet;
use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{WriterHold, token};
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{TestService, create_installation, spawn_service, violated_fields, with_token};

pub const DAY: i64 = 86_400_000_000;

/// Midnight UTC, `days` after today.
pub fn day(days: i64) -> i64 {
    (now_micros().div_euclid(DAY) + days) * DAY
}

pub async fn add_window(
    client: &mut RegistryServiceClient<Channel>,
    installation_id: &str,
    (from, to): (i64, i64),
    units: i64,
) -> Result<proto::CapacityWindow, tonic::Status> {
    let request = proto::AddCapacityWindowRequest {
        window: Some(proto::CapacityWindow {
            installation_id: installation_id.into(),
            start_time: Some(timestamp_from_micros(from)),
            end_time: Some(timestamp_from_micros(to)),
            units,
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .add_capacity_window(with_token(request, &token(Role::Admin)))
        .await
        .map(tonic::Response::into_inner)
}

fn reserve_request(reservation_id: &str, window: &proto::CapacityWindow, units: i64) -> proto::ReserveCapacityRequest {
    proto::ReserveCapacityRequest {
        reservation_id: reservation_id.into(),
        window_id: window.id.clone(),
        units,
        reference: "allocation 42".into(),
        installation_id: window.installation_id.clone(),
    }
}

async fn reserve(
    client: &mut RegistryServiceClient<Channel>,
    reservation_id: &str,
    window: &proto::CapacityWindow,
    units: i64,
) -> Result<proto::Reservation, tonic::Status> {
    client
        .reserve_capacity(with_token(
            reserve_request(reservation_id, window, units),
            &token(Role::Service),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn window_state(client: &mut RegistryServiceClient<Channel>, installation_id: &str) -> proto::CapacityWindow {
    let availability = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: installation_id.into(),
            from: Some(timestamp_from_micros(day(0))),
            to: Some(timestamp_from_micros(day(30))),
        })
        .await
        .expect("availability")
        .into_inner();
    availability.windows.into_iter().next().expect("one window")
}

async fn installation_with_window(service: &TestService, units: i64) -> (String, proto::CapacityWindow) {
    let mut client = service.client();
    let installation = create_installation(&mut client, "Beamline 3").await;
    let window = add_window(&mut client, &installation.id, (day(1), day(11)), units)
        .await
        .expect("window");
    (installation.id, window)
}

async fn windows_downtime_and_availability(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let (installation_id, window) = installation_with_window(&service, 10).await;
    assert_eq!((window.units, window.free_units, window.closed_units), (10, 10, 0));

    let overlap = add_window(&mut client, &installation_id, (day(10), day(12)), 5)
        .await
        .expect_err("overlaps the first window");
    assert_eq!(overlap.code(), Code::FailedPrecondition);
    assert!(overlap.message().contains(&window.id), "{overlap:?}");
    let bad = client
        .add_capacity_window(with_token(
            proto::AddCapacityWindowRequest {
                window: Some(proto::CapacityWindow {
                    installation_id: installation_id.clone(),
                    start_time: Some(timestamp_from_micros(day(3))),
                    units: 0,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("bad window");
    assert_eq!(violated_fields(&bad), ["window.end_time", "window.units"]);
    let backwards = add_window(&mut client, &installation_id, (day(20), day(19)), 1)
        .await
        .expect_err("ends before it starts");
    assert_eq!(violated_fields(&backwards), ["window.end_time"]);

    reserve(&mut client, "hold-1", &window, 4).await.expect("reserved");
    let downtime = client
        .add_downtime(with_token(
            proto::AddDowntimeRequest {
                downtime: Some(proto::Downtime {
                    installation_id: installation_id.clone(),
                    start_time: Some(timestamp_from_micros(day(3))),
                    end_time: Some(timestamp_from_micros(day(5))),
                    reason: "Cryocooler repair".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("downtime")
        .into_inner();
    assert_eq!(downtime.windows.len(), 1);
    // Two of ten days: two of ten units closed; four reserved; four free.
    assert_eq!(
        (downtime.windows[0].closed_units, downtime.windows[0].free_units),
        (2, 4)
    );
    let affected: Vec<_> = downtime
        .affected_reservations
        .iter()
        .map(|reservation| reservation.reservation_id.as_str())
        .collect();
    assert_eq!(affected, ["hold-1"]);
    let no_reason = client
        .add_downtime(with_token(
            proto::AddDowntimeRequest {
                downtime: Some(proto::Downtime {
                    installation_id: installation_id.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("empty downtime");
    assert_eq!(
        violated_fields(&no_reason),
        ["downtime.start_time", "downtime.end_time", "downtime.reason"]
    );

    let availability = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: installation_id.clone(),
            from: Some(timestamp_from_micros(day(0))),
            to: Some(timestamp_from_micros(day(12))),
        })
        .await
        .expect("availability")
        .into_inner();
    let days: Vec<_> = availability
        .days
        .iter()
        .map(|day| (day.free_units, day.capacity_units, day.downtime))
        .collect();
    let mut expected = vec![(0, 0, false)];
    expected.extend([(4, 10, false), (4, 10, false)]);
    expected.extend([(0, 10, true), (0, 10, true)]);
    expected.extend(std::iter::repeat_n((4, 10, false), 6));
    expected.push((0, 0, false));
    assert_eq!(days, expected);
    assert_eq!(availability.downtime.len(), 1);
    assert_eq!(availability.days[0].date.len(), "2026-01-01".len());

    let bad_range = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: String::new(),
            from: Some(timestamp_from_micros(day(5))),
            to: Some(timestamp_from_micros(day(4))),
        })
        .await
        .expect_err("bad range");
    assert_eq!(violated_fields(&bad_range), ["installation_id", "to"]);
    let too_long = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: installation_id.clone(),
            from: Some(timestamp_from_micros(day(0))),
            to: Some(timestamp_from_micros(day(400))),
        })
        .await
        .expect_err("too long");
    assert_eq!(violated_fields(&too_long), ["to"]);
    let unknown = client
        .get_availability(proto::GetAvailabilityRequest {
            installation_id: "0190f2d4-0000-7000-8000-000000000000".into(),
            from: Some(timestamp_from_micros(day(0))),
            to: Some(timestamp_from_micros(day(1))),
        })
        .await
        .expect_err("unknown installation");
    assert_eq!(unknown.code(), Code::NotFound);
}

async fn sixty_four_concurrent_reservations_take_exactly_the_window(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let (installation_id, window) = installation_with_window(&service, 10).await;
    let calls = (0..64).map(|index| {
        let mut client = service.client();
        let window = window.clone();
        tokio::spawn(async move { reserve(&mut client, &format!("race-{index}"), &window, 1).await })
    });
    let outcomes = futures::future::join_all(calls).await;
    let mut won = BTreeSet::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome.expect("task") {
            Ok(reservation) => {
                assert_eq!(reservation.reservation_id, format!("race-{index}"));
                won.insert(reservation.reservation_id);
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert!(status.message().contains("0 free units"), "{status:?}");
            }
        }
    }
    assert_eq!(won.len(), 10, "exactly the window's ten units are reserved");
    let mut client = service.client();
    assert_eq!(window_state(&mut client, &installation_id).await.reserved_units, 10);

    // Every winner retried twice at once: the same reservations, no unit more.
    let retries = won.iter().flat_map(|id| [id.clone(), id.clone()]).map(|id| {
        let mut client = service.client();
        let window = window.clone();
        tokio::spawn(async move { reserve(&mut client, &id, &window, 1).await })
    });
    for outcome in futures::future::join_all(retries).await {
        let reservation = outcome.expect("task").expect("a retry returns the reservation");
        assert!(won.contains(&reservation.reservation_id));
        assert_eq!(reservation.state, proto::ReservationState::Active as i32);
    }
    assert_eq!(window_state(&mut client, &installation_id).await.reserved_units, 10);
}

async fn reservations_are_idempotent_and_release_once(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let (installation_id, window) = installation_with_window(&service, 6).await;

    // Eight concurrent first calls with one id: one reservation of two units.
    let same = (0..8).map(|_| {
        let mut client = service.client();
        let window = window.clone();
        tokio::spawn(async move { reserve(&mut client, "booking-7", &window, 2).await })
    });
    let created: BTreeSet<i64> = futures::future::join_all(same)
        .await
        .into_iter()
        .map(|outcome| {
            outcome
                .expect("task")
                .expect("reserved or replayed")
                .create_time
                .expect("time")
                .seconds
        })
        .collect();
    assert_eq!(created.len(), 1, "one reservation, returned to every call");
    assert_eq!(window_state(&mut client, &installation_id).await.reserved_units, 2);

    let other_units = reserve(&mut client, "booking-7", &window, 3)
        .await
        .expect_err("same id, other request");
    assert_eq!(other_units.code(), Code::AlreadyExists);
    let too_many = reserve(&mut client, "booking-8", &window, 5)
        .await
        .expect_err("only four free");
    assert_eq!(too_many.code(), Code::FailedPrecondition);
    assert!(
        too_many.message().contains("has 4 free units; 5 were asked for"),
        "{too_many:?}"
    );
    let bad = client
        .reserve_capacity(with_token(
            proto::ReserveCapacityRequest {
                reference: "x".repeat(201),
                ..Default::default()
            },
            &token(Role::Service),
        ))
        .await
        .expect_err("bad reservation");
    assert_eq!(
        violated_fields(&bad),
        ["reservation_id", "window_id", "installation_id", "units", "reference"]
    );
    let nowhere = proto::CapacityWindow {
        id: "0190f2d4-0000-7000-8000-000000000000".into(),
        ..window.clone()
    };
    let missing = reserve(&mut client, "booking-9", &nowhere, 1)
        .await
        .expect_err("no such window");
    assert_eq!(missing.code(), Code::NotFound);

    for _ in 0..2 {
        let released = client
            .release_capacity(with_token(
                proto::ReleaseCapacityRequest {
                    reservation_id: "booking-7".into(),
                },
                &token(Role::Service),
            ))
            .await
            .expect("released, then the same again")
            .into_inner();
        assert_eq!(released.state, proto::ReservationState::Released as i32);
        assert!(released.release_time.is_some());
    }
    let window_after = window_state(&mut client, &installation_id).await;
    assert_eq!((window_after.reserved_units, window_after.free_units), (0, 6));
    let unknown = client
        .release_capacity(with_token(
            proto::ReleaseCapacityRequest {
                reservation_id: "never-made".into(),
            },
            &token(Role::Service),
        ))
        .await
        .expect_err("unknown reservation");
    assert_eq!(unknown.code(), Code::NotFound);
    let unnamed = client
        .release_capacity(with_token(
            proto::ReleaseCapacityRequest::default(),
            &token(Role::Service),
        ))
        .await
        .expect_err("no reservation id");
    assert_eq!(violated_fields(&unnamed), ["reservation_id"]);
}

/// Issue 13, item 7: allocation gives each reservation a deadline shorter than its sweeper's
/// grace period, which holds only if the registry gives the call up at that deadline too: a
/// reservation still waiting for the store then is never taken, even once the store is free.
async fn a_reservation_past_its_deadline_is_never_taken(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let (installation_id, window) = installation_with_window(&service, 6).await;
    let hold = WriterHold::take(&service.database.url).await;
    let mut late = with_token(reserve_request("late-1", &window, 4), &token(Role::Service));
    late.set_timeout(Duration::from_millis(300));
    let gave_up = client
        .reserve_capacity(late)
        .await
        .expect_err("the deadline passes while the store is held");
    assert!(
        matches!(gave_up.code(), Code::Cancelled | Code::DeadlineExceeded),
        "{gave_up:?}"
    );
    hold.release().await;
    let after = window_state(&mut client, &installation_id).await;
    assert_eq!(after.reserved_units, 0, "nothing was taken after the deadline");
    // The other way: with the store free, the same reservation is taken within a deadline.
    let mut in_time = with_token(reserve_request("late-1", &window, 4), &token(Role::Service));
    in_time.set_timeout(Duration::from_secs(10));
    client.reserve_capacity(in_time).await.expect("reserved in time");
    assert_eq!(window_state(&mut client, &installation_id).await.reserved_units, 4);
}

backend_tests!(
    windows_downtime_and_availability,
    sixty_four_concurrent_reservations_take_exactly_the_window,
    reservations_are_idempotent_and_release_once,
    a_reservation_past_its_deadline_is_never_taken
);
