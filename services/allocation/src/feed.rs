//! Follows intake's event stream and hands each event to the application layer, which stores
//! the change it causes with the stream's cursor: a restart resumes without loss and a replay
//! changes nothing twice. A broken stream is followed again after a pause.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::AllocationResult;
use crate::service::AllocationService;

const RETRY: Duration = Duration::from_secs(1);

/// Follows intake's events until `shutdown` fires.
pub async fn run(service: AllocationService, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = follow(&service) => {
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

async fn follow(service: &AllocationService) -> AllocationResult<()> {
    let mut events = service.intake_events().await?;
    while let Some(event) = events
        .message()
        .await
        .map_err(|status| crate::error::AllocationError::upstream("intake", &status))?
    {
        service.apply_intake_event(event).await?;
    }
    Ok(())
}
