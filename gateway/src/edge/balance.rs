//! Calls balanced over the addresses of one upstream service (`--registry URL,URL`, issue 14).
//! Each address has its own lazy channel (one HTTP/2 connection, reconnected when lost). A call
//! goes to the less loaded of two addresses taken in turn (power of two choices, by calls
//! waiting for their answer's headers), skipping addresses found down in the last moments.
//!
//! tonic's `Channel::balance_list` is not used: its lazy connections report ready even when
//! the address refuses connections and fail the call they are given, and its balancer prefers
//! exactly those idle-looking dead addresses. Here, when an address cannot take a call and the
//! call's body was never read, nothing reached the service, so the call moves on to the next
//! address (a retry that cannot duplicate anything) and the address is left alone for a while.
//! A call whose body was read is never sent twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use rti_platform::limits::UpstreamLimits;
use tonic::body::Body;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};

/// How long an address that refused a call is passed over (unless every address is).
const DOWN_FOR: Duration = Duration::from_secs(2);

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The addresses of one service; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Balanced {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    addresses: Vec<Address>,
    turn: AtomicUsize,
}

#[derive(Debug)]
struct Address {
    channel: Channel,
    /// Calls sent here that have no answer yet.
    waiting: AtomicUsize,
    down_until: Mutex<Option<Instant>>,
}

impl Address {
    fn is_down(&self, now: Instant) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| until > now)
    }

    fn set_down(&self, until: Option<Instant>) {
        *self.down_until.lock().unwrap_or_else(PoisonError::into_inner) = until;
    }

    async fn send(&self, request: http::Request<Body>) -> Result<http::Response<Body>, BoxError> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _answered = Waiting(&self.waiting);
        let mut channel = self.channel.clone();
        let ready = channel.ready().await?;
        Ok(ready.call(request).await?)
    }
}

struct Waiting<'counter>(&'counter AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Balanced {
    /// One lazy channel per address: nothing connects until the first call.
    pub(crate) fn new(uris: &[http::Uri], limits: &UpstreamLimits) -> Self {
        let addresses = uris
            .iter()
            .map(|uri| Address {
                channel: limits.channel(uri.clone()),
                waiting: AtomicUsize::new(0),
                down_until: Mutex::new(None),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                addresses,
                turn: AtomicUsize::new(0),
            }),
        }
    }

    /// Sends `request` to one of the addresses, and on to the next while an address cannot take
    /// it and its body is unread.
    pub(crate) async fn send(&self, request: http::Request<Body>) -> Result<http::Response<Body>, BoxError> {
        let addresses = &self.inner.addresses;
        if let [only] = addresses.as_slice() {
            return only.send(request).await;
        }
        let (parts, body) = request.into_parts();
        let unsent = Unsent::new(body);
        let mut tried = vec![false; addresses.len()];
        loop {
            let index = self.pick(&tried, Instant::now());
            let address = &addresses[index];
            let mut attempt = http::Request::new(Body::new(unsent.handoff()));
            *attempt.method_mut() = parts.method.clone();
            *attempt.uri_mut() = parts.uri.clone();
            *attempt.version_mut() = parts.version;
            *attempt.headers_mut() = parts.headers.clone();
            match address.send(attempt).await {
                Ok(response) => {
                    address.set_down(None);
                    return Ok(response);
                }
                Err(error) => {
                    tried[index] = true;
                    if unsent.was_read() || tried.iter().all(|tried| *tried) {
                        return Err(error);
                    }
                    tracing::debug!(error = %error, "an upstream address refused a call; trying the next");
                    address.set_down(Some(Instant::now() + DOWN_FOR));
                }
            }
        }
    }

    /// The address for the next attempt: of two untried ones in turn (up ones first), the one
    /// with fewer calls waiting.
    fn pick(&self, tried: &[bool], now: Instant) -> usize {
        let addresses = &self.inner.addresses;
        let start = self.inner.turn.fetch_add(1, Ordering::Relaxed);
        let in_turn = (0..addresses.len()).map(|offset| (start + offset) % addresses.len());
        let untried: Vec<usize> = in_turn.filter(|index| !tried[*index]).collect();
        let up: Vec<usize> = untried
            .iter()
            .copied()
            .filter(|index| !addresses[*index].is_down(now))
            .collect();
        let candidates = if up.is_empty() { &untried } else { &up };
        let waiting = |index: usize| addresses[index].waiting.load(Ordering::Relaxed);
        match candidates.as_slice() {
            [first, second, ..] if waiting(*second) < waiting(*first) => *second,
            [first, ..] => *first,
            // Unreachable while `send` stops once every address was tried.
            [] => start % addresses.len(),
        }
    }
}

