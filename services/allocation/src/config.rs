//! What the allocation service is configured with: where its upstreams are, and how its
//! background work runs.

use std::time::Duration;

/// Where the allocation finds the services it calls (`http://host:port`).
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// Installations, and the capacity that slots hold.
    pub registry: http::Uri,
    /// Proposals, user groups and industrial-lane requests.
    pub intake: http::Uri,
}

/// How the background work runs; the defaults suit production.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often held slots past their expiry, and interrupted offers, are swept.
    pub sweep_interval: Duration,
    /// An offer still pending (registry reservation possibly taken, slot not yet written as held)
    /// after this long was interrupted: its reservation is released.
    pub pending_grace: Duration,
    /// Follow intake's events, so proposals in review arrive by themselves.
    pub follow_intake: bool,
    /// Fault injection for the crash test: `OfferSlot` stops right after the registry has taken
    /// the reservation and before the slot is written as held, as a crash there would.
    pub crash_after_reservation: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sweep_interval: Duration::from_secs(5),
            pending_grace: Duration::from_secs(60),
            follow_intake: true,
            crash_after_reservation: false,
        }
    }
}
