//! Follows the registry's, intake's and allocation's event streams into the projections. Events
//! that are already waiting are applied together, with the stream's cursor, in one transaction:
//! a restart resumes after the last commit, and a replay changes nothing twice. An event that
//! cannot be applied (a poison event) is logged and recorded in `feed_rejections` with the
//! cursor that moves past it: one bad event never stops a stream (issue 15, faults).

mod convert;

/// The reading of other services' events, for the fuzz targets in `fuzz/` only.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use super::convert::change_of;
}

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::domain::projection::Rejection;
use crate::peers::{Peers, Source};
use crate::store::ReportingStore;

const RETRY: Duration = Duration::from_secs(1);
/// Events applied per transaction at most, when a backlog is waiting.
const BATCH: usize = 500;

/// Follows `source` until `shutdown` fires, reconnecting after a failure.
pub async fn run(store: ReportingStore, peers: Peers, source: Source, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = follow(&store, &peers, source) => {
                if let Err(error) = outcome {
                    tracing::warn!(source = source.name(), %error, "following the event stream failed; reconnecting");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

async fn follow(
    store: &ReportingStore,
    peers: &Peers,
    source: Source,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let after = store.cursor(source.name()).await?;
    let mut batches = peers.events(source, after).await?.ready_chunks(BATCH);
    while let Some(batch) = batches.next().await {
        let mut changes = Vec::with_capacity(batch.len());
        let mut rejections = Vec::new();
        let mut last = None;
        for event in batch {
            let event = event?;
            last = Some(event.sequence);
            match convert::change_of(&event) {
                Ok(Some(change)) => changes.push(change),
                Ok(None) => {}
                Err(reason) => {
                    tracing::warn!(
                        source = source.name(),
                        sequence = event.sequence,
                        event_id = %event.id,
                        event_type = %event.r#type,
                        reason,
                        "an event cannot be applied; recorded in feed_rejections and skipped"
                    );
                    rejections.push(Rejection {
                        sequence: event.sequence,
                        event_id: event.id,
                        event_type: event.r#type,
                        reason,
                    });
                }
            }
        }
        if let Some(sequence) = last {
            store.apply(source.name(), &changes, &rejections, sequence).await?;
        }
    }
    Ok(())
}
