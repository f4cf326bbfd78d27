//! Decision clocks of the industrial lane (IND-7d): setting an installation's clock or the
//! default, an operator's acknowledgement, and the requests past a deadline.

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::pagination::PageRequest;

use super::{IntakeService, now};
use crate::domain::access::{self, Operated};
use crate::domain::clock::{self, Clock, DecisionClock, Milestone};
use crate::domain::request::{AccessRequest, Lane};
use crate::domain::request_view::as_seen_by;
use crate::domain::{Checked, IntakeResult};
use crate::store::RequestFilter;

/// `SetDecisionClock`, converted: the installation (empty for the default) and its clock.
#[derive(Debug, Clone)]
pub struct SetDecisionClock {
    pub installation_id: String,
    pub clock: Clock,
}

impl IntakeService {
    /// An admin sets the default clock, an operator its installation's; each deadline is 1 to
    /// 365 days and they come in milestone order.
    pub async fn set_decision_clock(
        &self,
        caller: &Principal,
        command: SetDecisionClock,
    ) -> IntakeResult<DecisionClock> {
        if command.installation_id.is_empty() {
            access::may_set_clock(caller, None)?;
        } else {
            let installation = self.catalogue.published_installation(&command.installation_id).await?;
            let Some(installation) = installation else {
                return Err(InvalidInput::single(
                    "clock.installation_id",
                    "is not a published installation of the registry",
                )
                .into());
            };
            access::may_set_clock(
                caller,
                Some((&command.installation_id, &installation.infrastructure_id)),
            )?;
        }
        let mut violations = Violations::new();
        for (field, problem) in command.clock.problems() {
            violations.add(format!("clock.{field}"), problem);
        }
        violations.into_result()?;
        self.store
            .set_decision_clock(DecisionClock {
                installation_id: command.installation_id,
                clock: command.clock,
                updated_by: caller.subject.clone(),
                update_time: 0,
            })
            .await
    }

    /// An operator of one of the installations acknowledges a submitted request, once.
    pub async fn acknowledge_access_request(&self, caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        self.operated_request(caller, id, Operated::Any).await?;
        let mut change = self.store.begin_change(id).await?;
        let request = change.request();
        if !clock::acknowledgeable(request.lane, request.status, request.deadlines.as_ref())? {
            return Ok(as_seen_by(caller, change.into_request()));
        }
        let at = now();
        let breach = clock::acknowledge(change.request_mut().deadlines.as_mut(), at, &caller.subject);
        Ok(as_seen_by(caller, change.commit_fields(breach, at).await?))
    }

    /// A page of the open industrial-lane requests the caller operates with a milestone past
    /// its deadline, with those milestones.
    pub async fn list_overdue_requests(
        &self,
        caller: &Principal,
        page: Checked<PageRequest>,
    ) -> IntakeResult<(Vec<(AccessRequest, Vec<Milestone>)>, String)> {
        let scope = access::overdue_scope(caller);
        let page = page.into_result()?;
        let now = now();
        let filter = RequestFilter {
            lane: Some(Lane::Industrial),
            overdue_at: Some(now),
            ..RequestFilter::default()
        };
        let (requests, next_page_token) = self.store.list_access_requests(&scope, &filter, &page).await?;
        let overdue = requests
            .into_iter()
            .map(|request| {
                let milestones = clock::overdue(request.deadlines.as_ref(), now)
                    .into_iter()
                    .map(|(milestone, _)| milestone)
                    .collect();
                (as_seen_by(caller, request), milestones)
            })
            .collect();
        Ok((overdue, next_page_token))
    }
}
