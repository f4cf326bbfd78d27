//! Who may call each reporting RPC (DESIGN §4). Object-level scope (an operator's own
//! infrastructures, a national funder's own country) is decided in the service.

use rti_platform::auth::Role::{Admin, Coordinator, Funder, Operator, Service};
use rti_platform::authz::Access::Roles;
use rti_platform::authz::{AuthzTable, RpcRule};
use rti_proto::reporting::reporting_service_server::SERVICE_NAME;

pub static AUTHZ: AuthzTable = AuthzTable {
    service: SERVICE_NAME,
    rules: &[
        RpcRule {
            method: "Subscribe",
            access: Roles(&[Admin, Service]),
        },
        RpcRule {
            method: "RecordUsage",
            access: Roles(&[Operator, Admin]),
        },
        RpcRule {
            method: "IngestUsage",
            access: Roles(&[Operator, Admin]),
        },
        RpcRule {
            method: "QueryUsageStatistics",
            access: Roles(&[Funder, Admin]),
        },
        RpcRule {
            method: "ExportStatisticsCsv",
            access: Roles(&[Funder, Admin]),
        },
        RpcRule {
            method: "GetInfrastructuresTables",
            access: Roles(&[Admin, Coordinator, Funder]),
        },
        RpcRule {
            method: "GetInstallationKpis",
            access: Roles(&[Operator, Funder, Admin]),
        },
        RpcRule {
            method: "ImportResearcherCounts",
            access: Roles(&[Admin]),
        },
        RpcRule {
            method: "ListResearcherCounts",
            access: Roles(&[Funder, Admin]),
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_exactly_the_rpcs_the_service_declares() {
        rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
    }
}
