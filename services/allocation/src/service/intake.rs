//! Intake's events as the feed receives them: a TA request in review becomes a proposal here,
//! evaluated at once; an accepted industrial-lane request waits for the operator's slots; a
//! withdrawn or declined one leaves review and its slots end; one that re-screening against a
//! newer sanctions list found a MATCH has its slots suspended until intake's review resumes it
//! (SEC-3). Each change is stored with the stream's cursor, so a replay changes nothing twice.

use rti_proto::common::Event;
use rti_proto::common::event::Payload;
use rti_proto::intake::{AccessRequestStatus, AccessRequestStatusChanged, Lane, ScreeningVerdict};

use super::AllocationService;
use crate::error::{AllocationError, AllocationResult};

/// The name of intake's stream in the store's cursors.
const SOURCE: &str = "intake";

/// Why an event without a payload is not applied.
const NO_PAYLOAD: &str = "no payload: it did not decode where it was written";

/// Why the slots of a request re-screening found a MATCH for are suspended (SEC-3).
const SUSPENDED: &str = "a party of the request matches a party listed on a newer EU sanctions list version \
    (SEC-1, SEC-3); suspended until intake's compliance review decides";

impl AllocationService {
    /// Intake's events after the stored cursor.
    pub async fn intake_events(&self) -> AllocationResult<tonic::Streaming<Event>> {
        let after = self.store.cursor(SOURCE).await?;
        self.peers
            .intake_events(after)
            .await
            .map_err(|status| AllocationError::upstream("intake", &status))
    }

    /// Applies one of intake's events, and moves the cursor past it in the same transaction. An
    /// event whose payload did not decode at intake (a poison event) is logged and recorded in
    /// `feed_rejections` as the cursor moves past it: dropping it without a word would lose a
    /// status change unseen, and stopping at it would stop the feed (issue 15, faults).
    pub async fn apply_intake_event(&self, event: Event) -> AllocationResult<()> {
        match event.payload {
            Some(Payload::AccessRequestStatusChanged(change)) => {
                self.apply_status_change(&change, event.sequence).await
            }
            None => {
                tracing::warn!(
                    sequence = event.sequence,
                    event_id = %event.id,
                    event_type = %event.r#type,
                    reason = NO_PAYLOAD,
                    "an event of intake cannot be applied; recorded in feed_rejections and skipped"
                );
                self.store
                    .reject_event(SOURCE, event.sequence, &event.id, &event.r#type, NO_PAYLOAD)
                    .await
            }
            Some(_) => self.store.advance_cursor(SOURCE, event.sequence).await,
        }
    }

    async fn apply_status_change(&self, change: &AccessRequestStatusChanged, sequence: i64) -> AllocationResult<()> {
        let cursor = Some((SOURCE, sequence));
        let id = change.access_request_id.as_str();
        // SEC-3: re-screening held a request already under way (not one just submitted).
        let rescreened =
            change.to() == AccessRequestStatus::Screening && change.from() != AccessRequestStatus::Submitted;
        let resumed = change.from() == AccessRequestStatus::Screening
            && matches!(
                change.to(),
                AccessRequestStatus::InReview
                    | AccessRequestStatus::Accepted
                    | AccessRequestStatus::Quoted
                    | AccessRequestStatus::Feasibility
            )
            && self.store.find_proposal(id).await?.is_some();
        let applied = match (change.lane(), change.to()) {
            _ if rescreened && change.screening_verdict() == ScreeningVerdict::Match => {
                self.store.set_suspension(id, SUSPENDED, cursor).await?;
                true
            }
            _ if resumed => {
                self.store.set_suspension(id, "", cursor).await?;
                true
            }
            (Lane::Transnational, AccessRequestStatus::InReview) => {
                match self.peers.access_request(&change.access_request_id).await? {
                    Some(request) => {
                        self.receive_proposal(&request, cursor).await?;
                        true
                    }
                    None => false,
                }
            }
            (Lane::Industrial, AccessRequestStatus::Accepted) => {
                match self.peers.access_request(&change.access_request_id).await? {
                    Some(request) if self.store.find_proposal(&request.id).await?.is_none() => {
                        self.receive_industrial(&request, cursor).await?;
                        true
                    }
                    _ => false,
                }
            }
            (_, AccessRequestStatus::Withdrawn | AccessRequestStatus::Declined) => {
                self.withdraw(&change.access_request_id).await?;
                false
            }
            _ => false,
        };
        if !applied {
            self.store.advance_cursor(SOURCE, sequence).await?;
        }
        Ok(())
    }
}
