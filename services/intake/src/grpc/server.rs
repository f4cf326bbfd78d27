//! The `IntakeService` handlers: each takes the caller, converts the request, calls one
//! operation of [`IntakeService`] and converts the result back. Role checks already ran in the
//! platform's `AuthLayer`, by `authz.rs`; object-level access is the operations' business.

use rti_platform::events::{EventStream, Outbox};
use rti_platform::server::caller;
use rti_platform::time::now_micros;
use rti_proto::common::SubscribeRequest;
use rti_proto::intake::intake_service_server::IntakeService as IntakeRpc;
use rti_proto::intake::{self as proto};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{self, MAX_NAME_CHARS, MAX_TEXT_CHARS, checked_text};
use crate::convert::{
    access_request_to_proto, agreement_template_to_proto, decision_clock_to_proto, organisation_to_proto,
    overdue_to_proto, person_to_proto, sanctions_list_to_proto, statement_to_proto, user_group_to_proto,
};
use crate::service::IntakeService;

type Reply<T> = Result<Response<T>, Status>;

/// The gRPC adapter of [`IntakeService`], with the outbox's `Subscribe`.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    service: IntakeService,
    outbox: Outbox,
    stopping: CancellationToken,
}

impl IntakeApi {
    pub fn new(service: IntakeService, outbox: Outbox, stopping: CancellationToken) -> Self {
        Self {
            service,
            outbox,
            stopping,
        }
    }
}

fn request_reply(request: &crate::domain::AccessRequest) -> Response<proto::AccessRequest> {
    Response::new(access_request_to_proto(request))
}

#[tonic::async_trait]
impl IntakeRpc for IntakeApi {
    async fn register_organisation(
        &self,
        request: Request<proto::RegisterOrganisationRequest>,
    ) -> Reply<proto::Organisation> {
        let caller = caller(&request)?;
        let command = convert::register_organisation(&caller, request.get_ref(), now_micros());
        let organisation = self.service.register_organisation(&caller, command).await?;
        Ok(Response::new(organisation_to_proto(&organisation)))
    }

    async fn get_organisation(&self, request: Request<proto::GetOrganisationRequest>) -> Reply<proto::Organisation> {
        let caller = caller(&request)?;
        let organisation = self.service.get_organisation(&caller, &request.get_ref().id).await?;
        Ok(Response::new(organisation_to_proto(&organisation)))
    }

    async fn register_person(&self, request: Request<proto::RegisterPersonRequest>) -> Reply<proto::Person> {
        let caller = caller(&request)?;
        let command = convert::register_person(&caller, request.get_ref());
        let person = self.service.register_person(&caller, command).await?;
        Ok(Response::new(person_to_proto(&person)))
    }

    async fn create_user_group(&self, request: Request<proto::CreateUserGroupRequest>) -> Reply<proto::UserGroup> {
        let caller = caller(&request)?;
        let command = convert::create_user_group(&caller, request.get_ref());
        let group = self.service.create_user_group(&caller, command).await?;
        Ok(Response::new(user_group_to_proto(&group)))
    }

    async fn get_user_group(&self, request: Request<proto::GetUserGroupRequest>) -> Reply<proto::UserGroup> {
        let caller = caller(&request)?;
        let group = self.service.get_user_group(&caller, &request.get_ref().id).await?;
        Ok(Response::new(user_group_to_proto(&group)))
    }

    async fn list_agreement_templates(
        &self,
        request: Request<proto::ListAgreementTemplatesRequest>,
    ) -> Reply<proto::ListAgreementTemplatesResponse> {
        let kind = convert::agreement_kind_filter(request.get_ref());
        let templates = self.service.agreement_templates(kind).await?;
        Ok(Response::new(proto::ListAgreementTemplatesResponse {
            templates: templates.iter().map(agreement_template_to_proto).collect(),
        }))
    }

    async fn create_access_request(
        &self,
        request: Request<proto::CreateAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let command = convert::create_access_request(&caller, request.get_ref());
        let created = self.service.create_access_request(&caller, command).await?;
        Ok(request_reply(&created))
    }

    async fn get_access_request(
        &self,
        request: Request<proto::GetAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let found = self.service.get_access_request(&caller, &request.get_ref().id).await?;
        Ok(request_reply(&found))
    }

