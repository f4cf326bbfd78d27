//! Authorization: the whole RPC × role table walked through a running registry, and the
//! object-level rules: operators change only their own infrastructures, installations,
//! tariffs and calendars; admins and allocation (a service) reserve anywhere.

use rti_platform::auth::Role;
use rti_platform::authz::Access;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{call_with_empty_request, operator_token, token, violated_fields};
use rti_platform::time::timestamp_from_micros;
use rti_proto::common::Money;
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_registry::AUTHZ;
use tonic::Code;
use tonic::transport::Channel;

use crate::calendar::{add_window, day};
use crate::helpers::{create_installation, infrastructure, installation, provider, spawn_service, with_token};

/// Whether a status is the table's refusal (as opposed to a handler's answer to an empty request).
fn refused_by_table(status: &tonic::Status) -> bool {
    status.code() == Code::Unauthenticated
        || (status.code() == Code::PermissionDenied && status.message().contains("is for the roles"))
}

async fn walks_every_rpc_for_every_role(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    for rule in AUTHZ.rules {
        let anonymous = call_with_empty_request(service.channel.clone(), AUTHZ.service, rule.method, None).await;
        match rule.access {
            Access::Public => {
                assert!(
                    !anonymous.as_ref().is_err_and(refused_by_table),
                    "{} anonymous: {anonymous:?}",
                    rule.method
                );
            }
            Access::Roles(_) => {
                let code = anonymous.expect_err("anonymous call to a role method").code();
                assert_eq!(code, Code::Unauthenticated, "{} anonymous", rule.method);
            }
        }
        for role in Role::ALL {
            let outcome =
                call_with_empty_request(service.channel.clone(), AUTHZ.service, rule.method, Some(&token(role))).await;
            let allowed = match rule.access {
                Access::Public => true,
                Access::Roles(roles) => roles.contains(&role),
            };
            if allowed {
                assert!(
                    !outcome.as_ref().is_err_and(refused_by_table),
                    "{} as {role:?}: {outcome:?}",
                    rule.method
                );
            } else {
                let status = outcome.expect_err("denied");
                assert_eq!(status.code(), Code::PermissionDenied, "{} as {role:?}", rule.method);
            }
        }
    }
    let forged = call_with_empty_request(
        service.channel.clone(),
        AUTHZ.service,
        "CreateProvider",
        Some("not.a.jwt"),
    )
    .await;
    assert_eq!(forged.expect_err("forged token").code(), Code::Unauthenticated);
}

