//! The re-screening worker (SEC-3): after a sanctions list import, and every few minutes for
//! imports made through another replica, it screens the open requests against the newest
//! version until the runs are finished. A restart resumes an unfinished run; requests already
//! screened against the version are skipped.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::IntakeService;

/// How often the worker looks for runs started elsewhere, or left after a failure.
pub const POLL: Duration = Duration::from_secs(60);

/// Runs passes until `shutdown` fires.
pub async fn run(service: IntakeService, shutdown: CancellationToken) {
    let wakeup = service.rescreen_wakeup();
    loop {
        if let Err(error) = service.run_pending_rescreenings().await {
            tracing::warn!(%error, "re-screening failed; it resumes at the next pass");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wakeup.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
