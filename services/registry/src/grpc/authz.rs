//! Who may call each registry RPC (DESIGN §4). Catalogue reads, availability and search are
//! public; providers and infrastructures are created by admins; operators change only their own
//! infrastructures, installations and calendars (checked in the handlers, next to the data);
//! allocation reserves capacity as a service.

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
            method: "PublishInstallation",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "SetTariff",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "ListTariffs",
            access: Public,
        },
        RpcRule {
            method: "AddCapacityWindow",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "AddDowntime",
            access: Roles(&[Admin, Operator]),
        },
        RpcRule {
            method: "GetAvailability",
            access: Public,
        },
        // Allocation (a service) holds and books capacity anywhere; operators only in their own
        // installations (checked in the handler).
        RpcRule {
            method: "ReserveCapacity",
            access: Roles(&[Admin, Operator, Service]),
        },
        RpcRule {
            method: "ReleaseCapacity",
            access: Roles(&[Admin, Operator, Service]),
        },
        RpcRule {
            method: "SearchInstallations",
            access: Public,
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
