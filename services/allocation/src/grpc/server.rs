//! The `AllocationService` handlers: take the caller, convert the request, call one operation,
//! convert the answer. Role checks already ran in the platform's `AuthLayer`, by the table in
//! `authz.rs`; object-level checks are the operations' own.

use rti_platform::events::EventStream;
use rti_proto::allocation as proto;
use rti_proto::allocation::allocation_service_server::AllocationService;
use rti_proto::common::SubscribeRequest;
use tonic::{Request, Response, Status};

use super::{AllocationApi, Reply, caller, convert};
use crate::convert::{
    allocation_run_to_proto, allocation_to_proto, call_to_proto, ledger_to_proto, panel_to_proto, proposal_to_proto,
    ranked_to_proto, review_to_proto, slot_to_proto,
};

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn create_call(&self, request: Request<proto::CreateCallRequest>) -> Reply<proto::Call> {
        let caller = caller(&request)?;
        let new = convert::new_call(&caller, request.into_inner())?;
        let call = self.service.create_call(&caller, new).await?;
        Ok(Response::new(call_to_proto(&call)))
    }

    async fn get_call(&self, request: Request<proto::GetCallRequest>) -> Reply<proto::Call> {
        let id = request.into_inner().id;
        let call = self.service.get_call(&id).await?;
        Ok(Response::new(call_to_proto(&call)))
    }

    async fn list_calls(&self, request: Request<proto::ListCallsRequest>) -> Reply<proto::ListCallsResponse> {
        let message = request.into_inner();
        let page = convert::page(message.page_size, &message.page_token, &[])?;
        let (calls, next_page_token) = self.service.list_calls(&page).await?;
        Ok(Response::new(proto::ListCallsResponse {
            calls: calls.iter().map(call_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn amend_rulebook(&self, request: Request<proto::AmendRulebookRequest>) -> Reply<proto::Call> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let rulebook = convert::amended_rulebook(&message)?;
        let call = self.service.amend_rulebook(&caller, &message.call_id, rulebook).await?;
        Ok(Response::new(call_to_proto(&call)))
    }

    async fn set_panel(&self, request: Request<proto::SetPanelRequest>) -> Reply<proto::Panel> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let members = convert::panel(&message.members)?;
        let panel = self.service.set_panel(&caller, &message.call_id, &members).await?;
        Ok(Response::new(panel_to_proto(panel)))
    }

    async fn get_proposal(&self, request: Request<proto::GetProposalRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        let proposal = self.service.get_proposal(&caller, &id).await?;
        Ok(Response::new(proposal_to_proto(&proposal)))
    }

    async fn list_proposals(
        &self,
        request: Request<proto::ListProposalsRequest>,
    ) -> Reply<proto::ListProposalsResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let page = convert::page(message.page_size, &message.page_token, &[&message.call_id])?;
        let (proposals, next_page_token) = self.service.list_proposals(&caller, &message.call_id, &page).await?;
        Ok(Response::new(proto::ListProposalsResponse {
            proposals: proposals.iter().map(proposal_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn evaluate_eligibility(
        &self,
        request: Request<proto::EvaluateEligibilityRequest>,
    ) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let id = request.into_inner().proposal_id;
        let proposal = self.service.evaluate_eligibility(&caller, &id).await?;
        Ok(Response::new(proposal_to_proto(&proposal)))
    }

    async fn declare_conflict(&self, request: Request<proto::DeclareConflictRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let reason = convert::conflict(&message)?;
        let proposal = self
            .service
            .declare_conflict(&caller, &message.proposal_id, &reason)
            .await?;
        Ok(Response::new(proposal_to_proto(&proposal)))
    }

    async fn submit_review(&self, request: Request<proto::SubmitReviewRequest>) -> Reply<proto::Review> {
        let caller = caller(&request)?;
        let command = convert::review(request.into_inner())?;
        let review = self.service.submit_review(&caller, command).await?;
        Ok(Response::new(review_to_proto(&review)))
    }

    async fn submit_feasibility(&self, request: Request<proto::SubmitFeasibilityRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let command = convert::feasibility(request.into_inner())?;
        let proposal = self.service.submit_feasibility(&caller, command).await?;
        Ok(Response::new(proposal_to_proto(&proposal)))
    }

    async fn get_ranking(&self, request: Request<proto::GetRankingRequest>) -> Reply<proto::Ranking> {
        let caller = caller(&request)?;
        let call_id = request.into_inner().call_id;
        let (call_id, ranked) = self.service.ranking(&caller, &call_id).await?;
        Ok(Response::new(proto::Ranking {
            call_id,
            proposals: ranked.into_iter().map(ranked_to_proto).collect(),
        }))
    }

    async fn run_allocation(
        &self,
        request: Request<proto::RunAllocationRequest>,
    ) -> Reply<proto::RunAllocationResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let run = self
            .service
            .run_allocation(&caller, &message.call_id, message.dry_run)
            .await?;
        Ok(Response::new(allocation_run_to_proto(&run.allocation, run.dry_run)))
    }

    async fn get_allocation(&self, request: Request<proto::GetAllocationRequest>) -> Reply<proto::Allocation> {
        let caller = caller(&request)?;
        let call_id = request.into_inner().call_id;
        let allocation = self.service.get_allocation(&caller, &call_id).await?;
        Ok(Response::new(allocation_to_proto(&allocation)))
    }

    async fn offer_slot(&self, request: Request<proto::OfferSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let command = convert::offer(request.into_inner())?;
        let slot = self.service.offer_slot(&caller, command).await?;
        Ok(Response::new(slot_to_proto(slot)))
    }

    async fn accept_slot(&self, request: Request<proto::AcceptSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let slot = self.service.accept_slot(&caller, &request.into_inner().slot_id).await?;
        Ok(Response::new(slot_to_proto(slot)))
    }

    async fn decline_slot(&self, request: Request<proto::DeclineSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let slot = self
            .service
            .decline_slot(&caller, &message.slot_id, &message.reason)
            .await?;
        Ok(Response::new(slot_to_proto(slot)))
    }

    async fn confirm_slot(&self, request: Request<proto::ConfirmSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let slot = self
            .service
            .confirm_slot(&caller, &request.into_inner().slot_id)
            .await?;
        Ok(Response::new(slot_to_proto(slot)))
    }

    async fn list_slots(&self, request: Request<proto::ListSlotsRequest>) -> Reply<proto::ListSlotsResponse> {
        let caller = caller(&request)?;
        let id = request.into_inner().access_request_id;
        let listed = self.service.list_slots(&caller, &id).await?;
        Ok(Response::new(proto::ListSlotsResponse {
            slots: listed.slots.into_iter().map(slot_to_proto).collect(),
            scheduled: listed.scheduled,
        }))
    }

    async fn record_delivery(&self, request: Request<proto::RecordDeliveryRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let command = convert::delivery(request.into_inner());
        let slot = self.service.record_delivery(&caller, command).await?;
        Ok(Response::new(slot_to_proto(slot)))
    }

    async fn get_ledger(&self, request: Request<proto::GetLedgerRequest>) -> Reply<proto::Ledger> {
        let caller = caller(&request)?;
        let call_id = request.into_inner().call_id;
        let ledger = self.service.ledger(&caller, &call_id).await?;
        Ok(Response::new(ledger_to_proto(ledger)))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