async fn operators_change_only_their_own_infrastructures(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let admin = token(Role::Admin);
    let owner = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider("Owner")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    let mut infrastructures = Vec::new();
    for name in ["Mine", "Theirs"] {
        let created = client
            .create_infrastructure(with_token(
                proto::CreateInfrastructureRequest {
                    infrastructure: Some(infrastructure(&owner.id, name)),
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .expect("infrastructure")
            .into_inner();
        infrastructures.push(created);
    }
    let (mine, theirs) = (&infrastructures[0], &infrastructures[1]);
    let operator = operator_token(&[&mine.id]);
    let rename = |target: &proto::Infrastructure| proto::UpdateInfrastructureRequest {
        infrastructure: Some(proto::Infrastructure {
            name: "Renamed".into(),
            ..target.clone()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["name".into()],
        }),
    };

    client
        .update_infrastructure(with_token(rename(mine), &operator))
        .await
        .expect("own infrastructure");
    let denied = client
        .update_infrastructure(with_token(rename(theirs), &operator))
        .await
        .expect_err("not theirs");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let own_installation = client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(installation(&mine.id, "Cleanroom")),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .expect("own installation")
        .into_inner();
    let denied = client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(installation(&theirs.id, "Cleanroom")),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .expect_err("other infrastructure");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let admins_installation = client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(installation(&theirs.id, "Test bed")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("admin anywhere")
        .into_inner();
    let relabel = |target: &proto::Installation| proto::UpdateInstallationRequest {
        installation: Some(proto::Installation {
            name: "Relabelled".into(),
            ..target.clone()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["name".into()],
        }),
    };
    let updated = client
        .update_installation(with_token(relabel(&own_installation), &operator))
        .await
        .expect("own")
        .into_inner();
    assert_eq!(updated.name, "Relabelled");
    let denied = client
        .update_installation(with_token(relabel(&admins_installation), &operator))
        .await
        .expect_err("other");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

/// Every calendar and publishing call on `installation_id` as `caller`, each outcome's code.
async fn manage(
    client: &mut RegistryServiceClient<Channel>,
    caller: &str,
    installation_id: &str,
    window_id: &str,
    tag: &str,
) -> Vec<Code> {
    let code = |outcome: Result<(), tonic::Status>| outcome.err().map_or(Code::Ok, |status| status.code());
    let when = |days: i64| Some(timestamp_from_micros(day(days)));
    let mut codes = Vec::new();
    let tariff = proto::Tariff {
        installation_id: installation_id.into(),
        price_per_unit: Some(Money {
            currency: "EUR".into(),
            minor_units: 100,
        }),
        basis: proto::TariffBasis::FullCost as i32,
        valid_from: when(0),
        ..Default::default()
    };
    let request = proto::SetTariffRequest {
        request_id: String::new(),
        tariff: Some(tariff),
    };
    codes.push(code(client.set_tariff(with_token(request, caller)).await.map(drop)));
    let request = proto::AddCapacityWindowRequest {
        window: Some(proto::CapacityWindow {
            installation_id: installation_id.into(),
            start_time: when(100),
            end_time: when(101),
            units: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    codes.push(code(
        client.add_capacity_window(with_token(request, caller)).await.map(drop),
    ));
    let request = proto::AddDowntimeRequest {
        downtime: Some(proto::Downtime {
            installation_id: installation_id.into(),
            start_time: when(200),
            end_time: when(201),
            reason: "Service".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    codes.push(code(client.add_downtime(with_token(request, caller)).await.map(drop)));
    let request = proto::PublishInstallationRequest {
        id: installation_id.into(),
    };
    codes.push(code(
        client.publish_installation(with_token(request, caller)).await.map(drop),
    ));
    let request = proto::ReserveCapacityRequest {
        reservation_id: format!("reservation-{tag}"),
        window_id: window_id.into(),
        units: 1,
        reference: String::new(),
        installation_id: installation_id.into(),
    };
    codes.push(code(
        client.reserve_capacity(with_token(request, caller)).await.map(drop),
    ));
    let request = proto::ReleaseCapacityRequest {
        reservation_id: "reservation-admin".into(),
    };
    codes.push(code(
        client.release_capacity(with_token(request, caller)).await.map(drop),
    ));
    codes
}

async fn operators_manage_only_their_own_calendars(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let mine = create_installation(&mut client, "Mine").await;
    let theirs = create_installation(&mut client, "Theirs").await;
    let mut windows = Vec::new();
    for installation in [&mine, &theirs] {
        windows.push(
            add_window(&mut client, &installation.id, (day(1), day(30)), 10)
                .await
                .expect("window"),
        );
    }
    let operator = operator_token(&[&mine.infrastructure_id]);
    let admin = token(Role::Admin);
    let all = |code: Code| vec![code; 6];
    // The admin reserves first in each window, so that releasing "reservation-admin" has
    // something to release wherever it is called.
    assert_eq!(
        manage(&mut client, &admin, &theirs.id, &windows[1].id, "admin").await,
        all(Code::Ok)
    );
    assert_eq!(
        manage(&mut client, &operator, &theirs.id, &windows[1].id, "operator").await,
        all(Code::PermissionDenied)
    );
    let own = manage(&mut client, &operator, &mine.id, &windows[0].id, "operator").await;
    assert_eq!(own[..5], all(Code::Ok)[..5], "{own:?}");
    assert_eq!(
        own[5],
        Code::PermissionDenied,
        "the admin's reservation is in the other installation"
    );
    let service_token = token(Role::Service);
    let reserve_in = |installation_id: &str, reservation_id: &str| proto::ReserveCapacityRequest {
        reservation_id: reservation_id.into(),
        window_id: windows[1].id.clone(),
        units: 2,
        reference: "allocation".into(),
        installation_id: installation_id.into(),
    };
    let reserved = client
        .reserve_capacity(with_token(reserve_in(&theirs.id, "allocation-1"), &service_token))
        .await;
    assert!(
        reserved.is_ok(),
        "allocation reserves at any installation: {reserved:?}"
    );
    // Issue 13, item 1: naming one's own installation with a competitor's window holds nothing,
    // for an operator and for the service that acts for one.
    for caller in [&operator, &service_token] {
        let confused = client
            .reserve_capacity(with_token(reserve_in(&mine.id, "confused-deputy"), caller))
            .await
            .expect_err("a window of another installation");
        assert_eq!(violated_fields(&confused), ["window_id"], "{confused:?}");
    }
    // Issue 13, item 5: whether a window exists is not told before whether the caller may ask.
    let unknown_window = proto::ReserveCapacityRequest {
        window_id: "0190f2d4-0000-7000-8000-000000000000".into(),
        ..reserve_in(&theirs.id, "probe")
    };
    let probe = client
        .reserve_capacity(with_token(unknown_window, &operator))
        .await
        .expect_err("not the operator's installation");
    assert_eq!(probe.code(), Code::PermissionDenied, "{probe:?}");
    // Issue 13, item 5: nor whether a reservation exists, to an operator; an admin, who may
    // release any, hears NOT_FOUND.
    let unknown_reservation = || proto::ReleaseCapacityRequest {
        reservation_id: "no-such-reservation".into(),
    };
    let probe = client
        .release_capacity(with_token(unknown_reservation(), &operator))
        .await
        .expect_err("an unknown reservation");
    assert_eq!(probe.code(), Code::PermissionDenied, "{probe:?}");
    let unknown = client
        .release_capacity(with_token(unknown_reservation(), &admin))
        .await
        .expect_err("an unknown reservation");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    let anonymous = client
        .list_tariffs(proto::ListTariffsRequest {
            installation_id: theirs.id.clone(),
        })
        .await
        .expect("prices are public")
        .into_inner();
    assert_eq!(anonymous.tariffs.len(), 1);
}

#[test]
fn the_table_covers_every_declared_rpc() {
    rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
}

backend_tests!(
    walks_every_rpc_for_every_role,
    operators_change_only_their_own_infrastructures,
    operators_manage_only_their_own_calendars
);
