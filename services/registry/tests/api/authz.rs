//! Authorization: the whole RPC × role table walked through a running registry, and the
//! object-level rule that operators change only their own infrastructures.

use rti_platform::auth::Role;
use rti_platform::authz::Access;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{call_with_empty_request, operator_token, token};
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;
use rti_registry::AUTHZ;
use tonic::Code;

use crate::helpers::{infrastructure, installation, provider, spawn_service, with_token};

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

#[test]
fn the_table_covers_every_declared_rpc() {
    rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
}

backend_tests!(
    walks_every_rpc_for_every_role,
    operators_change_only_their_own_infrastructures
);
