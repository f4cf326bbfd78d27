//! Who may do what, every rule both ways: the whole RPC × role table walked through a running
//! intake, and the object-level rules in the handlers: applicants act for the organisation
//! their token names, operators read the requests for their own infrastructures (and act on
//! none), admins and services see everything.

use std::time::Duration;

use rti_intake::AUTHZ;
use rti_platform::auth::{Claims, Role};
use rti_platform::authz::Access;
use rti_platform::db::Backend;
use rti_platform::ids::new_id;
use rti_platform::testing::{call_with_empty_request, expect_code, expect_ok, operator_token, sign, token};
use rti_proto::intake as proto;
use tonic::Code;

use crate::helpers::*;

mod operators;
mod organisations;
mod requests;
mod shared;

rti_platform::backend_tests!(every_rpc_admits_exactly_the_roles_its_rule_names,);

/// Whether a status is the table's refusal (as opposed to a handler's answer to an empty request,
/// which may be an object-level PERMISSION_DENIED).
fn refused_by_table(status: &tonic::Status) -> bool {
    status.code() == Code::Unauthenticated
        || (status.code() == Code::PermissionDenied && status.message().contains("is for the roles"))
}

/// An applicant token that names no organisation (no `org` claim).
fn applicant_without_organisation() -> String {
    sign(Claims::new(
        "applicant-of-nothing".to_owned(),
        &[Role::Applicant],
        Duration::from_secs(3600),
    ))
}

/// An operator of an infrastructure none of the test's installations belongs to.
fn stranger_operator() -> String {
    operator_token(&[&new_id()])
}

async fn every_rpc_admits_exactly_the_roles_its_rule_names(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    for rule in AUTHZ.rules {
        let anonymous = call_with_empty_request(world.intake.clone(), AUTHZ.service, rule.method, None).await;
        match rule.access {
            Access::Public => {
                assert!(
                    !anonymous.as_ref().is_err_and(refused_by_table),
                    "{} anonymous: {anonymous:?}",
                    rule.method
                );
            }
            Access::Roles(_) => expect_code(&anonymous, Code::Unauthenticated, &format!("{} anonymous", rule.method)),
        }
        for role in Role::ALL {
            let outcome =
                call_with_empty_request(world.intake.clone(), AUTHZ.service, rule.method, Some(&token(role))).await;
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
                expect_code(
                    &outcome,
                    Code::PermissionDenied,
                    &format!("{} as {role:?}", rule.method),
                );
                assert!(
                    outcome.as_ref().is_err_and(refused_by_table),
                    "{} as {role:?} is refused by the table: {outcome:?}",
                    rule.method
                );
            }
        }
    }
    // Only ListAgreementTemplates is public.
    let public: Vec<&str> = AUTHZ
        .rules
        .iter()
        .filter(|rule| matches!(rule.access, Access::Public))
        .map(|rule| rule.method)
        .collect();
    assert_eq!(public, ["ListAgreementTemplates"]);
    let forged = call_with_empty_request(
        world.intake.clone(),
        AUTHZ.service,
        "ListAccessRequests",
        Some("not.a.jwt"),
    )
    .await;
    expect_code(&forged, Code::Unauthenticated, "a forged token");
    world.stop().await;
}

/// Reads a request as an admin.
async fn status_of(world: &World, id: &str) -> proto::AccessRequestStatus {
    expect_ok(
        world
            .client()
            .get_access_request(with_token(
                proto::GetAccessRequestRequest { id: id.into() },
                &token(Role::Admin),
            ))
            .await,
        "an admin reads the request",
    )
    .status()
}
