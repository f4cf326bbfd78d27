//! Slots: offer → hold (units reserved in the registry until expiry) → the applicant accepts →
//! the operator confirms → delivery recorded. An ended slot (declined, expired, or its request
//! withdrawn or declined in intake) releases its reservation; the release is retried until the
//! registry confirms it. The sweep ends holds past their expiry and offers interrupted between
//! the registry and the store.

use std::time::Duration;

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::ids::new_id;
use rti_platform::time::now_micros;
use rti_platform::validate::text;
use rti_proto::intake;

use super::{AllocationService, denied};
use crate::domain::proposals::Proposal;
use crate::domain::slots::{self, NewOffer, Screened, Slot, SlotUpdate};
use crate::domain::{Lane, ProposalStatus, SlotStatus};
use crate::error::{AllocationError, AllocationResult};
use crate::store::OfferStart;

use SlotStatus::{Accepted, Confirmed, Declined, Delivered, Expired, Held, Pending};

/// Why the slots of a request withdrawn or declined in intake ended.
const REQUEST_ENDED: &str = "the access request was withdrawn or declined; its units were released";

/// An operator's offer, validated.
#[derive(Debug, Clone)]
pub struct OfferCommand {
    pub request_id: String,
    pub access_request_id: String,
    pub installation_id: String,
    pub window_id: String,
    pub units: i64,
    /// 0 for the default hold.
    pub hold_seconds: i64,
}

/// The operator's word on a confirmed slot, as sent.
#[derive(Debug, Clone)]
pub struct DeliveryCommand {
    pub slot_id: String,
    pub delivered_units: i64,
    pub lost_units: i64,
    pub lost_reason: String,
}

/// A request's slots, and whether every requested installation has a confirmed one.
#[derive(Debug, Clone)]
pub struct RequestSlots {
    pub slots: Vec<Slot>,
    pub scheduled: bool,
}

impl AllocationService {
    /// The proposal an offer is for: a stored one, or an industrial-lane request accepted in
    /// intake, stored here on its first offer (no panel, no call).
    async fn offer_target(&self, access_request_id: &str) -> AllocationResult<Proposal> {
        if let Some(proposal) = self.store.find_proposal(access_request_id).await? {
            return Ok(proposal);
        }
        let request = self
            .peers
            .access_request(access_request_id)
            .await?
            .ok_or_else(|| AllocationError::not_found("access request", access_request_id))?;
        if request.lane() != intake::Lane::Industrial || request.status() != intake::AccessRequestStatus::Accepted {
            return Err(AllocationError::FailedPrecondition(format!(
                "request {access_request_id} is not an accepted industrial-lane request nor a proposal of a call"
            )));
        }
        self.receive_industrial(&request, None).await
    }

    /// An operator offers units of a capacity window to a granted proposal (or an accepted
    /// industrial-lane request); the registry holds them until the applicant answers.
    pub async fn offer_slot(&self, caller: &Principal, command: OfferCommand) -> AllocationResult<Slot> {
        let proposal = self.offer_target(&command.access_request_id).await?;
        let Some(requested) = proposal.requested_at(&command.installation_id) else {
            return Err(InvalidInput::single("installation_id", "is not requested by this access request").into());
        };
        let infrastructure_id = self.infrastructure_of(&proposal, &command.installation_id).await?;
        if !caller.operates(&infrastructure_id) {
            return Err(denied(format!(
                "you do not operate installation {}",
                command.installation_id
            )));
        }
        let entitled_units = match proposal.lane {
            _ if proposal.status == Some(ProposalStatus::Withdrawn) => {
                return Err(AllocationError::FailedPrecondition(format!(
                    "request {} was withdrawn or declined: it gets no slot",
                    proposal.id
                )));
            }
            Some(Lane::Industrial) => requested.units,
            _ if proposal.status == Some(ProposalStatus::Granted) => {
                self.store.granted_units(&proposal.id, &command.installation_id).await?
            }
            _ => {
                return Err(AllocationError::FailedPrecondition(format!(
                    "proposal {} is {}: slots follow a grant",
                    proposal.id,
                    ProposalStatus::stored_name(proposal.status)
                )));
            }
        };
        let hold = slots::hold_seconds(command.hold_seconds);
        let offer = NewOffer {
            slot_id: new_id(),
            offer_key: format!("{}:{}", caller.subject, command.request_id),
            proposal_id: proposal.id.clone(),
            installation_id: command.installation_id.clone(),
            infrastructure_id,
            window_id: command.window_id.clone(),
            units: command.units,
            expire_at: now_micros().saturating_add(hold.saturating_mul(1_000_000)),
            entitled_units,
        };
        let slot = match self.store.begin_offer(&offer).await? {
            OfferStart::Existing(slot) if !slot.pending() => return Ok(slot),
            OfferStart::Existing(slot) => slot,
            OfferStart::New(slot) => slot,
        };
        self.hold(&slot).await
    }

