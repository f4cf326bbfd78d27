//! Completing and publishing installations, and their tariffs: publishing lists every missing
//! field at once, market access needs a price, a published installation stays complete, and
//! tariffs follow one another without overlapping.

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_platform::time::timestamp_from_micros;
use rti_proto::common::Money;
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::calendar::day;
use crate::helpers::{create_installation_from, failed_subjects, spawn_service, violated_fields, with_token};

fn tariff(installation_id: &str, cents: i64, from: i64, to: Option<i64>) -> proto::Tariff {
    proto::Tariff {
        installation_id: installation_id.into(),
        price_per_unit: Some(Money {
            currency: "EUR".into(),
            minor_units: cents,
        }),
        basis: proto::TariffBasis::MarketPrice as i32,
        valid_from: Some(timestamp_from_micros(from)),
        valid_to: to.map(timestamp_from_micros),
        ..Default::default()
    }
}

async fn set_tariff(
    client: &mut RegistryServiceClient<Channel>,
    request_id: &str,
    tariff: proto::Tariff,
) -> Result<proto::Tariff, tonic::Status> {
    client
        .set_tariff(with_token(
            proto::SetTariffRequest {
                request_id: request_id.into(),
                tariff: Some(tariff),
            },
            &token(Role::Admin),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn publish(client: &mut RegistryServiceClient<Channel>, id: &str) -> Result<proto::Installation, tonic::Status> {
    client
        .publish_installation(with_token(
            proto::PublishInstallationRequest { id: id.into() },
            &token(Role::Admin),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn publishing_lists_everything_missing_at_once(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let bare = create_installation_from(&mut client, |installation| proto::Installation {
        name: "Bare draft".into(),
        infrastructure_id: installation.infrastructure_id,
        access_modes: vec![proto::AccessMode::Market as i32],
        ..Default::default()
    })
    .await;
    assert_eq!(bare.status, proto::InstallationStatus::Draft as i32);
    let refused = publish(&mut client, &bare.id).await.expect_err("incomplete");
    assert_eq!(
        failed_subjects(&refused),
        [
            "descriptions",
            "countries",
            "access_types",
            "unit_of_access.kind",
            "annual_capacity_units",
            "typical_lead_time_days",
            "scientific_domains",
            "tariff"
        ]
    );
    let missing = publish(&mut client, "").await.expect_err("no id");
    assert_eq!(violated_fields(&missing), ["id"]);
    let unknown = publish(&mut client, "0190f2d4-0000-7000-8000-000000000000")
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
}

async fn market_access_publishes_once_priced_and_stays_complete(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let draft = create_installation_from(&mut client, |installation| proto::Installation {
        access_modes: vec![proto::AccessMode::Market as i32],
        ..installation
    })
    .await;
    assert_eq!(
        failed_subjects(&publish(&mut client, &draft.id).await.expect_err("no price")),
        ["tariff"]
    );

    let bad = set_tariff(
        &mut client,
        "",
        proto::Tariff {
            installation_id: draft.id.clone(),
            price_per_unit: Some(Money {
                currency: "euro".into(),
                minor_units: -5,
            }),
            valid_from: Some(timestamp_from_micros(day(10))),
            valid_to: Some(timestamp_from_micros(day(5))),
            ..Default::default()
        },
    )
    .await
    .expect_err("bad tariff");
    assert_eq!(
        violated_fields(&bad),
        [
            "tariff.price_per_unit.currency",
            "tariff.price_per_unit.minor_units",
            "tariff.basis",
            "tariff.valid_to"
        ]
    );

    let first = set_tariff(&mut client, "price-1", tariff(&draft.id, 12_000, day(-30), None))
        .await
        .expect("first tariff");
    let replay = set_tariff(&mut client, "price-1", tariff(&draft.id, 12_000, day(-30), None))
        .await
        .expect("a retry");
    assert_eq!(replay.id, first.id);
    let second = set_tariff(&mut client, "price-2", tariff(&draft.id, 13_500, day(60), None))
        .await
        .expect("a later tariff ends the open one");
    let clash = set_tariff(&mut client, "", tariff(&draft.id, 9_000, day(-10), Some(day(0))))
        .await
        .expect_err("overlaps the first, which now ends");
    assert_eq!(clash.code(), Code::FailedPrecondition);
    assert!(clash.message().contains(&first.id), "{clash:?}");
    let tariffs = client
        .list_tariffs(proto::ListTariffsRequest {
            installation_id: draft.id.clone(),
        })
        .await
        .expect("public list")
        .into_inner()
        .tariffs;
    let periods: Vec<_> = tariffs
        .iter()
        .map(|tariff| (tariff.id.clone(), tariff.valid_to.is_some()))
        .collect();
    assert_eq!(periods, [(first.id.clone(), true), (second.id.clone(), false)]);
    assert_eq!(tariffs[0].valid_to, second.valid_from);
    let unnamed = client
        .list_tariffs(proto::ListTariffsRequest::default())
        .await
        .expect_err("no installation");
    assert_eq!(violated_fields(&unnamed), ["installation_id"]);
    let unknown = client
        .list_tariffs(proto::ListTariffsRequest {
            installation_id: "0190f2d4-0000-7000-8000-000000000000".into(),
        })
        .await
        .expect_err("unknown installation");
    assert_eq!(unknown.code(), Code::NotFound);

    let published = publish(&mut client, &draft.id).await.expect("complete");
    assert_eq!(published.status, proto::InstallationStatus::Published as i32);
    let again = publish(&mut client, &draft.id).await.expect("publishing twice");
    assert_eq!(again.update_time, published.update_time, "nothing changes");

    let emptied = client
        .update_installation(with_token(
            proto::UpdateInstallationRequest {
                installation: Some(proto::Installation {
                    id: draft.id.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["access_modes".into(), "scientific_domains".into()],
                }),
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("a published installation stays complete");
    assert_eq!(failed_subjects(&emptied), ["access_modes", "scientific_domains"]);
}

backend_tests!(
    publishing_lists_everything_missing_at_once,
    market_access_publishes_once_priced_and_stays_complete
);
