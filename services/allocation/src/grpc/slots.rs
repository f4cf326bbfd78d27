//! Slots: offer → hold (units reserved in the registry until expiry) → the applicant accepts →
//! the operator confirms → delivery recorded. An ended slot (declined, expired) releases its
//! reservation; the release is retried until the registry confirms it.

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::ids::new_id;
use rti_platform::time::{micros_from_timestamp, now_micros};
use rti_proto::allocation as proto;
use rti_proto::intake;

use super::validate;
use super::{AllocationApi, denied};
use crate::error::{AllocationError, AllocationResult};
use crate::store::{NewOffer, OfferStart, PENDING, SlotUpdate, StoredSlot};

const DEFAULT_HOLD_SECONDS: i64 = 7 * 24 * 3600;
const MAX_HOLD_SECONDS: i64 = 30 * 24 * 3600;

const HELD: &str = "SLOT_STATUS_HELD";
const ACCEPTED: &str = "SLOT_STATUS_ACCEPTED";
const CONFIRMED: &str = "SLOT_STATUS_CONFIRMED";

impl AllocationApi {
    /// The proposal an offer is for: a stored one, or an industrial-lane request accepted in
    /// intake, stored here on its first offer (no panel, no call).
    async fn offer_target(&self, access_request_id: &str) -> AllocationResult<proto::Proposal> {
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

    /// An accepted industrial-lane request, stored for the operator's slots: no panel, no call.
    pub(crate) async fn receive_industrial(
        &self,
        request: &intake::AccessRequest,
        cursor: Option<(&str, i64)>,
    ) -> AllocationResult<proto::Proposal> {
        let proposal = proto::Proposal {
            id: request.id.clone(),
            lane: proto::Lane::Industrial.into(),
            status: proto::ProposalStatus::Granted.into(),
            organisation_id: request.organisation_id.clone(),
            requested: request
                .installations
                .iter()
                .map(|part| proto::RequestedUnits {
                    installation_id: part.installation_id.clone(),
                    units: part.units,
                })
                .collect(),
            create_time: request.create_time,
            ..proto::Proposal::default()
        };
        self.store.save_proposal(&proposal, cursor, Vec::new()).await?;
        self.store.get_proposal(&proposal.id).await
    }

    pub(crate) async fn offer(
        &self,
        caller: &Principal,
        message: proto::OfferSlotRequest,
    ) -> AllocationResult<proto::Slot> {
        let mut violations = Violations::new();
        validate::request_id(&message.request_id, "request_id", &mut violations);
        validate::reference(&message.access_request_id, "access_request_id", &mut violations);
        validate::reference(&message.installation_id, "installation_id", &mut violations);
        validate::text(&message.window_id, "window_id", 128, true, &mut violations);
        if message.units <= 0 {
            violations.add("units", "must be greater than 0");
        }
        if !(0..=MAX_HOLD_SECONDS).contains(&message.hold_seconds) {
            violations.add(
                "hold_seconds",
                format!("must be 1 to {MAX_HOLD_SECONDS} (0 for 7 days)"),
            );
        }
        violations.into_result()?;
        let proposal = self.offer_target(&message.access_request_id).await?;
        let Some(requested) = proposal
            .requested
            .iter()
            .find(|part| part.installation_id == message.installation_id)
        else {
            return Err(InvalidInput::single("installation_id", "is not requested by this access request").into());
        };
        let infrastructure_id = self.infrastructure_of(&proposal, &message.installation_id).await?;
        if !caller.operates(&infrastructure_id) {
            return Err(denied(format!(
                "you do not operate installation {}",
                message.installation_id
            )));
        }
        let entitled_units = match proposal.lane() {
            proto::Lane::Industrial => requested.units,
            _ if proposal.status() == proto::ProposalStatus::Granted => {
                self.store.granted_units(&proposal.id, &message.installation_id).await?
            }
            _ => {
                return Err(AllocationError::FailedPrecondition(format!(
                    "proposal {} is {}: slots follow a grant",
                    proposal.id,
                    proposal.status().as_str_name()
                )));
            }
        };
        let hold = if message.hold_seconds == 0 {
            DEFAULT_HOLD_SECONDS
        } else {
            message.hold_seconds
        };
        let offer = NewOffer {
            slot_id: new_id(),
            offer_key: format!("{}:{}", caller.subject, message.request_id),
            proposal_id: proposal.id.clone(),
            installation_id: message.installation_id.clone(),
            infrastructure_id,
            window_id: message.window_id.clone(),
            units: message.units,
            expire_at: now_micros().saturating_add(hold.saturating_mul(1_000_000)),
            entitled_units,
        };
        let stored = match self.store.begin_offer(&offer).await? {
            OfferStart::Existing(stored) if !stored.pending => return Ok(stored.slot),
            OfferStart::Existing(stored) => {
                // A retry of an interrupted offer resumes it, unless the sweeper may already be
                // ending it (then the reservation could outlive the slot).
                let created = stored.slot.create_time.as_ref().map_or(0, micros_from_timestamp);
                let grace = i64::try_from(self.options.pending_grace.as_micros()).unwrap_or(i64::MAX);
                if now_micros() - created >= grace {
                    return Err(AllocationError::FailedPrecondition(format!(
                        "the offer {} was interrupted and is being withdrawn; offer again with a new request_id",
                        stored.slot.id
                    )));
                }
                stored
            }
            OfferStart::New(stored) => stored,
        };
        self.hold(&stored).await
    }

    /// Reserves a PENDING slot's units in the registry (idempotent on the slot id) and marks it HELD.
    async fn hold(&self, stored: &StoredSlot) -> AllocationResult<proto::Slot> {
        let slot = &stored.slot;
        if let Err(error) = self.peers.reserve(&slot.id, &slot.window_id, slot.units).await {
            if let AllocationError::Upstream { code, .. } = &error
                && !matches!(
                    code,
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
                )
            {
                // The registry refused (no capacity, unknown window): nothing is held.
                let update = SlotUpdate {
                    reason: Some(format!("the registry refused the reservation: {error}")),
                    ..SlotUpdate::default()
                };
                self.store
                    .transition(&slot.id, &[PENDING], proto::SlotStatus::Declined, update)
                    .await?;
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
        self.store
            .transition(&slot.id, &[PENDING], proto::SlotStatus::Held, SlotUpdate::default())
            .await
    }

    /// The slot and its request, if `caller` is the applicant of the request's organisation or
    /// operates the slot's installation (as `allowed` says).
    async fn slot_for(
        &self,
        caller: &Principal,
        slot_id: &str,
        applicant: bool,
        operator: bool,
    ) -> AllocationResult<StoredSlot> {
        if slot_id.is_empty() {
            return Err(InvalidInput::single("slot_id", "is required").into());
        }
        let stored = self.store.get_slot(slot_id).await?;
        if caller.is_admin() {
            return Ok(stored);
        }
        if operator && caller.operates(&stored.infrastructure_id) {
            return Ok(stored);
        }
        if applicant {
            let proposal = self.store.get_proposal(&stored.slot.access_request_id).await?;
            if caller.is_applicant_of(&proposal.organisation_id) {
                return Ok(stored);
            }
        }
        Err(denied(format!("slot {slot_id} is not yours")))
    }

    pub(crate) async fn accept(&self, caller: &Principal, slot_id: &str) -> AllocationResult<proto::Slot> {
        let stored = self.slot_for(caller, slot_id, true, false).await?;
        let expires = stored.slot.expire_time.as_ref().map_or(0, micros_from_timestamp);
        if stored.slot.status() == proto::SlotStatus::Held && expires <= now_micros() {
            self.expire(slot_id).await?;
            return Err(AllocationError::FailedPrecondition(format!(
                "the hold on slot {slot_id} expired; its units are free again"
            )));
        }
        self.store
            .transition(slot_id, &[HELD], proto::SlotStatus::Accepted, SlotUpdate::default())
            .await
    }

    pub(crate) async fn decline(
        &self,
        caller: &Principal,
        slot_id: &str,
        reason: &str,
    ) -> AllocationResult<proto::Slot> {
        self.slot_for(caller, slot_id, true, true).await?;
        let update = SlotUpdate {
            reason: Some(reason.trim().to_owned()),
            ..SlotUpdate::default()
        };
        let slot = self
            .store
            .transition(slot_id, &[HELD, ACCEPTED], proto::SlotStatus::Declined, update)
            .await?;
        self.release(slot_id).await;
        Ok(slot)
    }

    pub(crate) async fn confirm(&self, caller: &Principal, slot_id: &str) -> AllocationResult<proto::Slot> {
        self.slot_for(caller, slot_id, false, true).await?;
        self.store
            .transition(
                slot_id,
                &[ACCEPTED],
                proto::SlotStatus::Confirmed,
                SlotUpdate::default(),
            )
            .await
    }

    pub(crate) async fn deliver(
        &self,
        caller: &Principal,
        message: proto::RecordDeliveryRequest,
    ) -> AllocationResult<proto::Slot> {
        let stored = self.slot_for(caller, &message.slot_id, false, true).await?;
        let mut violations = Violations::new();
        if message.delivered_units < 0 {
            violations.add("delivered_units", "must be 0 or more");
        }
        if message.lost_units < 0 {
            violations.add("lost_units", "must be 0 or more");
        }
        if message.delivered_units + message.lost_units > stored.slot.units {
            violations.add(
                "delivered_units",
                format!("delivered and lost units exceed the slot's {} units", stored.slot.units),
            );
        }
        let lost_reason = validate::text(
            &message.lost_reason,
            "lost_reason",
            2_000,
            message.lost_units > 0,
            &mut violations,
        );
        violations.into_result()?;
        let update = SlotUpdate {
            delivered_units: Some(message.delivered_units),
            lost_units: Some(message.lost_units),
            lost_reason: Some(lost_reason),
            reason: None,
        };
        self.store
            .transition(&message.slot_id, &[CONFIRMED], proto::SlotStatus::Delivered, update)
            .await
    }

    /// Ends a held slot whose time is up, then frees its units.
    pub(crate) async fn expire(&self, slot_id: &str) -> AllocationResult<()> {
        let update = SlotUpdate {
            reason: Some("the hold expired before the applicant accepted".to_owned()),
            ..SlotUpdate::default()
        };
        match self
            .store
            .transition(slot_id, &[HELD], proto::SlotStatus::Expired, update)
            .await
        {
            Ok(_) | Err(AllocationError::FailedPrecondition(_)) => {}
            Err(error) => return Err(error),
        }
        self.release(slot_id).await;
        Ok(())
    }

    /// Ends an offer interrupted between the registry and this store, then frees what the
    /// registry may hold for it.
    pub(crate) async fn abandon(&self, slot_id: &str) -> AllocationResult<()> {
        let update = SlotUpdate {
            reason: Some("the offer was interrupted before the hold was recorded; its units were released".to_owned()),
            ..SlotUpdate::default()
        };
        match self
            .store
            .transition(slot_id, &[PENDING], proto::SlotStatus::Expired, update)
            .await
        {
            Ok(_) | Err(AllocationError::FailedPrecondition(_)) => {}
            Err(error) => return Err(error),
        }
        self.release(slot_id).await;
        Ok(())
    }

    /// Releases an ended slot's reservation; on failure the sweeper tries again.
    pub(crate) async fn release(&self, slot_id: &str) {
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
