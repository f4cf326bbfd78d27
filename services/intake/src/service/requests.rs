//! Access requests from creation to their end, the requester's and the operator's moves that
//! need no quote or screening: create (TA-5, the references checked with the registry), read,
//! list, withdraw, close and decline; and the agreement templates a request runs under.

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::ids::new_id;
use rti_platform::pagination::PageRequest;
use rti_platform::validate::reference;

use super::{IntakeService, now};
use crate::domain::access::{self, Operated};
use crate::domain::request::{
    AccessRequest, AgreementKind, AgreementTemplate, Lane, NewAccessRequest, RequestStatus, dissemination_refusal,
};
use crate::domain::request_view::as_seen_by;
use crate::domain::{Checked, IntakeError, IntakeResult, lifecycle, read};
use crate::store::RequestFilter;
use rti_platform::store::IdempotencyKey;

/// `CreateAccessRequest`, converted.
#[derive(Debug)]
pub struct CreateAccessRequest {
    pub key: Checked<Option<IdempotencyKey>>,
    /// The requester the caller names, if any.
    pub organisation_id: String,
    pub request: Checked<NewAccessRequest>,
}

/// `ListAccessRequests`, converted.
#[derive(Debug)]
pub struct ListAccessRequests {
    pub statuses: Vec<RequestStatus>,
    pub lane: Option<Lane>,
    pub organisation_id: String,
    pub page: Checked<PageRequest>,
}

impl IntakeService {
    /// The templates in force, newest version of each kind first.
    pub async fn agreement_templates(&self, kind: Option<AgreementKind>) -> IntakeResult<Vec<AgreementTemplate>> {
        self.store.agreement_templates(kind, now()).await
    }

    /// Creates a draft for the organisation the caller acts for, once per idempotency key: the
    /// requester must be registered, TA-5 holds, the people and group belong to it, and each
    /// installation is published in the registry.
    pub async fn create_access_request(
        &self,
        caller: &Principal,
        command: CreateAccessRequest,
    ) -> IntakeResult<AccessRequest> {
        let organisation_id =
            access::acting_organisation(caller, &command.organisation_id, "access_request.organisation_id")?;
        let mut violations = Violations::new();
        let key = command.key.report_to(&mut violations);
        let new = command.request.report_to(&mut violations);
        reference(&organisation_id, "access_request.organisation_id", &mut violations);
        violations.into_result()?;
        let (key, new) = (read(key)?, read(new)?);
        let organisation = match self.store.get_organisation(&organisation_id).await {
            Ok(organisation) => organisation,
            Err(IntakeError::NotFound { .. }) => {
                return Err(InvalidInput::single(
                    "access_request.organisation_id",
                    "is not a registered organisation: register it first (RegisterOrganisation)",
                )
                .into());
            }
            Err(error) => return Err(error),
        };
        if let Some(refusal) = dissemination_refusal(&new, organisation.is_sme()) {
            return Err(refusal.into());
        }
        let mut request = AccessRequest::draft(new_id(), organisation_id, new, now());
        self.resolve_references(&mut request).await?;
        self.store
            .create_access_request(request, &caller.subject, key.as_ref())
            .await
    }

    /// Checks that the request's people and group belong to its requester, and asks the
    /// registry for each installation's infrastructure.
    async fn resolve_references(&self, request: &mut AccessRequest) -> IntakeResult<()> {
        let mut violations = Violations::new();
        if !request.contact_person_id.is_empty() {
            match self.store.get_person(&request.contact_person_id).await {
                Ok(person) if person.organisation_id == request.organisation_id => {}
                Ok(_) => violations.add(
                    "access_request.contact_person_id",
                    "must be a person the requesting organisation employs",
                ),
                Err(IntakeError::NotFound { .. }) => {
                    violations.add("access_request.contact_person_id", "is not a registered person");
                }
                Err(error) => return Err(error),
            }
        }
        if !request.user_group_id.is_empty() {
            match self.store.get_user_group(&request.user_group_id).await {
                Ok(group) if group.organisation_id == request.organisation_id => {}
                Ok(_) => violations.add(
                    "access_request.user_group_id",
                    "must be a group the requesting organisation registered",
                ),
                Err(IntakeError::NotFound { .. }) => {
                    violations.add("access_request.user_group_id", "is not a registered user group");
                }
                Err(error) => return Err(error),
            }
        }
        for (position, installation) in request.installations.iter_mut().enumerate() {
            match self
                .catalogue
                .published_installation(&installation.installation_id)
                .await?
            {
                Some(published) => installation.infrastructure_id = published.infrastructure_id,
                None => violations.add(
                    format!("access_request.installations[{position}].installation_id"),
                    "is not a published installation of the registry",
                ),
            }
        }
        Ok(violations.into_result()?)
    }

    /// The request as the caller may see it (`request_view`).
    pub async fn get_access_request(&self, caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        let request = self.readable_request(caller, id).await?;
        Ok(as_seen_by(caller, request))
    }

    /// A page of the requests the caller may see (`access::listing_scope`) that pass the filters.
    pub async fn list_access_requests(
        &self,
        caller: &Principal,
        command: ListAccessRequests,
    ) -> IntakeResult<(Vec<AccessRequest>, String)> {
        let scope = access::listing_scope(caller);
        let page = command.page.into_result()?;
        let filter = RequestFilter {
            statuses: command.statuses,
            lane: command.lane,
            organisation_id: command.organisation_id,
            overdue_at: None,
        };
        let (requests, next_page_token) = self.store.list_access_requests(&scope, &filter, &page).await?;
        let requests = requests
            .into_iter()
            .map(|request| as_seen_by(caller, request))
            .collect();
        Ok((requests, next_page_token))
    }

    /// The requester withdraws, with `reason` or a default one; again is a no-op.
    pub async fn withdraw_access_request(
        &self,
        caller: &Principal,
        id: &str,
        reason: &str,
    ) -> IntakeResult<AccessRequest> {
        self.own_request(caller, id).await?;
        let change = self.store.begin_change(id).await?;
        let steps = lifecycle::withdrawal(change.request(), &caller.subject, reason);
        change.commit(steps).await
    }

    /// An operator of every installation the request names, or allocation, closes the request.
    pub async fn close_access_request(
        &self,
        caller: &Principal,
        id: &str,
        reason: Checked<String>,
    ) -> IntakeResult<AccessRequest> {
        self.operated_request(caller, id, Operated::AllOrService).await?;
        let reason = reason.into_result()?;
        let change = self.store.begin_change(id).await?;
        let steps = lifecycle::closing(change.request(), &caller.subject, &reason);
        Ok(as_seen_by(caller, change.commit(steps).await?))
    }

    /// Declines a request in FEASIBILITY, QUOTED or IN_REVIEW (`access::may_decline` says who).
    pub async fn decline_access_request(
        &self,
        caller: &Principal,
        id: &str,
        reason: Checked<String>,
    ) -> IntakeResult<AccessRequest> {
        let request = self.readable_request(caller, id).await?;
        access::may_decline(caller, &request)?;
        let reason = reason.into_result()?;
        let change = self.store.begin_change(id).await?;
        let steps = lifecycle::declining(change.request(), &caller.subject, &reason)?;
        Ok(as_seen_by(caller, change.commit(steps).await?))
    }
}
