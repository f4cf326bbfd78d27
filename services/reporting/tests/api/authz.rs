//! Who may call what, both ways: the RPC × role table walked through a running service, checked
//! against the contract's comments; health and the guarded event stream.

use rti_platform::auth::Role::{self, Admin, Applicant, Coordinator, Funder, Operator, Reviewer, Service};
use rti_platform::authz::Access;
use rti_platform::db::Backend;
use rti_platform::testing::{call_with_empty_request, token};
use rti_reporting::AUTHZ;
use tonic::Code;

use crate::helpers::*;

rti_platform::backend_tests!(
    every_rpc_admits_exactly_the_roles_its_rule_names,
    serves_health_and_guards_its_event_stream
);

/// What the contract's comments say of each RPC: the roles admitted, and those refused.
fn contract(method: &str) -> (&'static [Role], &'static [Role]) {
    const FUNDERS: (&[Role], &[Role]) = (&[Funder, Admin], &[Applicant, Operator, Reviewer, Coordinator, Service]);
    match method {
        "Subscribe" => (&[Admin, Service], &[Applicant, Operator, Reviewer, Coordinator, Funder]),
        "RecordUsage" | "IngestUsage" => (&[Operator, Admin], &[Applicant, Reviewer, Coordinator, Funder, Service]),
        "QueryUsageStatistics" | "ExportStatisticsCsv" | "ListResearcherCounts" => FUNDERS,
        "GetInfrastructuresTables" => (&[Admin, Coordinator, Funder], &[Applicant, Operator, Reviewer, Service]),
        "GetInstallationKpis" => (&[Operator, Funder, Admin], &[Applicant, Reviewer, Coordinator, Service]),
        "ImportResearcherCounts" => (&[Admin], &[Applicant, Operator, Reviewer, Coordinator, Funder, Service]),
        other => panic!("{other} is not in the contract"),
    }
}

async fn every_rpc_admits_exactly_the_roles_its_rule_names(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
    for rule in AUTHZ.rules {
        let method = rule.method;
        let (admitted, refused) = contract(method);
        let Access::Roles(roles) = rule.access else {
            panic!("{method} is not public");
        };
        for role in admitted {
            assert!(roles.contains(role), "{method} admits {role:?}");
        }
        for role in refused {
            assert!(!roles.contains(role), "{method} refuses {role:?}");
        }
        let anonymous = call_with_empty_request(world.channel(), AUTHZ.service, method, None).await;
        assert_eq!(
            anonymous.expect_err("anonymous").code(),
            Code::Unauthenticated,
            "{method}"
        );
        for role in Role::ALL {
            let outcome = call_with_empty_request(world.channel(), AUTHZ.service, method, Some(&token(role))).await;
            let by_table = outcome.as_ref().is_err_and(|status| {
                status.code() == Code::PermissionDenied && status.message().contains("is for the roles")
            });
            assert_eq!(by_table, !roles.contains(&role), "{method} as {role:?}: {outcome:?}");
        }
    }
}

async fn serves_health_and_guards_its_event_stream(backend: Backend) {
    let Some(world) = exact(backend).await else { return };
    rti_platform::testing::assert_serves_health_and_guards_subscribe(world.channel(), &AUTHZ).await;
}
