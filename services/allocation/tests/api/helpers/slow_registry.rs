//! A registry that is slow to reserve: a pass-through in front of the world's registry that holds
//! each `ReserveCapacity` call for a while before passing it on, as a registry stuck behind a
//! lock would. Like any gRPC server (the registry's own included), it drops a call whose
//! deadline (`grpc-timeout`) passes or whose caller gives up while it waits. It counts the
//! reservations it passed on and those that ended, so a test knows when a late one can no
//! longer land.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Context, Poll, Service, http};
use tonic::server::NamedService;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;

/// The pass-through while it runs.
#[derive(Debug, Clone)]
pub struct SlowRegistry {
    pub address: SocketAddr,
    passed_on: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
}

impl SlowRegistry {
    /// Serves on a port of its own until `shutdown`, passing every call on to `registry`, each
    /// `ReserveCapacity` after `delay`.
    pub fn start(registry: Channel, delay: Duration, shutdown: CancellationToken) -> Self {
        let incoming = TcpIncoming::bind("127.0.0.1:0".parse().expect("address")).expect("binds a port");
        let address = incoming.local_addr().expect("a bound address");
        let service = Delaying {
            registry,
            delay,
            passed_on: Arc::default(),
            ended: Arc::default(),
        };
        let slow = Self {
            address,
            passed_on: service.passed_on.clone(),
            ended: service.ended.clone(),
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned()),
        );
        slow
    }

    /// Reservations passed on to the registry.
    pub fn passed_on(&self) -> usize {
        self.passed_on.load(Ordering::SeqCst)
    }

    /// Reservations over: answered by the registry, or dropped while they waited.
    pub fn ended(&self) -> usize {
        self.ended.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
struct Delaying {
    registry: Channel,
    delay: Duration,
    passed_on: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
}

impl NamedService for Delaying {
    const NAME: &'static str = "rti.registry.v1.RegistryService";
}

/// Counts a reservation as ended when dropped, answered or not.
struct Ends(Arc<AtomicUsize>);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Service<http::Request<Body>> for Delaying {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let reservation = request.uri().path().ends_with("/ReserveCapacity");
            let _ends = reservation.then(|| Ends(this.ended.clone()));
            if reservation {
                tokio::time::sleep(this.delay).await;
                this.passed_on.fetch_add(1, Ordering::SeqCst);
            }
            let mut registry = this.registry.clone();
            let answer = match std::future::poll_fn(|context| registry.poll_ready(context)).await {
                Ok(()) => registry.call(request).await,
                Err(error) => Err(error),
            };
            Ok(answer.unwrap_or_else(|error| tonic::Status::unavailable(error.to_string()).into_http()))
        })
    }
}
