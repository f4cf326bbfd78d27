//! Follows intake's event stream: a transnational-access request that reaches IN_REVIEW becomes
//! a proposal here, evaluated at once; an accepted industrial-lane request waits for the
//! operator's slots (no panel); one withdrawn or declined leaves review. The stream's
//! cursor is stored with the change each event causes, so a restart resumes without loss and a
//! replay changes nothing twice.

use std::time::Duration;

use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use rti_proto::intake::{AccessRequestStatus, AccessRequestStatusChanged, Lane};
use tokio_util::sync::CancellationToken;

use crate::error::AllocationResult;
use crate::grpc::AllocationApi;

const SOURCE: &str = "intake";
const RETRY: Duration = Duration::from_secs(1);

pub async fn run(api: AllocationApi, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = follow(&api) => {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "following intake's events failed; reconnecting");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

async fn follow(api: &AllocationApi) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let after = api.store.cursor(SOURCE).await?;
    let mut events = api.peers.intake_events(after).await?;
    while let Some(event) = events.message().await? {
        match event.payload {
            Some(Payload::AccessRequestStatusChanged(change)) => apply(api, &change, event.sequence).await?,
            _ => api.store.advance_cursor(SOURCE, event.sequence).await?,
        }
    }
    Ok(())
}

async fn apply(api: &AllocationApi, change: &AccessRequestStatusChanged, sequence: i64) -> AllocationResult<()> {
    let cursor = Some((SOURCE, sequence));
    match (change.lane(), change.to()) {
        (Lane::Transnational, AccessRequestStatus::InReview) => {
            let Some(request) = api.peers.access_request(&change.access_request_id).await? else {
                return api.store.advance_cursor(SOURCE, sequence).await;
            };
            api.receive_proposal(&request, cursor).await?;
            Ok(())
        }
        (Lane::Industrial, AccessRequestStatus::Accepted) => {
            let Some(request) = api.peers.access_request(&change.access_request_id).await? else {
                return api.store.advance_cursor(SOURCE, sequence).await;
            };
            if api.store.find_proposal(&request.id).await?.is_some() {
                return api.store.advance_cursor(SOURCE, sequence).await;
            }
            api.receive_industrial(&request, cursor).await?;
            Ok(())
        }
        (_, AccessRequestStatus::Withdrawn | AccessRequestStatus::Declined) => {
            match api.store.find_proposal(&change.access_request_id).await? {
                Some(mut proposal) => {
                    proposal.set_status(proto::ProposalStatus::Withdrawn);
                    api.store.save_proposal(&proposal, cursor, Vec::new()).await
                }
                None => api.store.advance_cursor(SOURCE, sequence).await,
            }
        }
        _ => api.store.advance_cursor(SOURCE, sequence).await,
    }
}
