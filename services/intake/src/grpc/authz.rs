//! Who may call each intake RPC (DESIGN §4). Object-level rules (an applicant's own
//! organisation, an operator's own infrastructures) are the domain's (`domain/access.rs`),
//! applied by the operations in `service/`.

use rti_platform::auth::Role::{Admin, Applicant, Operator, Service};
use rti_platform::authz::Access::{Public, Roles};
use rti_platform::authz::{AuthzTable, RpcRule};
use rti_proto::intake::intake_service_server::SERVICE_NAME;

const fn rule(method: &'static str, access: rti_platform::authz::Access) -> RpcRule {
    RpcRule { method, access }
}

pub static AUTHZ: AuthzTable = AuthzTable {
    service: SERVICE_NAME,
    rules: &[
        rule("RegisterOrganisation", Roles(&[Admin, Applicant])),
        rule("GetOrganisation", Roles(&[Admin, Service, Applicant])),
        rule("RegisterPerson", Roles(&[Admin, Applicant])),
        rule("CreateUserGroup", Roles(&[Admin, Applicant])),
        rule("GetUserGroup", Roles(&[Admin, Service, Applicant])),
        rule("ListAgreementTemplates", Public),
        rule("CreateAccessRequest", Roles(&[Admin, Applicant])),
        rule("GetAccessRequest", Roles(&[Admin, Service, Applicant, Operator])),
        rule("ListAccessRequests", Roles(&[Admin, Service, Applicant, Operator])),
        rule("SubmitAccessRequest", Roles(&[Admin, Applicant])),
        rule("WithdrawAccessRequest", Roles(&[Admin, Applicant])),
        rule("QuoteAccessRequest", Roles(&[Admin, Operator])),
        rule("AcceptQuote", Roles(&[Admin, Applicant])),
        rule("DeclineAccessRequest", Roles(&[Admin, Service, Operator])),
        rule("CloseAccessRequest", Roles(&[Admin, Service, Operator])),
        rule("GetDeMinimisStatement", Roles(&[Admin, Service, Applicant])),
        rule("SetDecisionClock", Roles(&[Admin, Operator])),
        rule("AcknowledgeAccessRequest", Roles(&[Admin, Operator])),
        rule("ListOverdueRequests", Roles(&[Admin, Operator])),
        rule("ReviewScreening", Roles(&[Admin])),
        rule("RescreenAccessRequest", Roles(&[Admin, Service])),
        rule("ImportSanctionsList", Roles(&[Admin])),
        rule("Subscribe", Roles(&[Admin, Service])),
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
