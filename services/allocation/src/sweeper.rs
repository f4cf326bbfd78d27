//! The periodic sweep: held slots past their expiry are ended and their units freed; offers
//! interrupted between the registry's reservation and this store's write (PENDING for longer than
//! the grace period) are ended and released; releases that failed are retried.

use rti_platform::time::now_micros;
use tokio_util::sync::CancellationToken;

use crate::config::Options;
use crate::error::AllocationResult;
use crate::grpc::AllocationApi;
use crate::store::PENDING;

pub async fn run(api: AllocationApi, options: Options, shutdown: CancellationToken) {
    loop {
        if let Err(error) = sweep(&api, &options).await {
            tracing::warn!(%error, "slot sweep failed; retrying on the next round");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.sweep_interval) => {}
        }
    }
}

/// One round; returns how many slots it ended.
pub async fn sweep(api: &AllocationApi, options: &Options) -> AllocationResult<usize> {
    let now = now_micros();
    let grace = i64::try_from(options.pending_grace.as_micros()).unwrap_or(i64::MAX);
    let interrupted = api.store.slots_due(PENDING, now.saturating_sub(grace)).await?;
    for slot_id in &interrupted {
        tracing::info!(slot_id, "releasing an interrupted offer");
        api.abandon(slot_id).await?;
    }
    let expired = api.store.slots_due("SLOT_STATUS_HELD", now).await?;
    for slot_id in &expired {
        tracing::info!(slot_id, "a hold expired; freeing its units");
        api.expire(slot_id).await?;
    }
    for slot_id in api.store.unreleased().await? {
        api.release(&slot_id).await;
    }
    Ok(interrupted.len() + expired.len())
}
