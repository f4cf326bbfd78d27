//! The authorization matrix through the gateway (issue 14): every RPC of every service, called
//! anonymously and with a token of every role, is admitted or refused exactly as its service's
//! table says — UNAUTHENTICATED without a token where one is needed, PERMISSION_DENIED by the
//! table for a role it does not name — and every declared RPC has an entry, so an RPC added
//! without one fails here. Service tokens never pass the gateway (item 4 of docs/security.md).

use rti_gateway::cli::suite::authz_tables;
use rti_platform::auth::Role;
use rti_platform::authz::Access;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{assert_table_matches_descriptor, call_with_empty_request, token};
use rti_tests::spawn_suite;
use tonic::Code;

/// How the gateway (or the service behind it) answered one call, as far as authorization goes.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Past authorization: answered, or refused for what the request says.
    Admitted,
    Unauthenticated,
    /// Refused by the RPC's table.
    Forbidden,
}

fn verdict(outcome: &Result<(), tonic::Status>) -> Verdict {
    match outcome {
        Err(status) if status.code() == Code::Unauthenticated => Verdict::Unauthenticated,
        Err(status) if status.code() == Code::PermissionDenied && status.message().contains("is for the roles") => {
            Verdict::Forbidden
        }
        _ => Verdict::Admitted,
    }
}

async fn every_rpc_of_every_service_admits_exactly_its_roles_through_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let tables = authz_tables();
    assert_eq!(tables.len(), 4, "registry, intake, allocation and reporting");
    let mut calls = 0;
    for table in tables {
        assert_table_matches_descriptor(table);
        for rule in table.rules {
            let method = rule.method;
            let anonymous = call_with_empty_request(suite.channel.clone(), table.service, method, None).await;
            let expected = match rule.access {
                Access::Public => Verdict::Admitted,
                Access::Roles(_) => Verdict::Unauthenticated,
            };
            assert_eq!(
                verdict(&anonymous),
                expected,
                "{}/{method} anonymously: {anonymous:?}",
                table.service
            );
            for role in Role::ALL {
                let outcome =
                    call_with_empty_request(suite.channel.clone(), table.service, method, Some(&token(role))).await;
                let expected = match rule.access {
                    // The gateway holds no service secret: a service token is not even verifiable.
                    _ if role == Role::Service => Verdict::Unauthenticated,
                    Access::Public => Verdict::Admitted,
                    Access::Roles(roles) if roles.contains(&role) => Verdict::Admitted,
                    Access::Roles(_) => Verdict::Forbidden,
                };
                assert_eq!(
                    verdict(&outcome),
                    expected,
                    "{}/{method} as {role:?}: {outcome:?}",
                    table.service
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 100, "the matrix covers the suite's RPCs ({calls} calls)");
}

backend_tests!(every_rpc_of_every_service_admits_exactly_its_roles_through_the_gateway);
