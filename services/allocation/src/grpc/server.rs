//! Calls, panels, proposals, reviews, ranking and the allocation run.

use prost::Message;
use rti_platform::auth::{Principal, Role};
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::events::EventStream;
use rti_platform::idempotency::request_hash;
use rti_platform::ids::new_id;
use rti_platform::pagination::PageRequest;
use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::allocation::allocation_service_server::AllocationService;
use rti_proto::common::SubscribeRequest;
use tonic::{Request, Response, Status};

use super::validate::{self, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use super::{AllocationApi, Reply, caller, denied, offered, oversees, planned_units};
use crate::domain::countries::CountryTable;
use crate::error::{AllocationError, AllocationResult};
use rti_platform::store::IdempotencyKey;

/// How a caller may see a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Coordinators, admins, services: everything.
    Full,
    /// A panel member: the proposal and the own review.
    Reviewer,
    /// The applicant or an operator of a requested installation: no reviews.
    Party,
}

impl AllocationApi {
    /// How `caller` may see `proposal`, or why not at all.
    async fn view(&self, caller: &Principal, proposal: &proto::Proposal) -> AllocationResult<View> {
        if oversees(caller) {
            return Ok(View::Full);
        }
        if caller.is_applicant_of(&proposal.organisation_id) {
            return Ok(View::Party);
        }
        if caller.has_role(Role::Operator) && self.operates_any(caller, proposal).await? {
            return Ok(View::Party);
        }
        if caller.has_role(Role::Reviewer) && !proposal.call_id.is_empty() {
            let panel = self.store.panel(&proposal.call_id).await?;
            if panel.iter().any(|member| member.reviewer == caller.subject) {
                if self.store.conflicted(&proposal.id).await?.contains(&caller.subject) {
                    return Err(denied(format!(
                        "you declared a conflict of interest on proposal {}; you cannot see or score it",
                        proposal.id
                    )));
                }
                return Ok(View::Reviewer);
            }
        }
        Err(denied(format!("proposal {} is not yours to see", proposal.id)))
    }

