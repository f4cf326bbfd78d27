//! The `IntakeService` handlers: check object-level access, validate, apply the domain's rules,
//! call the store. Role checks already ran in the platform's `AuthLayer`, by `authz.rs`.

use std::sync::Arc;

use rti_platform::auth::{Principal, Role};
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::events::{EventStream, Outbox};
use rti_platform::ids::{is_valid_id, new_id};
use rti_platform::pagination::PageRequest;
use rti_platform::server::caller;
use rti_platform::store::IdempotencyKey;
use rti_platform::time::timestamp_from_micros;
use rti_proto::common::SubscribeRequest;
use rti_proto::intake::intake_service_server::IntakeService;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status, Lane, ReviewDecision};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response};

use super::submission::{decline_reason, screening_record};
use super::validate;
use crate::catalogue::Catalogue;
use crate::domain::names::NameIndex;
use crate::domain::screening::{self, Decision};
use crate::domain::sme::SmallMidCapRule;
use crate::domain::{IntakeError, aid, clock, lifecycle, sanctions_csv, sanctions_xml};
use crate::store::{INTAKE, IntakeStore, RequestFilter, RequestScope, StoredRequest, Transition};

type Status_ = tonic::Status;
type Reply<T> = Result<Response<T>, Status_>;

/// Rules that change by programme or grant (CONFIG).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// SME-3: the small mid-cap ceilings in force.
    pub small_mid_cap: SmallMidCapRule,
    /// SME-4: the age under which an enterprise may count as a start-up.
    pub start_up_max_age_years: u32,
    /// SA-5: the discounts by requester class.
    pub discounts: aid::Discounts,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            small_mid_cap: crate::domain::sme::SMALL_MID_CAP_2025_1099,
            start_up_max_age_years: 10,
            discounts: aid::Discounts::default(),
        }
    }
}

/// A sanctions list's id and its name index.
type CachedIndex = (String, Arc<NameIndex>);

#[derive(Debug, Clone)]
pub struct IntakeApi {
    pub(super) store: IntakeStore,
    outbox: Outbox,
    pub(super) catalogue: Catalogue,
    pub(super) rules: Rules,
    /// The name index of the newest sanctions list, built once per list version.
    pub(super) index: Arc<Mutex<Option<CachedIndex>>>,
    stopping: CancellationToken,
}

impl IntakeApi {
    pub fn new(
        store: IntakeStore,
        outbox: Outbox,
        catalogue: Catalogue,
        rules: Rules,
        stopping: CancellationToken,
    ) -> Self {
        Self {
            store,
            outbox,
            catalogue,
            rules,
            index: Arc::default(),
            stopping,
        }
    }

    /// The request, when the caller may read it: admins and services all, applicants their
    /// organisation's, operators those asking for one of their infrastructures' installations.
    async fn readable_request(&self, caller: &Principal, id: &str) -> Result<StoredRequest, Status_> {
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        let stored = match self.store.get_access_request(id).await {
            Ok(stored) => stored,
            Err(IntakeError::NotFound { .. }) if !caller.is_admin() && !caller.has_role(Role::Service) => {
                return Err(IntakeError::PermissionDenied(format!("access request {id:?} is not yours to see")).into());
            }
            Err(error) => return Err(error.into()),
        };
        let allowed = caller.is_admin()
            || caller.has_role(Role::Service)
            || caller.is_applicant_of(&stored.request.organisation_id)
            || stored
                .infrastructure_ids
                .iter()
                .any(|infrastructure| caller.operates(infrastructure));
        if allowed {
            Ok(stored)
        } else {
            Err(IntakeError::PermissionDenied(format!("access request {id:?} is not yours to see")).into())
        }
    }

