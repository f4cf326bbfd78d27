//! The allocation's RPCs as one-line calls with the caller's token: each returns the answer or
//! the status, so that a test asserts on either.

use rti_proto::allocation as proto;

use super::{World, with_token};

pub type Answer<T> = Result<T, tonic::Status>;

/// Calls `method` on the running allocation with `message` as `caller`.
macro_rules! call {
    ($world:expr, $method:ident, $caller:expr, $message:expr) => {
        $world
            .allocation()
            .$method(with_token($message, $caller))
            .await
            .map(tonic::Response::into_inner)
    };
}

impl World {
    pub async fn create_call(&self, caller: &str, request: proto::CreateCallRequest) -> Answer<proto::Call> {
        call!(self, create_call, caller, request)
    }

    /// GetCall without a token (public).
    pub async fn get_call(&self, id: &str) -> Answer<proto::Call> {
        let request = proto::GetCallRequest { id: id.into() };
        self.allocation()
            .get_call(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn amend_rulebook(
        &self,
        caller: &str,
        call_id: &str,
        rulebook: proto::Rulebook,
        reason: &str,
    ) -> Answer<proto::Call> {
        let request = proto::AmendRulebookRequest {
            call_id: call_id.into(),
            rulebook: Some(rulebook),
            reason: reason.into(),
        };
        call!(self, amend_rulebook, caller, request)
    }

    pub async fn set_panel(
        &self,
        caller: &str,
        call_id: &str,
        members: Vec<proto::PanelMember>,
    ) -> Answer<proto::Panel> {
        let request = proto::SetPanelRequest {
            call_id: call_id.into(),
            members,
        };
        call!(self, set_panel, caller, request)
    }

    pub async fn get_proposal(&self, caller: &str, id: &str) -> Answer<proto::Proposal> {
        call!(self, get_proposal, caller, proto::GetProposalRequest { id: id.into() })
    }

    /// Every page of the call's proposals that `caller` may see.
    pub async fn list_proposals(&self, caller: &str, call_id: &str) -> Answer<Vec<proto::Proposal>> {
        let mut proposals = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = proto::ListProposalsRequest {
                call_id: call_id.into(),
                page_size: 0,
                page_token: page_token.clone(),
            };
            let page = call!(self, list_proposals, caller, request)?;
            proposals.extend(page.proposals);
            if page.next_page_token.is_empty() {
                return Ok(proposals);
            }
            page_token = page.next_page_token;
        }
    }

    pub async fn evaluate_eligibility(&self, caller: &str, proposal_id: &str) -> Answer<proto::Proposal> {
        let request = proto::EvaluateEligibilityRequest {
            proposal_id: proposal_id.into(),
        };
        call!(self, evaluate_eligibility, caller, request)
    }

    pub async fn declare_conflict(&self, caller: &str, proposal_id: &str) -> Answer<proto::Proposal> {
        let request = proto::DeclareConflictRequest {
            proposal_id: proposal_id.into(),
            reason: "co-author of the group leader".into(),
        };
        call!(self, declare_conflict, caller, request)
    }

    pub async fn submit_review(
        &self,
        caller: &str,
        proposal_id: &str,
        scores: Vec<proto::CriterionScore>,
    ) -> Answer<proto::Review> {
        let request = proto::SubmitReviewRequest {
            proposal_id: proposal_id.into(),
            scores,
            comment: "sound plan".into(),
        };
        call!(self, submit_review, caller, request)
    }

    pub async fn submit_feasibility(
        &self,
        caller: &str,
        proposal_id: &str,
        installation_id: &str,
        feasible: bool,
    ) -> Answer<proto::Proposal> {
        let request = proto::SubmitFeasibilityRequest {
            proposal_id: proposal_id.into(),
            installation_id: installation_id.into(),
            feasible,
            note: "samples fit the holder".into(),
        };
        call!(self, submit_feasibility, caller, request)
    }

    pub async fn ranking(&self, caller: &str, call_id: &str) -> Answer<proto::Ranking> {
        call!(
            self,
            get_ranking,
            caller,
            proto::GetRankingRequest {
                call_id: call_id.into()
            }
        )
    }

    pub async fn run_allocation(
        &self,
        caller: &str,
        call_id: &str,
        dry_run: bool,
    ) -> Answer<proto::RunAllocationResponse> {
        let request = proto::RunAllocationRequest {
            call_id: call_id.into(),
            dry_run,
        };
        call!(self, run_allocation, caller, request)
    }

    pub async fn get_allocation(&self, caller: &str, call_id: &str) -> Answer<proto::Allocation> {
        call!(
            self,
            get_allocation,
            caller,
            proto::GetAllocationRequest {
                call_id: call_id.into()
            }
        )
    }

    pub async fn offer_slot(&self, caller: &str, request: proto::OfferSlotRequest) -> Answer<proto::Slot> {
        call!(self, offer_slot, caller, request)
    }

    pub async fn accept_slot(&self, caller: &str, slot_id: &str) -> Answer<proto::Slot> {
        call!(
            self,
            accept_slot,
            caller,
            proto::AcceptSlotRequest {
                slot_id: slot_id.into()
            }
        )
    }

    pub async fn decline_slot(&self, caller: &str, slot_id: &str) -> Answer<proto::Slot> {
        let request = proto::DeclineSlotRequest {
            slot_id: slot_id.into(),
            reason: "the dates do not suit the group".into(),
        };
        call!(self, decline_slot, caller, request)
    }

    pub async fn confirm_slot(&self, caller: &str, slot_id: &str) -> Answer<proto::Slot> {
        call!(
            self,
            confirm_slot,
            caller,
            proto::ConfirmSlotRequest {
                slot_id: slot_id.into()
            }
        )
    }

    pub async fn list_slots(&self, caller: &str, access_request_id: &str) -> Answer<proto::ListSlotsResponse> {
        let request = proto::ListSlotsRequest {
            access_request_id: access_request_id.into(),
        };
        call!(self, list_slots, caller, request)
    }

    pub async fn record_delivery(
        &self,
        caller: &str,
        slot_id: &str,
        (delivered_units, lost_units): (i64, i64),
        lost_reason: &str,
    ) -> Answer<proto::Slot> {
        let request = proto::RecordDeliveryRequest {
            slot_id: slot_id.into(),
            delivered_units,
            lost_units,
            lost_reason: lost_reason.into(),
        };
        call!(self, record_delivery, caller, request)
    }

    pub async fn ledger(&self, caller: &str, call_id: &str) -> Answer<proto::Ledger> {
        call!(
            self,
            get_ledger,
            caller,
            proto::GetLedgerRequest {
                call_id: call_id.into()
            }
        )
    }
}