    fn pending_grace_micros(&self) -> i64 {
        i64::try_from(self.options.pending_grace.as_micros()).unwrap_or(i64::MAX)
    }

    /// How long a reservation for a PENDING slot may still take, or `None` when it is too late
    /// to ask (issue 13, item 7).
    ///
    /// The sweeper ends a slot still PENDING `pending_grace` after its offer began and releases
    /// its reservation id; a reservation the registry commits after that release would hold
    /// units for no slot. So every attempt, a retry's included, carries a gRPC deadline that
    /// ends half the grace after the offer began. The deadline travels as `grpc-timeout` and
    /// the registry's server enforces it too, from the moment the call reaches it: a call still
    /// running then is dropped and its transaction rolled back, so nothing is reserved after
    /// it. The other half of the grace is the margin for the call's transit and for a commit
    /// already under way when the deadline fires. A deadline was chosen over reservations with
    /// an expiry of their own in the registry: it needs no second clock there, and a confirmed
    /// slot's booking never has to be renewed.
    fn reservation_deadline(&self, slot: &Slot) -> Option<Duration> {
        let ends_at = slot.created_at.saturating_add(self.pending_grace_micros() / 2);
        let left = ends_at.saturating_sub(now_micros());
        u64::try_from(left)
            .ok()
            .filter(|micros| *micros > 0)
            .map(Duration::from_micros)
    }

    /// Reserves a PENDING slot's units in the registry (idempotent on the slot id) and marks it
    /// HELD; if its request was withdrawn meanwhile, the hold ends at once.
    async fn hold(&self, slot: &Slot) -> AllocationResult<Slot> {
        let Some(deadline) = self.reservation_deadline(slot) else {
            // The sweeper may already be ending the slot: a reservation now could outlive it.
            return Err(AllocationError::FailedPrecondition(format!(
                "the offer {} was interrupted and is being withdrawn; offer again with a new request_id",
                slot.id
            )));
        };
        if let Err(error) = self
            .peers
            .reserve(&slot.id, &slot.installation_id, &slot.window_id, slot.units, deadline)
            .await
        {
            if let AllocationError::Upstream { code, .. } = &error
                && !matches!(
                    code,
                    // Cancelled: the deadline fired (tonic's name for it); whether the registry
                    // committed just before is unknown.
                    tonic::Code::Unavailable
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::Cancelled
                        | tonic::Code::Unknown
                )
            {
                // The registry refused (no capacity, unknown window): nothing is held.
                let update = SlotUpdate {
                    reason: Some(format!("the registry refused the reservation: {error}")),
                    ..SlotUpdate::default()
                };
                self.store.transition(&slot.id, &[Pending], Declined, update).await?;
                self.store.mark_released(&slot.id).await?;
            }
            // Otherwise the slot stays PENDING: the sweeper releases whatever was taken.
            return Err(error);
        }
        if self.options.crash_after_reservation {
            return Err(AllocationError::FailedPrecondition(
                "injected crash: the registry holds the units and the slot is not yet written as held".to_owned(),
            ));
        }
        let held = self
            .store
            .transition(&slot.id, &[Pending], Held, SlotUpdate::default())
            .await?;
        // A withdrawal that listed the request's slots while this one was PENDING left it to
        // this check, which runs after the withdrawal was stored.
        let proposal = self.store.get_proposal(&held.access_request_id).await?;
        if proposal.status == Some(ProposalStatus::Withdrawn) {
            self.end(&held.id, &[Held], Declined, REQUEST_ENDED).await?;
            return Err(AllocationError::FailedPrecondition(format!(
                "request {} was withdrawn or declined meanwhile; the slot ended",
                proposal.id
            )));
        }
        Ok(held)
    }

