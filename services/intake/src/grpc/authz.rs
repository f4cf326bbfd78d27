//! Who may call each intake RPC (DESIGN §4).

use rti_platform::auth::Role::{Admin, Service};
use rti_platform::authz::Access::Roles;
use rti_platform::authz::{AuthzTable, RpcRule};
use rti_proto::intake::intake_service_server::SERVICE_NAME;

pub static AUTHZ: AuthzTable = AuthzTable {
    service: SERVICE_NAME,
    rules: &[RpcRule {
        method: "Subscribe",
        access: Roles(&[Admin, Service]),
    }],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_exactly_the_rpcs_the_service_declares() {
        rti_platform::testing::assert_table_matches_descriptor(&AUTHZ);
    }
}