    /// The request, when the caller may act for its requester: an admin, or an applicant of
    /// the requesting organisation.
    async fn own_request(&self, caller: &Principal, id: &str) -> Result<StoredRequest, Status_> {
        let stored = self.readable_request(caller, id).await?;
        if caller.is_admin() || caller.is_applicant_of(&stored.request.organisation_id) {
            Ok(stored)
        } else {
            Err(IntakeError::PermissionDenied(format!(
                "only the requesting organisation acts on access request {id:?}"
            ))
            .into())
        }
    }

    /// The request, when the caller operates the infrastructure of every requested installation
    /// (`all`) or of at least one (or is an admin; a service when `service` allows it).
    async fn operated_request(
        &self,
        caller: &Principal,
        id: &str,
        all: bool,
        service: bool,
    ) -> Result<StoredRequest, Status_> {
        let stored = self.readable_request(caller, id).await?;
        let operates = |infrastructure: &String| caller.operates(infrastructure);
        let allowed = caller.is_admin()
            || (service && caller.has_role(Role::Service))
            || (caller.has_role(Role::Operator)
                && if all {
                    stored.infrastructure_ids.iter().all(operates)
                } else {
                    stored.infrastructure_ids.iter().any(operates)
                });
        if allowed {
            Ok(stored)
        } else {
            Err(IntakeError::PermissionDenied(format!(
                "access request {id:?} asks for installations you do not operate"
            ))
            .into())
        }
    }

    /// Checks that the request's people and group belong where they should, and asks the
    /// registry for each installation's infrastructure.
    async fn resolve_references(&self, request: &proto::AccessRequest) -> Result<Vec<String>, Status_> {
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
                Err(error) => return Err(error.into()),
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
                Err(error) => return Err(error.into()),
            }
        }
        let mut infrastructures = Vec::with_capacity(request.installations.len());
        for (position, installation) in request.installations.iter().enumerate() {
            match self
                .catalogue
                .published_installation(&installation.installation_id)
                .await?
            {
                Some(published) => infrastructures.push(published.infrastructure_id),
                None => violations.add(
                    format!("access_request.installations[{position}].installation_id"),
                    "is not a published installation of the registry",
                ),
            }
        }
        violations.into_result()?;
        Ok(infrastructures)
    }
}

/// The organisation an applicant acts for; an admin acts for the one named.
fn acting_organisation(caller: &Principal, named: &str, field: &str) -> Result<String, Status_> {
    if caller.is_admin() {
        return Ok(named.to_owned());
    }
    let Some(own) = caller.org.as_deref() else {
        return Err(IntakeError::PermissionDenied("your token names no organisation (claim `org`)".to_owned()).into());
    };
    if named.is_empty() || named == own {
        Ok(own.to_owned())
    } else {
        Err(IntakeError::PermissionDenied(format!("{field}: you act only for organisation {own}")).into())
    }
}

/// The idempotency key a create call carries in `field`, scoped to the RPC and the caller.
fn idempotency_key(
    field: &'static str,
    method: &str,
    caller: &Principal,
    key: &str,
    message: &impl prost::Message,
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    IdempotencyKey::of_call(field, method, caller, key, &message.encode_to_vec(), violations)
}