    /// Whether the operator runs one of the proposal's installations.
    async fn operates_any(&self, caller: &Principal, proposal: &proto::Proposal) -> AllocationResult<bool> {
        for part in &proposal.requested {
            if caller.operates(&self.infrastructure_of(proposal, &part.installation_id).await?) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The infrastructure an installation of a proposal belongs to: from the call, or (industrial
    /// lane) from the registry.
    pub(crate) async fn infrastructure_of(
        &self,
        proposal: &proto::Proposal,
        installation_id: &str,
    ) -> AllocationResult<String> {
        if !proposal.call_id.is_empty() {
            let call = self.store.get_call(&proposal.call_id).await?;
            if let Some(installation) = offered(&call, installation_id) {
                return Ok(installation.infrastructure_id.clone());
            }
        }
        Ok(self
            .peers
            .published_site(installation_id)
            .await?
            .map(|site| site.infrastructure_id)
            .unwrap_or_default())
    }

    /// The proposal as `caller` may see it.
    async fn visible(&self, caller: &Principal, mut proposal: proto::Proposal) -> AllocationResult<proto::Proposal> {
        match self.view(caller, &proposal).await? {
            View::Full => {}
            View::Reviewer => proposal.reviews.retain(|review| review.reviewer == caller.subject),
            View::Party => proposal.reviews.clear(),
        }
        Ok(proposal)
    }

    async fn open_call(&self, call_id: &str, field: &str) -> AllocationResult<proto::Call> {
        if call_id.is_empty() {
            return Err(InvalidInput::single(field, "is required").into());
        }
        self.store.get_call(call_id).await
    }

    /// A reviewer on the proposal's panel, not conflicted.
    async fn panel_member(&self, caller: &Principal, proposal: &proto::Proposal) -> AllocationResult<()> {
        let panel = self.store.panel(&proposal.call_id).await?;
        if !panel.iter().any(|member| member.reviewer == caller.subject) {
            return Err(denied(format!("you are not on the panel of call {}", proposal.call_id)));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn create_call(&self, request: Request<proto::CreateCallRequest>) -> Reply<proto::Call> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        validate::request_id(&message.request_id, "request_id", &mut violations);
        let title = validate::text(&message.title, "title", MAX_TITLE_CHARS, true, &mut violations);
        if message.close_time.is_none() {
            violations.add(
                "close_time",
                "is required: the deadline is the reference date for eligibility",
            );
        }
        if let (Some(open), Some(close)) = (&message.open_time, &message.close_time)
            && open.seconds >= close.seconds
        {
            violations.add("open_time", "must be before close_time");
        }
        if message.installations.is_empty() {
            violations.add("installations", "at least one installation is required");
        }
        if message.grant_planned_units < 0 {
            violations.add("grant_planned_units", "must be 0 (the call's units) or more");
        }
        if message.max_days_decision_to_access < 0 {
            violations.add("max_days_decision_to_access", "must be 0 (none) or more");
        }
        let mut installations = Vec::with_capacity(message.installations.len());
        for (index, given) in message.installations.iter().enumerate() {
            let field = format!("installations[{index}]");
            validate::reference(
                &given.installation_id,
                &format!("{field}.installation_id"),
                &mut violations,
            );
            if message.installations[..index]
                .iter()
                .any(|earlier| earlier.installation_id == given.installation_id)
            {
                violations.add(format!("{field}.installation_id"), "is listed twice");
            }
            if given.units <= 0 {
                violations.add(format!("{field}.units"), "must be greater than 0");
            }
            let equivalent = validate::countries(
                &given.equivalent_ri_countries,
                &format!("{field}.equivalent_ri_countries"),
                &mut violations,
            );
            installations.push(proto::CallInstallation {
                installation_id: given.installation_id.clone(),
                units: given.units,
                remote_set_id: validate::text(
                    &given.remote_set_id,
                    &format!("{field}.remote_set_id"),
                    128,
                    false,
                    &mut violations,
                ),
                equivalent_ri_countries: equivalent,
                ..proto::CallInstallation::default()
            });
        }
        let criteria = validate::criteria(&message.criteria, &mut violations);
        let mut rulebook = validate::rulebook(message.rulebook.as_ref(), &mut violations);
        violations.into_result()?;
        // The sites come from the registry: only published installations can be offered.
        let mut unknown = Violations::new();
        for (index, installation) in installations.iter_mut().enumerate() {
            match self.peers.published_site(&installation.installation_id).await? {
                Some(site) => {
                    installation.countries = site.countries;
                    installation.infrastructure_id = site.infrastructure_id;
                    installation.set_provider_form(site.provider_form);
                }
                None => unknown.add(
                    format!("installations[{index}].installation_id"),
                    "is not a published installation of the registry",
                ),
            }
        }
        unknown.into_result()?;
        let now = now_micros();
        rulebook.version = 1;
        rulebook.effective_time = Some(timestamp_from_micros(now));
        let call = proto::Call {
            id: new_id(),
            title,
            programme: validate::text(
                &message.programme,
                "programme",
                MAX_TITLE_CHARS,
                false,
                &mut Violations::new(),
            ),
            grant_agreement: message.grant_agreement.trim().to_owned(),
            public_url: message.public_url.trim().to_owned(),
            open_time: message.open_time,
            close_time: message.close_time,
            continuous: message.continuous,
            installations,
            criteria,
            rulebook: Some(rulebook),
            rulebook_history: Vec::new(),
            grant_planned_units: message.grant_planned_units,
            max_days_decision_to_access: message.max_days_decision_to_access,
            status: proto::CallStatus::Open.into(),
            country_table_version: CountryTable::shipped().version().to_owned(),
            coordinator: caller.subject.clone(),
            create_time: Some(timestamp_from_micros(now)),
        };
        let key = IdempotencyKey {
            field: "request_id",
            scope: format!("CreateCall:{}", caller.subject),
            key: message.request_id.clone(),
            request_hash: request_hash(&message.encode_to_vec()),
        };
        Ok(Response::new(self.store.create_call(&key, call).await?))
    }

    async fn get_call(&self, request: Request<proto::GetCallRequest>) -> Reply<proto::Call> {
        let id = request.into_inner().id;
        Ok(Response::new(self.open_call(&id, "id").await?))
    }

    async fn list_calls(&self, request: Request<proto::ListCallsRequest>) -> Reply<proto::ListCallsResponse> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(message.page_size, &message.page_token, &[], &mut violations);
        violations.into_result()?;
        let (calls, next_page_token) = self.store.list_calls(&page).await?;
        Ok(Response::new(proto::ListCallsResponse { calls, next_page_token }))
    }

    async fn amend_rulebook(&self, request: Request<proto::AmendRulebookRequest>) -> Reply<proto::Call> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        if message.rulebook.is_none() {
            violations.add("rulebook", "is required");
        }
        let mut rulebook = validate::rulebook(message.rulebook.as_ref(), &mut violations);
        rulebook.reason = validate::text(&message.reason, "reason", MAX_TEXT_CHARS, true, &mut violations);
        violations.into_result()?;
        let call = self.open_call(&message.call_id, "call_id").await?;
        if call.status() != proto::CallStatus::Open {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; its rules can no longer change",
                call.id
            ))
            .into());
        }
        let call = self.store.amend_rulebook(&call.id, rulebook).await?;
        // Every proposal is judged again under the new version (TA-15).
        for proposal in self.store.call_proposals(&call.id).await? {
            if proposal.status() == proto::ProposalStatus::Withdrawn {
                continue;
            }
            let (evaluated, event) = self.evaluate(Some(&call), proposal).await?;
            self.store.save_proposal(&evaluated, None, vec![event]).await?;
        }
        Ok(Response::new(call))
    }

    async fn set_panel(&self, request: Request<proto::SetPanelRequest>) -> Reply<proto::Panel> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        if message.members.is_empty() {
            violations.add(
                "members",
                "at least one reviewer is required (TA-7: a panel of experts)",
            );
        }
        for (index, member) in message.members.iter().enumerate() {
            let field = format!("members[{index}].reviewer");
            validate::text(&member.reviewer, &field, 200, true, &mut violations);
            if message.members[..index]
                .iter()
                .any(|earlier| earlier.reviewer == member.reviewer)
            {
                violations.add(field, "is listed twice");
            }
        }
        violations.into_result()?;
        let call = self.open_call(&message.call_id, "call_id").await?;
        self.store.set_panel(&call.id, &message.members).await?;
        let members = self.store.panel(&call.id).await?;
        let independent = members.iter().filter(|member| member.independent).count();
        Ok(Response::new(proto::Panel {
            call_id: call.id,
            independent_share: independent as f64 / members.len().max(1) as f64,
            members,
        }))
    }

    async fn get_proposal(&self, request: Request<proto::GetProposalRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        let proposal = self.store.get_proposal(&id).await?;
        Ok(Response::new(self.visible(&caller, proposal).await?))
    }

    async fn list_proposals(
        &self,
        request: Request<proto::ListProposalsRequest>,
    ) -> Reply<proto::ListProposalsResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(
            message.page_size,
            &message.page_token,
            &[&message.call_id],
            &mut violations,
        );
        violations.into_result()?;
        let call = self.open_call(&message.call_id, "call_id").await?;
        let mut proposals = Vec::new();
        for proposal in self.store.call_proposals(&call.id).await? {
            if page
                .after_id
                .as_deref()
                .is_some_and(|after| proposal.id.as_str() <= after)
            {
                continue;
            }
            // Others' proposals, and those the reviewer is conflicted on, are left out.
            match self.visible(&caller, proposal).await {
                Ok(visible) => proposals.push(visible),
                Err(AllocationError::PermissionDenied(_)) => {}
                Err(error) => return Err(error.into()),
            }
            if proposals.len() as i64 >= page.fetch_limit() {
                break;
            }
        }
        let next_page_token = page.finish(&mut proposals, |proposal| &proposal.id);
        Ok(Response::new(proto::ListProposalsResponse {
            proposals,
            next_page_token,
        }))
    }

    async fn evaluate_eligibility(
        &self,
        request: Request<proto::EvaluateEligibilityRequest>,
    ) -> Reply<proto::Proposal> {
        let id = request.into_inner().proposal_id;
        if id.is_empty() {
            return Err(InvalidInput::single("proposal_id", "is required").into());
        }
        let stored = self.store.get_proposal(&id).await?;
        if stored.lane() != proto::Lane::Transnational {
            return Err(AllocationError::FailedPrecondition(format!(
                "{id} is an industrial-lane request: it has no panel and no eligibility rules"
            ))
            .into());
        }
        // The group is read again: members or their employers may have changed.
        let intake_request = self
            .peers
            .access_request(&id)
            .await?
            .ok_or_else(|| AllocationError::not_found("access request", &id))?;
        Ok(Response::new(self.receive_proposal(&intake_request, None).await?))
    }

    async fn declare_conflict(&self, request: Request<proto::DeclareConflictRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let reason = validate::text(&message.reason, "reason", MAX_TEXT_CHARS, true, &mut violations);
        if message.proposal_id.is_empty() {
            violations.add("proposal_id", "is required");
        }
        violations.into_result()?;
        let proposal = self.store.get_proposal(&message.proposal_id).await?;
        self.panel_member(&caller, &proposal).await?;
        self.store
            .declare_conflict(&proposal.id, &caller.subject, &reason)
            .await?;
        // The declarer no longer sees the proposal's content beyond its id.
        let proposal = proto::Proposal {
            id: proposal.id,
            call_id: proposal.call_id,
            ..proto::Proposal::default()
        };
        Ok(Response::new(proposal))
    }

    async fn submit_review(&self, request: Request<proto::SubmitReviewRequest>) -> Reply<proto::Review> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        if message.proposal_id.is_empty() {
            return Err(InvalidInput::single("proposal_id", "is required").into());
        }
        let proposal = self.store.get_proposal(&message.proposal_id).await?;
        self.panel_member(&caller, &proposal).await?;
        // A conflicted member can neither see nor score the proposal.
        self.view(&caller, &proposal).await?;
        if proposal.status() != proto::ProposalStatus::InReview {
            return Err(AllocationError::FailedPrecondition(format!(
                "proposal {} is {}: reviews are closed",
                proposal.id,
                proposal.status().as_str_name()
            ))
            .into());
        }
        let call = self.store.get_call(&proposal.call_id).await?;
        let mut violations = Violations::new();
        let comment = validate::text(&message.comment, "comment", MAX_TEXT_CHARS, false, &mut violations);
        let (mut weighted, mut weights) = (0.0, 0.0);
        for criterion in &call.criteria {
            match message.scores.iter().find(|score| score.criterion == criterion.name) {
                None => violations.add("scores", format!("no score for the criterion {:?}", criterion.name)),
                Some(score) if !(0.0..=10.0).contains(&score.score) => {
                    violations.add("scores", format!("the score for {:?} must be 0 to 10", criterion.name));
                }
                Some(score) => {
                    weighted += criterion.weight * score.score;
                    weights += criterion.weight;
                }
            }
        }
        for score in &message.scores {
            if !call.criteria.iter().any(|criterion| criterion.name == score.criterion) {
                violations.add(
                    "scores",
                    format!("{:?} is not a criterion of the call", score.criterion),
                );
            }
        }
        violations.into_result()?;
        let review = proto::Review {
            proposal_id: proposal.id.clone(),
            reviewer: caller.subject.clone(),
            scores: message.scores,
            comment,
            weighted_score: if weights > 0.0 { weighted / weights } else { 0.0 },
            submit_time: Some(timestamp_from_micros(now_micros())),
        };
        self.store.put_review(&review).await?;
        Ok(Response::new(review))
    }

    async fn submit_feasibility(&self, request: Request<proto::SubmitFeasibilityRequest>) -> Reply<proto::Proposal> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        validate::reference(&message.proposal_id, "proposal_id", &mut violations);
        validate::reference(&message.installation_id, "installation_id", &mut violations);
        let note = validate::text(
            &message.note,
            "note",
            MAX_TEXT_CHARS,
            !message.feasible,
            &mut violations,
        );
        violations.into_result()?;
        let proposal = self.store.get_proposal(&message.proposal_id).await?;
        if !proposal
            .requested
            .iter()
            .any(|part| part.installation_id == message.installation_id)
        {
            return Err(InvalidInput::single("installation_id", "is not requested by this proposal").into());
        }
        let infrastructure = self.infrastructure_of(&proposal, &message.installation_id).await?;
        if !caller.operates(&infrastructure) {
            return Err(denied(format!("you do not operate installation {}", message.installation_id)).into());
        }
        let feasibility = proto::Feasibility {
            installation_id: message.installation_id,
            feasible: message.feasible,
            note,
            operator: caller.subject.clone(),
        };
        self.store.put_feasibility(&proposal.id, &feasibility).await?;
        let proposal = self.store.get_proposal(&proposal.id).await?;
        Ok(Response::new(self.visible(&caller, proposal).await?))
    }

    async fn get_ranking(&self, request: Request<proto::GetRankingRequest>) -> Reply<proto::Ranking> {
        let call = self.open_call(&request.into_inner().call_id, "call_id").await?;
        let proposals = self.ranking(&call).await?.into_iter().map(|(entry, _)| entry).collect();
        Ok(Response::new(proto::Ranking {
            call_id: call.id,
            proposals,
        }))
    }

    async fn run_allocation(
        &self,
        request: Request<proto::RunAllocationRequest>,
    ) -> Reply<proto::RunAllocationResponse> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let call = self.open_call(&message.call_id, "call_id").await?;
        if call.status() != proto::CallStatus::Open && !message.dry_run {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; an allocation is approved once",
                call.id
            ))
            .into());
        }
        let (mut allocation, non_eu) = self.allocation(&call).await?;
        allocation.approved_by = if message.dry_run {
            String::new()
        } else {
            caller.subject.clone()
        };
        if !message.dry_run {
            self.store.store_allocation(&call, &allocation, &non_eu).await?;
        }
        let ratio = if allocation.lp_bound > 0.0 {
            allocation.objective / allocation.lp_bound
        } else {
            1.0
        };
        Ok(Response::new(proto::RunAllocationResponse {
            objective: allocation.objective,
            lp_bound: allocation.lp_bound,
            ratio,
            allocation: Some(allocation),
            dry_run: message.dry_run,
        }))
    }

    async fn get_allocation(&self, request: Request<proto::GetAllocationRequest>) -> Reply<proto::Allocation> {
        let caller = caller(&request)?;
        let call = self.open_call(&request.into_inner().call_id, "call_id").await?;
        let mut allocation = self.store.get_allocation(&call.id).await?;
        if !oversees(&caller) {
            let mut lines = Vec::new();
            for line in allocation.lines {
                let proposal = self.store.get_proposal(&line.proposal_id).await?;
                if self.view(&caller, &proposal).await.is_ok() {
                    lines.push(line);
                }
            }
            allocation.lines = lines;
        }
        Ok(Response::new(allocation))
    }

    async fn offer_slot(&self, request: Request<proto::OfferSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        Ok(Response::new(self.offer(&caller, request.into_inner()).await?))
    }

    async fn accept_slot(&self, request: Request<proto::AcceptSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.accept(&caller, &request.into_inner().slot_id).await?,
        ))
    }

    async fn decline_slot(&self, request: Request<proto::DeclineSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        Ok(Response::new(
            self.decline(&caller, &message.slot_id, &message.reason).await?,
        ))
    }

    async fn confirm_slot(&self, request: Request<proto::ConfirmSlotRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.confirm(&caller, &request.into_inner().slot_id).await?,
        ))
    }

    async fn list_slots(&self, request: Request<proto::ListSlotsRequest>) -> Reply<proto::ListSlotsResponse> {
        let caller = caller(&request)?;
        let id = request.into_inner().access_request_id;
        if id.is_empty() {
            return Err(InvalidInput::single("access_request_id", "is required").into());
        }
        let proposal = self.store.get_proposal(&id).await?;
        self.view(&caller, &proposal).await?;
        let slots = self
            .store
            .slots_of(&id)
            .await?
            .into_iter()
            .map(|stored| stored.slot)
            .collect();
        let scheduled = self.store.scheduled(&proposal).await?;
        Ok(Response::new(proto::ListSlotsResponse { slots, scheduled }))
    }

    async fn record_delivery(&self, request: Request<proto::RecordDeliveryRequest>) -> Reply<proto::Slot> {
        let caller = caller(&request)?;
        Ok(Response::new(self.deliver(&caller, request.into_inner()).await?))
    }

    async fn get_ledger(&self, request: Request<proto::GetLedgerRequest>) -> Reply<proto::Ledger> {
        let call = self.open_call(&request.into_inner().call_id, "call_id").await?;
        let units = self.store.ledger_units(&call.id).await?;
        let planned = planned_units(&call);
        let share = |units: i64| {
            if planned > 0 {
                units as f64 / planned as f64
            } else {
                0.0
            }
        };
        Ok(Response::new(proto::Ledger {
            call_id: call.id.clone(),
            planned_units: planned,
            granted_units: units.granted,
            delivered_units: units.delivered,
            lost_units: units.lost,
            non_eu_granted_units: units.non_eu_granted,
            non_eu_delivered_units: units.non_eu_delivered,
            non_eu_granted_share: share(units.non_eu_granted),
            non_eu_delivered_share: share(units.non_eu_delivered),
            cap_percent: call.rulebook.as_ref().map_or(20, |rules| rules.non_eu_cap_percent),
        }))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
