//! The periodic sweep: held slots past their expiry are ended and their units freed; offers
//! interrupted between the registry's reservation and this store's write (PENDING for longer than
//! the grace period) are ended and released; releases that failed are retried.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::AllocationService;

/// Sweeps every `interval` until `shutdown` fires.
pub async fn run(service: AllocationService, interval: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(error) = service.sweep_slots().await {
            tracing::warn!(%error, "slot sweep failed; retrying on the next round");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