/// A new record's id: the one given (a UUID), or a new one.
fn chosen_id(given: &str, field: &str, violations: &mut Violations) -> String {
    if given.is_empty() {
        new_id()
    } else {
        if !is_valid_id(given) {
            violations.add(field, "must be a UUID");
        }
        given.to_owned()
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    async fn register_organisation(
        &self,
        request: Request<proto::RegisterOrganisationRequest>,
    ) -> Reply<proto::Organisation> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let given = message.organisation.clone().unwrap_or_default();
        let id = acting_organisation(&caller, &given.id, "organisation.id")?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "request_id",
            "RegisterOrganisation",
            &caller,
            &message.request_id,
            &message,
            &mut violations,
        );
        if message.organisation.is_none() {
            violations.add("organisation", "is required");
        }
        let now = crate::store::now();
        let mut organisation = validate::organisation(
            &given,
            self.rules.small_mid_cap,
            self.rules.start_up_max_age_years,
            now,
            &mut violations,
        );
        organisation.id = chosen_id(&id, "organisation.id", &mut violations);
        organisation.create_time = Some(timestamp_from_micros(now));
        violations.into_result()?;
        Ok(Response::new(
            self.store.register_organisation(organisation, key.as_ref()).await?,
        ))
    }

    async fn get_organisation(&self, request: Request<proto::GetOrganisationRequest>) -> Reply<proto::Organisation> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        if !(caller.is_admin() || caller.has_role(Role::Service) || caller.is_applicant_of(&id)) {
            return Err(IntakeError::PermissionDenied(format!("organisation {id:?} is not yours to see")).into());
        }
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        Ok(Response::new(self.store.get_organisation(&id).await?))
    }

    async fn register_person(&self, request: Request<proto::RegisterPersonRequest>) -> Reply<proto::Person> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let given = message.person.clone().unwrap_or_default();
        let organisation = acting_organisation(&caller, &given.organisation_id, "person.organisation_id")?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "request_id",
            "RegisterPerson",
            &caller,
            &message.request_id,
            &message,
            &mut violations,
        );
        let person = proto::Person {
            id: chosen_id(&given.id, "person.id", &mut violations),
            full_name: validate::text(
                &given.full_name,
                "person.full_name",
                validate::MAX_NAME_CHARS,
                true,
                &mut violations,
            ),
            organisation_id: organisation,
            work_country_override: validate::country(
                &given.work_country_override,
                "person.work_country_override",
                false,
                &mut violations,
            ),
            work_country_evidence: validate::text(
                &given.work_country_evidence,
                "person.work_country_evidence",
                validate::MAX_NAME_CHARS,
                !given.work_country_override.is_empty(),
                &mut violations,
            ),
            work_country: String::new(),
            nationality: validate::country(&given.nationality, "person.nationality", false, &mut violations),
            create_time: Some(timestamp_from_micros(crate::store::now())),
        };
        validate::reference(&person.organisation_id, "person.organisation_id", &mut violations);
        violations.into_result()?;
        Ok(Response::new(self.store.register_person(person, key.as_ref()).await?))
    }

    async fn create_user_group(&self, request: Request<proto::CreateUserGroupRequest>) -> Reply<proto::UserGroup> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let given = message.user_group.clone().unwrap_or_default();
        let organisation = acting_organisation(&caller, &given.organisation_id, "user_group.organisation_id")?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "request_id",
            "CreateUserGroup",
            &caller,
            &message.request_id,
            &message,
            &mut violations,
        );
        validate::reference(&organisation, "user_group.organisation_id", &mut violations);
        validate::reference(&given.leader_person_id, "user_group.leader_person_id", &mut violations);
        for (position, member) in given.member_person_ids.iter().enumerate() {
            let field = format!("user_group.member_person_ids[{position}]");
            validate::reference(member, &field, &mut violations);
            if *member == given.leader_person_id {
                violations.add(&field, "is the leader, who is not repeated among the members");
            } else if given.member_person_ids[..position].contains(member) {
                violations.add(&field, "is listed twice");
            }
        }
        let group = proto::UserGroup {
            id: chosen_id(&given.id, "user_group.id", &mut violations),
            name: validate::text(
                &given.name,
                "user_group.name",
                validate::MAX_NAME_CHARS,
                true,
                &mut violations,
            ),
            leader_person_id: given.leader_person_id,
            member_person_ids: given.member_person_ids,
            organisation_id: organisation,
            members: Vec::new(),
            create_time: Some(timestamp_from_micros(crate::store::now())),
        };
        violations.into_result()?;
        Ok(Response::new(self.store.create_user_group(group, key.as_ref()).await?))
    }

    async fn get_user_group(&self, request: Request<proto::GetUserGroupRequest>) -> Reply<proto::UserGroup> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        let group = self.store.get_user_group(&id).await?;
        if !(caller.is_admin() || caller.has_role(Role::Service) || caller.is_applicant_of(&group.organisation_id)) {
            return Err(IntakeError::PermissionDenied(format!("user group {id:?} is not yours to see")).into());
        }
        Ok(Response::new(group))
    }

    async fn list_agreement_templates(
        &self,
        request: Request<proto::ListAgreementTemplatesRequest>,
    ) -> Reply<proto::ListAgreementTemplatesResponse> {
        let kind = request.into_inner().kind();
        let kind = (kind != proto::AgreementKind::Unspecified).then_some(kind);
        let templates = self.store.agreement_templates(kind, crate::store::now()).await?;
        Ok(Response::new(proto::ListAgreementTemplatesResponse { templates }))
    }

    async fn create_access_request(
        &self,
        request: Request<proto::CreateAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let given = message.access_request.clone().unwrap_or_default();
        let organisation_id = acting_organisation(&caller, &given.organisation_id, "access_request.organisation_id")?;
        let mut violations = Violations::new();
        if message.idempotency_key.is_empty() {
            violations.add("idempotency_key", "is required: a UUID the client keeps for retries");
        }
        let key = idempotency_key(
            "idempotency_key",
            "CreateAccessRequest",
            &caller,
            &message.idempotency_key,
            &message,
            &mut violations,
        );
        if message.access_request.is_none() {
            violations.add("access_request", "is required");
        }
        let mut access_request = validate::access_request(&given, &mut violations);
        validate::reference(&organisation_id, "access_request.organisation_id", &mut violations);
        violations.into_result()?;

        let organisation = match self.store.get_organisation(&organisation_id).await {
            Ok(organisation) => organisation,
            Err(IntakeError::NotFound { .. }) => {
                return Err(InvalidInput::single(
                    "access_request.organisation_id",
                    "is not a registered organisation: register it first (RegisterOrganisation)",
                )
                .into());
            }
            Err(error) => return Err(error.into()),
        };
        // TA-5: only user groups free to disseminate benefit, unless they work for an SME.
        if access_request.lane() == Lane::Transnational
            && access_request.ip_regime() != proto::IpRegime::OpenDissemination
            && !validate::is_sme(&organisation)
        {
            return Err(InvalidInput::single(
                "access_request.ip_regime",
                "transnational access requires dissemination of the results unless the users work for an SME \
                 (TA-5); a non-SME that needs confidentiality uses the industrial lane",
            )
            .into());
        }
        access_request.organisation_id = organisation_id;
        let infrastructure_ids = self.resolve_references(&access_request).await?;
        access_request.id = new_id();
        access_request.status = Status::Draft.into();
        access_request.agreement_acceptance = None;
        access_request.screening = None;
        access_request.history.clear();
        access_request.create_time = Some(timestamp_from_micros(crate::store::now()));
        let stored = StoredRequest {
            request: access_request,
            infrastructure_ids,
        };
        let created = self
            .store
            .create_access_request(stored, &caller.subject, key.as_ref())
            .await?;
        Ok(Response::new(created.request))
    }

    async fn get_access_request(
        &self,
        request: Request<proto::GetAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let stored = self.readable_request(&caller, &request.into_inner().id).await?;
        Ok(Response::new(stored.request))
    }

    async fn list_access_requests(
        &self,
        request: Request<proto::ListAccessRequestsRequest>,
    ) -> Reply<proto::ListAccessRequestsResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let scope = if caller.is_admin() || caller.has_role(Role::Service) {
            RequestScope::All
        } else if let (true, Some(org)) = (caller.has_role(Role::Applicant), caller.org.as_ref()) {
            RequestScope::Organisation(org.clone())
        } else {
            RequestScope::Infrastructures(caller.infrastructures.iter().cloned().collect())
        };
        let mut violations = Violations::new();
        let statuses: Vec<Status> = message.statuses().collect();
        if statuses.contains(&Status::Unspecified) {
            violations.add("statuses", "lists an unspecified status");
        }
        let status_names: Vec<&str> = statuses.iter().map(|status| status.as_str_name()).collect();
        let lane = message.lane();
        let filter_key = [
            status_names.join(","),
            lane.as_str_name().to_owned(),
            message.organisation_id.clone(),
        ];
        let filter_refs: Vec<&str> = filter_key.iter().map(String::as_str).collect();
        let page = PageRequest::parse(message.page_size, &message.page_token, &filter_refs, &mut violations);
        violations.into_result()?;
        let filter = RequestFilter {
            statuses,
            lane: (lane != Lane::Unspecified).then_some(lane),
            organisation_id: message.organisation_id,
            overdue_at: None,
        };
        let (requests, next_page_token) = self.store.list_access_requests(&scope, &filter, &page).await?;
        Ok(Response::new(proto::ListAccessRequestsResponse {
            access_requests: requests.into_iter().map(|stored| stored.request).collect(),
            next_page_token,
        }))
    }

    async fn submit_access_request(
        &self,
        request: Request<proto::SubmitAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let stored = self.own_request(&caller, &message.id).await?;
        let current = stored.request.status();
        if current != Status::Draft {
            let submitted = stored.request.history.iter().any(|step| step.to() == Status::Submitted);
            return if submitted {
                Ok(Response::new(stored.request))
            } else {
                Err(IntakeError::FailedPrecondition(lifecycle::refusal(current, Status::Submitted)).into())
            };
        }
        let lane = stored.request.lane();
        let agreement_kind = stored.request.agreement_kind();
        if lane == Lane::Industrial && !message.accept_agreement {
            return Err(InvalidInput::single(
                "accept_agreement",
                "must be true: the industrial lane runs under the standard agreement chosen (IND-7b)",
            )
            .into());
        }
        let now = crate::store::now();
        let template = self
            .store
            .agreement_templates(Some(agreement_kind), now)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                IntakeError::FailedPrecondition(format!(
                    "no {} agreement template is in force",
                    agreement_kind.as_str_name()
                ))
            })?;
        let (list, index) = self.sanctions_index().await?;
        let facts = self.screening_facts(&stored.request).await?;
        let outcome = screening::screen(&facts, &index);
        let record = screening_record(&outcome, &list, now);
        let generation = list
            .generation_time
            .and_then(|time| serde_json::to_string(&time).ok())
            .unwrap_or_default()
            .replace('"', "");
        let subject = caller.subject.clone();
        let changed = self
            .store
            .change_access_request(&message.id, move |request| {
                if request.status() != Status::Draft {
                    // A concurrent submission won; this one returns its result.
                    return Ok(Vec::new());
                }
                request.agreement_acceptance = Some(proto::AgreementAcceptance {
                    template_id: template.id.clone(),
                    kind: template.kind,
                    version: template.version,
                    accepted_by: subject.clone(),
                    accept_time: Some(timestamp_from_micros(now)),
                });
                request.screening = Some(record);
                let mut steps = vec![
                    Transition::by(&subject, Status::Submitted, "submitted by the requester"),
                    Transition::by(
                        INTAKE,
                        Status::Screening,
                        format!("screening against the EU sanctions list generated {generation}"),
                    ),
                ];
                match outcome.decision() {
                    Decision::Decline => steps.push(Transition::by(INTAKE, Status::Declined, decline_reason(&outcome))),
                    Decision::Hold => {}
                    Decision::Proceed => steps.push(Transition::by(
                        INTAKE,
                        lifecycle::after_screening(lane),
                        "screening clear: no listed name, no eligibility block, no security flag",
                    )),
                }
                Ok(steps)
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn withdraw_access_request(
        &self,
        request: Request<proto::WithdrawAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let reason = validate::text(
            &message.reason,
            "reason",
            validate::MAX_NAME_CHARS,
            false,
            &mut violations,
        );
        violations.into_result()?;
        self.own_request(&caller, &message.id).await?;
        let reason = if reason.is_empty() {
            "withdrawn by the requester".to_owned()
        } else {
            reason
        };
        let changed = self
            .store
            .change_access_request(&message.id, |request| {
                if request.status() == Status::Withdrawn {
                    return Ok(Vec::new());
                }
                Ok(vec![Transition::by(&caller.subject, Status::Withdrawn, reason)])
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn quote_access_request(
        &self,
        request: Request<proto::QuoteAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let stored = self.operated_request(&caller, &message.id, true, false).await?;
        let valid_days = match message.valid_days {
            0 => 30,
            days @ 1..=180 => i64::from(days),
            _ => return Err(InvalidInput::single("valid_days", "must be from 1 to 180, or 0 for 30").into()),
        };
        let status = stored.request.status();
        if status != Status::Feasibility {
            return Err(IntakeError::FailedPrecondition(lifecycle::refusal(status, Status::Quoted)).into());
        }
        let quote = self.price(&stored.request, valid_days, &caller.subject).await?;
        let summary = format!(
            "quoted {} {} ({} % off the market price)",
            quote.charged_price.as_ref().map_or(0, |money| money.minor_units),
            quote.charged_price.as_ref().map_or("", |money| money.currency.as_str()),
            quote.discount_percent
        );
        let changed = self
            .store
            .change_access_request(&message.id, |request| {
                request.quote = Some(quote);
                Ok(vec![Transition::by(&caller.subject, Status::Quoted, summary)])
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn accept_quote(&self, request: Request<proto::AcceptQuoteRequest>) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        self.own_request(&caller, &id).await?;
        Ok(Response::new(
            self.store.accept_quote(&id, &caller.subject).await?.request,
        ))
    }

    async fn decline_access_request(
        &self,
        request: Request<proto::DeclineAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        // Allocation's panel (a service) declines transnational proposals in review; operators
        // decline industrial requests they cannot serve.
        let stored = self.readable_request(&caller, &message.id).await?;
        if stored.request.status() == Status::InReview {
            if !(caller.is_admin() || caller.has_role(Role::Service)) {
                return Err(IntakeError::PermissionDenied(
                    "a proposal in review is declined by allocation's panel".to_owned(),
                )
                .into());
            }
        } else if !caller.is_admin() && caller.has_role(Role::Service) && !caller.has_role(Role::Operator) {
            return Err(IntakeError::PermissionDenied(
                "a service declines only transnational proposals in review".to_owned(),
            )
            .into());
        } else {
            self.operated_request(&caller, &message.id, false, false).await?;
        }
        let mut violations = Violations::new();
        let reason = validate::text(
            &message.reason,
            "reason",
            validate::MAX_TEXT_CHARS,
            true,
            &mut violations,
        );
        violations.into_result()?;
        let changed = self
            .store
            .change_access_request(&message.id, |request| {
                let status = request.status();
                if status == Status::Declined {
                    return Ok(Vec::new());
                }
                if !matches!(status, Status::Feasibility | Status::Quoted | Status::InReview) {
                    return Err(IntakeError::FailedPrecondition(format!(
                        "the request is {}; a request is declined in FEASIBILITY, QUOTED or IN_REVIEW",
                        lifecycle::short_name(status)
                    )));
                }
                Ok(vec![Transition::by(&caller.subject, Status::Declined, reason)])
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn close_access_request(
        &self,
        request: Request<proto::CloseAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.operated_request(&caller, &message.id, false, true).await?;
        let mut violations = Violations::new();
        let reason = validate::text(
            &message.reason,
            "reason",
            validate::MAX_TEXT_CHARS,
            false,
            &mut violations,
        );
        violations.into_result()?;
        let changed = self
            .store
            .change_access_request(&message.id, |request| {
                if request.status() == Status::Closed {
                    return Ok(Vec::new());
                }
                let reason = if reason.is_empty() {
                    "access delivered".to_owned()
                } else {
                    reason
                };
                Ok(vec![Transition::by(&caller.subject, Status::Closed, reason)])
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn get_de_minimis_statement(
        &self,
        request: Request<proto::GetDeMinimisStatementRequest>,
    ) -> Reply<proto::DeMinimisStatement> {
        let caller = caller(&request)?;
        let organisation_id = request.into_inner().organisation_id;
        let organisation_id = if caller.is_admin() || caller.has_role(Role::Service) {
            organisation_id
        } else {
            acting_organisation(&caller, &organisation_id, "organisation_id")?
        };
        if organisation_id.is_empty() {
            return Err(InvalidInput::single("organisation_id", "is required").into());
        }
        self.store.get_organisation(&organisation_id).await?;
        let statement = self
            .store
            .de_minimis_statement(&organisation_id, crate::store::now())
            .await?;
        Ok(Response::new(statement))
    }

    async fn set_decision_clock(
        &self,
        request: Request<proto::SetDecisionClockRequest>,
    ) -> Reply<proto::DecisionClock> {
        let caller = caller(&request)?;
        let given = request.into_inner().clock.unwrap_or_default();
        if given.installation_id.is_empty() {
            if !caller.is_admin() {
                return Err(IntakeError::PermissionDenied(
                    "only an admin sets the default clock; name your installation".to_owned(),
                )
                .into());
            }
        } else {
            let installation = self.catalogue.published_installation(&given.installation_id).await?;
            match installation {
                Some(installation) if caller.operates(&installation.infrastructure_id) => {}
                Some(_) => {
                    return Err(IntakeError::PermissionDenied(format!(
                        "you do not operate installation {:?}",
                        given.installation_id
                    ))
                    .into());
                }
                None => {
                    return Err(InvalidInput::single(
                        "clock.installation_id",
                        "is not a published installation of the registry",
                    )
                    .into());
                }
            }
        }
        let clock = clock::Clock {
            acknowledge_days: given.acknowledge_within_days,
            feasibility_days: given.feasibility_within_days,
            decide_days: given.decide_within_days,
        };
        let mut violations = Violations::new();
        for (field, problem) in clock.problems() {
            violations.add(format!("clock.{field}"), problem);
        }
        violations.into_result()?;
        let stored = self
            .store
            .set_decision_clock(proto::DecisionClock {
                updated_by: caller.subject.clone(),
                update_time: None,
                ..given
            })
            .await?;
        Ok(Response::new(stored))
    }

    async fn acknowledge_access_request(
        &self,
        request: Request<proto::AcknowledgeAccessRequestRequest>,
    ) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        self.operated_request(&caller, &id, false, false).await?;
        Ok(Response::new(
            self.store.acknowledge(&id, &caller.subject).await?.request,
        ))
    }

    async fn list_overdue_requests(
        &self,
        request: Request<proto::ListOverdueRequestsRequest>,
    ) -> Reply<proto::ListOverdueRequestsResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let scope = if caller.is_admin() {
            RequestScope::All
        } else {
            RequestScope::Infrastructures(caller.infrastructures.iter().cloned().collect())
        };
        let mut violations = Violations::new();
        let page = PageRequest::parse(message.page_size, &message.page_token, &["overdue"], &mut violations);
        violations.into_result()?;
        let now = crate::store::now();
        let filter = RequestFilter {
            lane: Some(Lane::Industrial),
            overdue_at: Some(now),
            ..RequestFilter::default()
        };
        let (requests, next_page_token) = self.store.list_access_requests(&scope, &filter, &page).await?;
        let requests = requests
            .into_iter()
            .map(|stored| {
                let deadlines = stored.request.deadlines.clone().unwrap_or_default();
                let overdue = clock::overdue(&deadlines, now)
                    .into_iter()
                    .map(|(milestone, _)| milestone.into())
                    .collect();
                proto::OverdueRequest {
                    access_request: Some(stored.request),
                    overdue,
                }
            })
            .collect();
        Ok(Response::new(proto::ListOverdueRequestsResponse {
            requests,
            next_page_token,
        }))
    }

    async fn review_screening(&self, request: Request<proto::ReviewScreeningRequest>) -> Reply<proto::AccessRequest> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        validate::reference(&message.id, "id", &mut violations);
        let decision = message.decision();
        if decision == ReviewDecision::Unspecified {
            violations.add("decision", "is required");
        }
        let rationale = validate::text(
            &message.rationale,
            "rationale",
            validate::MAX_TEXT_CHARS,
            true,
            &mut violations,
        );
        let conditions = validate::text(
            &message.conditions,
            "conditions",
            validate::MAX_TEXT_CHARS,
            decision == ReviewDecision::ApproveWithConditions,
            &mut violations,
        );
        violations.into_result()?;
        let now = crate::store::now();
        let changed = self
            .store
            .change_access_request(&message.id, |request| {
                if request.status() != Status::Screening {
                    return Err(IntakeError::FailedPrecondition(format!(
                        "the request is {}; only a request held in SCREENING is reviewed",
                        lifecycle::short_name(request.status())
                    )));
                }
                let screening = request.screening.get_or_insert_with(Default::default);
                screening.review = Some(proto::ScreeningReview {
                    decision: decision.into(),
                    rationale: rationale.clone(),
                    conditions: conditions.clone(),
                    reviewer: caller.subject.clone(),
                    review_time: Some(timestamp_from_micros(now)),
                });
                let step = match decision {
                    ReviewDecision::Reject => Transition::by(
                        &caller.subject,
                        Status::Declined,
                        format!("screening review: {rationale}"),
                    ),
                    _ => Transition::by(
                        &caller.subject,
                        lifecycle::after_screening(request.lane()),
                        format!("screening review approved: {rationale}"),
                    ),
                };
                Ok(vec![step])
            })
            .await?;
        Ok(Response::new(changed.request))
    }

    async fn import_sanctions_list(
        &self,
        request: Request<proto::ImportSanctionsListRequest>,
    ) -> Reply<proto::SanctionsListVersion> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let format = message.format();
        let mut violations = Violations::new();
        if format == proto::SanctionsListFormat::Unspecified {
            violations.add("format", "is required: XML or CSV");
        }
        if message.content.is_empty() {
            violations.add("content", "is required: the list file as published");
        }
        violations.into_result()?;
        let text = std::str::from_utf8(&message.content)
            .map_err(|error| InvalidInput::single("content", format!("is not UTF-8 text: {error}")))?;
        let parsed = match format {
            proto::SanctionsListFormat::Csv => sanctions_csv::parse(text).map_err(|error| error.to_string()),
            _ => sanctions_xml::parse(text).map_err(|error| error.to_string()),
        }
        .map_err(|error| InvalidInput::single("content", error))?;
        let generation_time = crate::domain::time_micros(&parsed.generation_date).ok_or_else(|| {
            InvalidInput::single(
                "content",
                format!("the generation date {:?} is not a date", parsed.generation_date),
            )
        })?;
        let version = self
            .store
            .import_sanctions_list(crate::store::NewSanctionsList {
                id: new_id(),
                generation_time,
                format,
                sha256: crate::store::sha256_hex(&message.content),
                parties: i64::try_from(parsed.parties.len()).unwrap_or(i64::MAX),
                names: parsed.listed_names().collect(),
                imported_by: caller.subject.clone(),
                imported_at: crate::store::now(),
                raw: message.content,
            })
            .await?;
        tracing::info!(list = %version.id, parties = version.parties, names = version.names, "sanctions list imported");
        Ok(Response::new(version))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Reply<Self::SubscribeStream> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