    /// The slot, if `caller` is the applicant of the request's organisation or operates the
    /// slot's installation (as `applicant` and `operator` allow).
    async fn slot_for(
        &self,
        caller: &Principal,
        slot_id: &str,
        applicant: bool,
        operator: bool,
    ) -> AllocationResult<Slot> {
        if slot_id.is_empty() {
            return Err(InvalidInput::single("slot_id", "is required").into());
        }
        let slot = self.store.get_slot(slot_id).await?;
        if caller.is_admin() {
            return Ok(slot);
        }
        if operator && caller.operates(&slot.infrastructure_id) {
            return Ok(slot);
        }
        if applicant {
            let proposal = self.store.get_proposal(&slot.access_request_id).await?;
            if caller.is_applicant_of(&proposal.organisation_id) {
                return Ok(slot);
            }
        }
        Err(denied(format!("slot {slot_id} is not yours")))
    }

    /// The applicant accepts a held slot, unless its hold expired.
    pub async fn accept_slot(&self, caller: &Principal, slot_id: &str) -> AllocationResult<Slot> {
        let slot = self.slot_for(caller, slot_id, true, false).await?;
        if slot.hold_expired(now_micros()) {
            self.expire(slot_id).await?;
            return Err(AllocationError::FailedPrecondition(format!(
                "the hold on slot {slot_id} expired; its units are free again"
            )));
        }
        self.store
            .transition(slot_id, &[Held], Accepted, SlotUpdate::default())
            .await
    }

    /// The applicant or the operator declines a slot not yet confirmed; its units are freed.
    pub async fn decline_slot(&self, caller: &Principal, slot_id: &str, reason: &str) -> AllocationResult<Slot> {
        self.slot_for(caller, slot_id, true, true).await?;
        let update = SlotUpdate {
            reason: Some(reason.trim().to_owned()),
            ..SlotUpdate::default()
        };
        let slot = self
            .store
            .transition(slot_id, &[Held, Accepted], Declined, update)
            .await?;
        self.release(slot_id).await;
        Ok(slot)
    }

    /// The operator confirms an accepted slot.
    pub async fn confirm_slot(&self, caller: &Principal, slot_id: &str) -> AllocationResult<Slot> {
        let slot = self.slot_for(caller, slot_id, false, true).await?;
        // SEC-3: screened again against the newest list before the visit is confirmed.
        let request = self.peers.rescreen(&slot.access_request_id).await?;
        let screened = match request.status() {
            intake::AccessRequestStatus::Screening => Screened::Held,
            intake::AccessRequestStatus::Declined | intake::AccessRequestStatus::Withdrawn => Screened::Ended,
            _ => Screened::Cleared,
        };
        if let Some(refusal) = slots::confirmation_refusal(&slot.access_request_id, screened) {
            return Err(AllocationError::FailedPrecondition(refusal));
        }
        self.store
            .transition(slot_id, &[Accepted], Confirmed, SlotUpdate::default())
            .await
    }

    /// The operator's word on a confirmed slot: units delivered and lost.
    pub async fn record_delivery(&self, caller: &Principal, command: DeliveryCommand) -> AllocationResult<Slot> {
        let slot = self.slot_for(caller, &command.slot_id, false, true).await?;
        let mut violations = Violations::new();
        slots::check_delivery(slot.units, command.delivered_units, command.lost_units, &mut violations);
        let lost_reason = text(
            &command.lost_reason,
            "lost_reason",
            2_000,
            command.lost_units > 0,
            &mut violations,
        );
        violations.into_result()?;
        let update = SlotUpdate {
            delivered_units: Some(command.delivered_units),
            lost_units: Some(command.lost_units),
            lost_reason: Some(lost_reason),
            reason: None,
        };
        self.store
            .transition(&command.slot_id, &[Confirmed], Delivered, update)
            .await
    }

