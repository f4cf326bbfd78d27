//! Who may call each registry RPC (DESIGN §4). Catalogue reads are public; providers and
//! infrastructures are created by admins; operators change only their own infrastructures and
//! installations (checked in the handlers, next to the data).

use rti_platform::auth::Role::{Admin, Operator, Service};
use rti_platform::authz::Access::{Public, Roles};
use rti_platform::authz::{AuthzTable, RpcRule};
use rti_proto::registry::registry_service_server::SERVICE_NAME;

pub static AUTHZ: AuthzTable = AuthzTable {
    service: SERVICE_NAME,
    rules: &[
        RpcRule {
            method: "CreateProvider",
            access: Roles(&[Admin]),
        },
        RpcRule {
            method: "GetProvider",
            access: Public,
        },
        RpcRule {
            method: "ListProviders",
            access: Public,
        },
        RpcRule {
            method: "UpdateProvider",
            access: Roles(&[Admin]),
        },
        RpcRule {
            method: "CreateInfrastructure",
            access: Roles(&[Admin]),
        },
        RpcRule {
            method: "GetInfrastructure",
            access: Public,
        },
        RpcRule {
            method: "ListInfrastructures",
            access: Public,
        },
        RpcRule {
            method: "UpdateInfrastructure",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "CreateInstallation",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "GetInstallation",
            access: Public,
        },
        RpcRule {
            method: "ListInstallations",
            access: Public,
        },
        RpcRule {
            method: "UpdateInstallation",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "Subscribe",
            access: Roles(&[Admin, Service]),
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
