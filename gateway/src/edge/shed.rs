//! Load shedding (issue 14): each upstream service takes at most a fixed number of calls through
//! the gateway at once. A call beyond it is refused at once with `UNAVAILABLE` (which clients
//! retry with backoff) instead of waiting in a queue that would grow without bound while the
//! service is saturated, so a slow service costs its callers a quick refusal, not the gateway's
//! memory, and the other services' callers nothing. A call holds its place until its answer
//! ends; an event stream (`Subscribe`) only until it opens, since it may stay open for days.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The places of one upstream service; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct InFlightCap {
    places: Arc<Semaphore>,
    limit: usize,
}

/// A call's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
}

impl InFlightCap {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A place for one more call to `service`, or `UNAVAILABLE` when all are taken.
    pub(crate) fn enter(&self, service: &str) -> Result<Place, tonic::Status> {
        self.places
            .clone()
            .try_acquire_owned()
            .map(|permit| Place { _permit: permit })
            .map_err(|_| {
                tonic::Status::unavailable(format!(
                    "{service} is saturated ({} calls in flight through the gateway); retry with backoff",
                    self.limit
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_at_once_and_frees_a_place_when_a_call_ends() {
        let cap = InFlightCap::new(2);
        let first = cap.enter("rti.registry.v1.RegistryService").expect("room");
        let _second = cap.enter("rti.registry.v1.RegistryService").expect("room");
        let refused = cap.enter("rti.registry.v1.RegistryService").expect_err("full");
        assert_eq!(refused.code(), tonic::Code::Unavailable);
        assert!(
            refused
                .message()
                .contains("rti.registry.v1.RegistryService is saturated (2 calls"),
            "{}",
            refused.message()
        );
        // Over REST, the shared mapping answers 503.
        assert_eq!(
            rti_platform::error::ErrorCode::from_grpc(refused.code()).http_status(),
            http::StatusCode::SERVICE_UNAVAILABLE
        );
        drop(first);
        assert!(cap.enter("rti.registry.v1.RegistryService").is_ok());
    }

    #[test]
    fn clones_share_their_places() {
        let cap = InFlightCap::new(1);
        let _held = cap.clone().enter("s").expect("room");
        assert!(cap.enter("s").is_err());
    }
}
