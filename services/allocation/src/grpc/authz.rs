//! Who may call each allocation RPC (DESIGN §4). Object-level rules (a reviewer's panel and
//! conflicts, an operator's installations, an applicant's own organisation) are checked in the
//! handlers, next to the data.

use rti_platform::auth::Role::{Admin, Applicant, Coordinator, Operator, Reviewer, Service};
use rti_platform::authz::Access::{Public, Roles};
use rti_platform::authz::{Access, AuthzTable, RpcRule};
use rti_proto::allocation::allocation_service_server::SERVICE_NAME;

const fn rule(method: &'static str, access: Access) -> RpcRule {
    RpcRule { method, access }
}

pub static AUTHZ: AuthzTable = AuthzTable {
    service: SERVICE_NAME,
    rules: &[
        rule("CreateCall", Roles(&[Admin, Coordinator])),
        // TA-8: the access offer is public.
        rule("GetCall", Public),
        rule("ListCalls", Public),
        rule("AmendRulebook", Roles(&[Admin, Coordinator])),
        rule("SetPanel", Roles(&[Admin, Coordinator])),
        rule(
            "GetProposal",
            Roles(&[Admin, Coordinator, Reviewer, Operator, Applicant, Service]),
        ),
        rule(
            "ListProposals",
            Roles(&[Admin, Coordinator, Reviewer, Operator, Applicant, Service]),
        ),
        rule("EvaluateEligibility", Roles(&[Admin, Coordinator, Service])),
        rule("DeclareConflict", Roles(&[Reviewer])),
        rule("SubmitReview", Roles(&[Reviewer])),
        rule("SubmitFeasibility", Roles(&[Admin, Operator])),
        rule("GetRanking", Roles(&[Admin, Coordinator])),
        rule("RunAllocation", Roles(&[Admin, Coordinator])),
        rule("GetAllocation", Roles(&[Admin, Coordinator, Operator, Applicant])),
        rule("OfferSlot", Roles(&[Admin, Operator])),
        rule("AcceptSlot", Roles(&[Admin, Applicant])),
        rule("DeclineSlot", Roles(&[Admin, Applicant, Operator])),
        rule("ConfirmSlot", Roles(&[Admin, Operator])),
        rule("ListSlots", Roles(&[Admin, Coordinator, Operator, Applicant])),
        rule("RecordDelivery", Roles(&[Admin, Operator])),
        rule("GetLedger", Roles(&[Admin, Coordinator])),
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
