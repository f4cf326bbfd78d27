//! Ranking (TA-7: merit plus priority bonuses) and the allocation run (`domain::allocations`:
//! TA-6 cap, country caps, capacity, partial grants) on a call's stored proposals.

use rti_platform::auth::Principal;
use rti_platform::ids::new_id;
use rti_platform::time::now_micros;

use super::{AllocationService, coordinates, oversees, rulebook};
use crate::domain::allocations::{self, Allocation};
use crate::domain::calls::Call;
use crate::domain::evaluation;
use crate::domain::proposals::Proposal;
use crate::domain::review::{self, Ranked};
use crate::domain::{CallStatus, Lane, ProposalStatus};
use crate::error::{AllocationError, AllocationResult};

/// What `RunAllocation` returns: the allocation and whether it was only a trial.
#[derive(Debug, Clone)]
pub struct AllocationRun {
    pub allocation: Allocation,
    pub dry_run: bool,
}

impl AllocationService {
    /// Every proposal of the call in review or decided, best first.
    pub async fn ranking(&self, caller: &Principal, call_id: &str) -> AllocationResult<(String, Vec<Ranked>)> {
        let call = self.coordinated_call(caller, call_id, "call_id").await?;
        let ranked = self.rank(&call).await?.into_iter().map(|(entry, _)| entry).collect();
        Ok((call.id, ranked))
    }

    async fn rank(&self, call: &Call) -> AllocationResult<Vec<(Ranked, Proposal)>> {
        let rules = rulebook(call)?;
        let mut ranked = Vec::new();
        for proposal in self.store.call_proposals(&call.id).await? {
            if proposal.status == Some(ProposalStatus::Withdrawn) || proposal.lane != Some(Lane::Transnational) {
                continue;
            }
            let (view, parts) = self.rules_and_parts(call, &proposal).await?;
            let (bonus, reasons) = evaluation::best_priority_bonus(view.rules(), &parts);
            let mean = proposal.mean_score().unwrap_or(0.0);
            let entry = Ranked {
                proposal_id: proposal.id.clone(),
                rank: 0,
                mean_score: mean,
                priority_bonus: bonus,
                bonus_reasons: reasons,
                total: mean + bonus,
                reviews: i32::try_from(proposal.reviews.len()).unwrap_or(i32::MAX),
                eligibility: proposal.eligibility,
                not_allocatable_reason: proposal.not_allocatable(rules.score_threshold),
            };
            ranked.push((entry, proposal));
        }
        review::rank(&mut ranked);
        Ok(ranked)
    }

    /// Runs the optimiser on the call's allocatable proposals; unless a dry run, the coordinator
    /// approves it and it is stored (once per call).
    pub async fn run_allocation(
        &self,
        caller: &Principal,
        call_id: &str,
        dry_run: bool,
    ) -> AllocationResult<AllocationRun> {
        let call = self.coordinated_call(caller, call_id, "call_id").await?;
        if call.status != Some(CallStatus::Open) && !dry_run {
            return Err(AllocationError::FailedPrecondition(format!(
                "call {} is already allocated; an allocation is approved once",
                call.id
            )));
        }
        let ranked = self.rank(&call).await?;
        let held_elsewhere = self
            .store
            .non_eu_granted_elsewhere(&call.grant_agreement, &call.id)
            .await?;
        rulebook(&call)?;
        // The solver (the LP bound by column generation) is CPU work: off the async workers.
        let planning = call.clone();
        let planned = tokio::task::spawn_blocking(move || {
            let rules = rulebook(&planning)?;
            allocations::plan(&planning, rules, &ranked, held_elsewhere)
                .map_err(|error| AllocationError::Corrupt(error.to_string()))
        })
        .await
        .map_err(|error| AllocationError::Task(format!("the allocation solver stopped: {error}")))??;
        let allocation = Allocation {
            id: new_id(),
            approved_by: if dry_run { String::new() } else { caller.subject.clone() },
            created_at: Some(now_micros()),
            ..planned
        };
        if !dry_run {
            self.store.store_allocation(&call, &allocation).await?;
        }
        Ok(AllocationRun { allocation, dry_run })
    }

    /// The call's stored allocation; callers who neither oversee every call nor coordinate this
    /// one see only the lines of proposals they may see.
    pub async fn get_allocation(&self, caller: &Principal, call_id: &str) -> AllocationResult<Allocation> {
        let call = self.open_call(call_id, "call_id").await?;
        let mut allocation = self.store.get_allocation(&call.id).await?;
        if !oversees(caller) && !coordinates(caller, &call) {
            let mut lines = Vec::new();
            for line in allocation.lines {
                let proposal = self.store.get_proposal(&line.proposal_id).await?;
                if self.view(caller, &proposal).await.is_ok() {
                    lines.push(line);
                }
            }
            allocation.lines = lines;
        }
        Ok(allocation)
    }
}
