//! Calls and their rulebook (TA-15: versioned, every proposal judged again on amendment), the
//! panel (TA-7), and the call's unit ledger (TA-6).

use rti_platform::auth::Principal;
use rti_platform::error::Violations;
use rti_platform::ids::new_id;
use rti_platform::pagination::PageRequest;
use rti_platform::time::now_micros;

use super::AllocationService;
use crate::domain::CallStatus;
use crate::domain::calls::{Call, Panel, PanelMember, RulebookVersion};
use crate::domain::countries::CountryTable;
use crate::domain::ledger::Ledger;
use crate::domain::review;
use crate::error::{AllocationError, AllocationResult};
use rti_platform::store::IdempotencyKey;

/// A call as the coordinator asks for it, validated; its sites are resolved in the registry.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub key: IdempotencyKey,
    /// The call without id, sites, status or times; its rulebook with the programme's defaults.
    pub draft: Call,
}

impl AllocationService {
    /// Opens a call with rulebook version 1, once per idempotency key. Only published
    /// installations of the registry can be offered.
    pub async fn create_call(&self, caller: &Principal, new: NewCall) -> AllocationResult<Call> {
        let NewCall { key, draft: mut call } = new;
        let mut unknown = Violations::new();
        for (index, installation) in call.installations.iter_mut().enumerate() {
            match self.peers.published_site(&installation.installation_id).await? {
                Some(site) => {
                    installation.countries = site.countries;
                    installation.infrastructure_id = site.infrastructure_id;
                    installation.provider_form = Some(site.provider_form);
                }
                None => unknown.add(
                    format!("installations[{index}].installation_id"),
                    "is not a published installation of the registry",
                ),
            }
        }
        unknown.into_result()?;
        let now = now_micros();
        let rulebook = RulebookVersion {
            version: 1,
            effective_at: Some(now),
            ..call.rulebook.take().unwrap_or_default()
        };
        let call = Call {
            id: new_id(),
            rulebook: Some(rulebook),
            rulebook_history: Vec::new(),
            status: Some(CallStatus::Open),
            country_table_version: CountryTable::shipped().version().to_owned(),
            coordinator: caller.subject.clone(),
            created_at: Some(now),
            ..call
        };
        self.store.create_call(&key, call).await
    }

    /// A call with its rulebook in force and its history (TA-8: public).
    pub async fn get_call(&self, id: &str) -> AllocationResult<Call> {
        self.open_call(id, "id").await
    }

    /// Calls, newest first.
    pub async fn list_calls(&self, page: &PageRequest) -> AllocationResult<(Vec<Call>, String)> {
        self.store.list_calls(page).await
    }

    /// TA-15: a new rulebook version, while the call is open; every proposal still in the call
    /// is judged again under it.
    pub async fn amend_rulebook(
        &self,
        caller: &Principal,
        call_id: &str,
        amended: RulebookVersion,
    ) -> AllocationResult<Call> {
        let call = self.coordinated_call(caller, call_id, "call_id").await?;
        if !call.accepts_amendments() {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; its rules can no longer change",
                call.id
            )));
        }
        let call = self.store.amend_rulebook(&call.id, amended).await?;
        for proposal in self.store.call_proposals(&call.id).await? {
            if !proposal.status.is_none_or(|status| status.reevaluated_on_amendment()) {
                continue;
            }
            let (evaluated, event) = self.evaluate(Some(&call), proposal).await?;
            self.store.save_proposal(&evaluated, None, vec![event]).await?;
        }
        Ok(call)
    }

    /// Replaces the call's panel (TA-7: a panel of experts).
    pub async fn set_panel(
        &self,
        caller: &Principal,
        call_id: &str,
        members: &[PanelMember],
    ) -> AllocationResult<Panel> {
        let call = self.coordinated_call(caller, call_id, "call_id").await?;
        self.store.set_panel(&call.id, members).await?;
        let members = self.store.panel(&call.id).await?;
        let independent: Vec<bool> = members.iter().map(|member| member.independent).collect();
        Ok(Panel {
            call_id: call.id,
            independent_share: review::independent_share(&independent),
            members,
        })
    }

    /// The call's units granted, delivered and lost, against TA-6's denominator.
    pub async fn ledger(&self, caller: &Principal, call_id: &str) -> AllocationResult<Ledger> {
        let call = self.coordinated_call(caller, call_id, "call_id").await?;
        let units = self.store.ledger_units(&call.id).await?;
        Ok(Ledger::measure(
            &call.id,
            call.planned_units(),
            units,
            call.non_eu_cap_percent(),
        ))
    }
}