    async fn list_access_requests(
        &self,
        request: Request<proto::ListAccessRequestsRequest>,
    ) -> Reply<proto::ListAccessRequestsResponse> {
        let caller = caller(&request)?;
        let command = convert::list_access_requests(request.get_ref());
        let (requests, next_page_token) = self.service.list_access_requests(&caller, command).await?;
        Ok(Response::new(proto::ListAccessRequestsResponse {
            access_requests: requests.iter().map(access_request_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn submit_access_request(
        &self,
        request: Request<proto::SubmitAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.get_ref();
        let submitted = self
            .service
            .submit_access_request(&caller, &message.id, message.accept_agreement)
            .await?;
        Ok(request_reply(&submitted))
    }

    async fn withdraw_access_request(
        &self,
        request: Request<proto::WithdrawAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.get_ref();
        let reason = checked_text(&message.reason, "reason", MAX_NAME_CHARS, false).into_result()?;
        let withdrawn = self
            .service
            .withdraw_access_request(&caller, &message.id, &reason)
            .await?;
        Ok(request_reply(&withdrawn))
    }

    async fn quote_access_request(
        &self,
        request: Request<proto::QuoteAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.get_ref();
        let quoted = self
            .service
            .quote_access_request(&caller, &message.id, message.valid_days)
            .await?;
        Ok(request_reply(&quoted))
    }

    async fn accept_quote(&self, request: Request<proto::AcceptQuoteRequest>) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let accepted = self.service.accept_quote(&caller, &request.get_ref().id).await?;
        Ok(request_reply(&accepted))
    }

    async fn decline_access_request(
        &self,
        request: Request<proto::DeclineAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.get_ref();
        let reason = checked_text(&message.reason, "reason", MAX_TEXT_CHARS, true);
        let declined = self
            .service
            .decline_access_request(&caller, &message.id, reason)
            .await?;
        Ok(request_reply(&declined))
    }

    async fn close_access_request(
        &self,
        request: Request<proto::CloseAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.get_ref();
        let reason = checked_text(&message.reason, "reason", MAX_TEXT_CHARS, false);
        let closed = self.service.close_access_request(&caller, &message.id, reason).await?;
        Ok(request_reply(&closed))
    }

    async fn get_de_minimis_statement(
        &self,
        request: Request<proto::GetDeMinimisStatementRequest>,
    ) -> Reply<proto::DeMinimisStatement> {
        let caller = caller(&request)?;
        let statement = self
            .service
            .de_minimis_statement(&caller, &request.get_ref().organisation_id)
            .await?;
        Ok(Response::new(statement_to_proto(&statement)))
    }

    async fn set_decision_clock(
        &self,
        request: Request<proto::SetDecisionClockRequest>,
    ) -> Reply<proto::DecisionClock> {
        let caller = caller(&request)?;
        let command = convert::decision_clock(request.into_inner());
        let clock = self.service.set_decision_clock(&caller, command).await?;
        Ok(Response::new(decision_clock_to_proto(&clock)))
    }

    async fn acknowledge_access_request(
        &self,
        request: Request<proto::AcknowledgeAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let acknowledged = self
            .service
            .acknowledge_access_request(&caller, &request.get_ref().id)
            .await?;
        Ok(request_reply(&acknowledged))
    }

    async fn list_overdue_requests(
        &self,
        request: Request<proto::ListOverdueRequestsRequest>,
    ) -> Reply<proto::ListOverdueRequestsResponse> {
        let caller = caller(&request)?;
        let page = convert::overdue_page(request.get_ref());
        let (requests, next_page_token) = self.service.list_overdue_requests(&caller, page).await?;
        Ok(Response::new(proto::ListOverdueRequestsResponse {
            requests: requests
                .iter()
                .map(|(request, overdue)| overdue_to_proto(request, overdue))
                .collect(),
            next_page_token,
        }))
    }

    async fn review_screening(&self, request: Request<proto::ReviewScreeningRequest>) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let command = convert::review_screening(request.into_inner())?;
        let reviewed = self.service.review_screening(&caller, command).await?;
        Ok(request_reply(&reviewed))
    }

    async fn rescreen_access_request(
        &self,
        request: Request<proto::RescreenAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let rescreened = self
            .service
            .rescreen_access_request(&caller, &request.get_ref().id)
            .await?;
        Ok(request_reply(&rescreened))
    }

    async fn import_sanctions_list(
        &self,
        request: Request<proto::ImportSanctionsListRequest>,
    ) -> Reply<proto::SanctionsListVersion> {
        let caller = caller(&request)?;
        let command = convert::import_sanctions_list(request.into_inner())?;
        let version = self.service.import_sanctions_list(&caller, command).await?;
        Ok(Response::new(sanctions_list_to_proto(&version)))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Reply<Self::SubscribeStream> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