impl Service<http::Request<Body>> for Balanced {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each address's channel is made ready when a call is sent to it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let balanced = self.clone();
        Box::pin(async move { balanced.send(request).await })
    }
}

/// A request body kept aside until an attempt first reads it, so an attempt that never read it
/// can hand it to the next.
#[derive(Clone)]
struct Unsent {
    slot: Arc<Mutex<Option<Body>>>,
}

impl Unsent {
    fn new(body: Body) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Some(body))),
        }
    }

    fn handoff(&self) -> Handoff {
        Handoff {
            slot: self.slot.clone(),
            body: None,
        }
    }

    fn was_read(&self) -> bool {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }
}

/// One attempt's view of the body: takes it from the slot on the first read.
struct Handoff {
    slot: Arc<Mutex<Option<Body>>>,
    body: Option<Body>,
}

impl http_body::Body for Handoff {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        if self.body.is_none() {
            let taken = self.slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            match taken {
                Some(body) => self.body = Some(body),
                // Another attempt read it first; `send` never lets that happen.
                None => return Poll::Ready(Some(Err(tonic::Status::internal("the request body was already sent")))),
            }
        }
        match self.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(context),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_some_and(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(http_body::Body::size_hint).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn balanced(count: usize) -> Balanced {
        let uris: Vec<http::Uri> = (0..count)
            .map(|index| format!("http://127.0.0.1:{}", 1 + index).parse().expect("a URI"))
            .collect();
        Balanced::new(&uris, &UpstreamLimits::default())
    }

    #[tokio::test]
    async fn takes_addresses_in_turn_when_equally_loaded() {
        let balanced = balanced(3);
        let now = Instant::now();
        let picks: Vec<usize> = (0..6).map(|_| balanced.pick(&[false; 3], now)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[tokio::test]
    async fn prefers_the_less_loaded_of_two() {
        let balanced = balanced(2);
        balanced.inner.addresses[0].waiting.store(5, Ordering::Relaxed);
        let now = Instant::now();
        for _ in 0..4 {
            assert_eq!(balanced.pick(&[false; 2], now), 1);
        }
    }

    #[tokio::test]
    async fn passes_over_down_and_tried_addresses_unless_nothing_else_is_left() {
        let balanced = balanced(3);
        let now = Instant::now();
        balanced.inner.addresses[1].set_down(Some(now + DOWN_FOR));
        for _ in 0..6 {
            assert_ne!(balanced.pick(&[false; 3], now), 1);
        }
        assert_eq!(
            balanced.pick(&[true, false, true], now),
            1,
            "down, but the only one left"
        );
        let later = now + DOWN_FOR * 2;
        let picks: Vec<usize> = (0..3).map(|_| balanced.pick(&[false; 3], later)).collect();
        assert!(picks.contains(&1), "up again once its time is over: {picks:?}");
    }

    #[tokio::test]
    async fn a_body_is_handed_to_the_attempt_that_reads_it_and_to_no_other() {
        let unsent = Unsent::new(Body::new(http_body_util::Full::new(Bytes::from_static(b"message"))));
        let unread = unsent.handoff();
        drop(unread);
        assert!(!unsent.was_read());
        let read = unsent.handoff().collect().await.expect("readable").to_bytes();
        assert_eq!(read, Bytes::from_static(b"message"));
        assert!(unsent.was_read());
        assert!(unsent.handoff().collect().await.is_err(), "never sent twice");
    }
}