    /// A request's slots, for whoever may see the request.
    pub async fn list_slots(&self, caller: &Principal, access_request_id: &str) -> AllocationResult<RequestSlots> {
        let (proposal, _) = self
            .find_visible(caller, access_request_id, "access_request_id")
            .await?;
        let slots = self.store.slots_of(access_request_id).await?;
        let scheduled = self.store.scheduled(&proposal.id, proposal.requested.len()).await?;
        Ok(RequestSlots { slots, scheduled })
    }

    /// One sweep: ends offers interrupted for longer than the grace period and holds past their
    /// expiry, freeing their units, and retries releases that failed. Returns how many slots
    /// it ended.
    pub async fn sweep_slots(&self) -> AllocationResult<usize> {
        let now = now_micros();
        let interrupted = self
            .store
            .slots_due(Pending, now.saturating_sub(self.pending_grace_micros()))
            .await?;
        for slot_id in &interrupted {
            tracing::info!(slot_id, "releasing an interrupted offer");
            self.abandon(slot_id).await?;
        }
        let expired = self.store.slots_due(Held, now).await?;
        for slot_id in &expired {
            tracing::info!(slot_id, "a hold expired; freeing its units");
            self.expire(slot_id).await?;
        }
        for slot_id in self.store.unreleased().await? {
            self.release(&slot_id).await;
        }
        Ok(interrupted.len() + expired.len())
    }

    /// Ends a held slot whose time is up, then frees its units.
    async fn expire(&self, slot_id: &str) -> AllocationResult<()> {
        let reason = "the hold expired before the applicant accepted";
        self.end(slot_id, &[Held], Expired, reason).await
    }

    /// Ends an offer interrupted between the registry and this store, then frees what the
    /// registry may hold for it.
    async fn abandon(&self, slot_id: &str) -> AllocationResult<()> {
        let reason = "the offer was interrupted before the hold was recorded; its units were released";
        self.end(slot_id, &[Pending], Expired, reason).await
    }

    /// Issue 13, item 7: ends every slot of a request withdrawn or declined in intake that
    /// holds or books capacity, and frees its units. A slot still PENDING is ended by `hold`
    /// once its reservation answers, or by the sweep if it never does.
    pub(super) async fn end_slots_of(&self, access_request_id: &str) -> AllocationResult<()> {
        let live = [Held, Accepted, Confirmed];
        for slot in self.store.slots_of(access_request_id).await? {
            if live.contains(&slot.status) {
                self.end(&slot.id, &live, Declined, REQUEST_ENDED).await?;
            }
        }
        Ok(())
    }

    /// Moves a slot from one of `from` to `to`, then frees its units. When a concurrent step
    /// moved the slot first, its units are freed only if that step ended it too: a hold the
    /// applicant accepted meanwhile, or a booking delivered meanwhile, keeps its reservation.
    async fn end(&self, slot_id: &str, from: &[SlotStatus], to: SlotStatus, reason: &str) -> AllocationResult<()> {
        let update = SlotUpdate {
            reason: Some(reason.to_owned()),
            ..SlotUpdate::default()
        };
        match self.store.transition(slot_id, from, to, update).await {
            Ok(_) => {}
            Err(AllocationError::FailedPrecondition(_)) => {
                if !SlotStatus::ENDED.contains(&self.store.get_slot(slot_id).await?.status) {
                    return Ok(());
                }
            }
            Err(error) => return Err(error),
        }
        self.release(slot_id).await;
        Ok(())
    }

    /// Releases an ended slot's reservation; on failure the sweeper tries again.
    async fn release(&self, slot_id: &str) {
        match self.peers.release(slot_id).await {
            Ok(()) => {
                if let Err(error) = self.store.mark_released(slot_id).await {
                    tracing::warn!(slot_id, %error, "released in the registry; will mark it on the next sweep");
                }
            }
            Err(error) => tracing::warn!(slot_id, %error, "the registry did not release the slot yet; retrying later"),
        }
    }
}
