//! Stand-ins for the registry, intake and allocation as reporting sees them: one gRPC server
//! that answers only their `Subscribe` calls, from event lists a test writes. Backlog first, then
//! live events as the test pushes them, filtered by the types asked, exactly as the real outbox
//! serves them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use rti_platform::time::timestamp_from_micros;
use rti_proto::common::event::Payload;
use rti_proto::common::{Event, SubscribeRequest};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One service's event list.
#[derive(Debug, Default)]
pub struct Feed {
    events: Mutex<Vec<Event>>,
}

impl Feed {
    /// Appends an event; returns its sequence.
    pub fn push(&self, aggregate_id: &str, payload: Payload, at: i64) -> i64 {
        let mut events = self.events.lock().expect("not poisoned");
        let sequence = i64::try_from(events.len()).expect("small") + 1;
        events.push(Event {
            sequence,
            id: rti_platform::ids::new_id(),
            r#type: rti_platform::events::event_type(&payload).to_owned(),
            occurred_at: Some(timestamp_from_micros(at)),
            aggregate_id: aggregate_id.to_owned(),
            source: String::new(),
            payload: Some(payload),
        });
        sequence
    }

    pub fn last_sequence(&self) -> i64 {
        i64::try_from(self.events.lock().expect("not poisoned").len()).expect("small")
    }

    fn after(&self, sequence: i64) -> Vec<Event> {
        let events = self.events.lock().expect("not poisoned");
        events
            .iter()
            .filter(|event| event.sequence > sequence)
            .cloned()
            .collect()
    }
}

/// The three feeds and the server that serves them.
pub struct FakeUpstreams {
    pub registry: Arc<Feed>,
    pub intake: Arc<Feed>,
    pub allocation: Arc<Feed>,
    pub address: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for FakeUpstreams {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl FakeUpstreams {
    pub async fn start() -> Self {
        let registry = Arc::new(Feed::default());
        let intake = Arc::new(Feed::default());
        let allocation = Arc::new(Feed::default());
        let router = axum::Router::new()
            .route("/rti.registry.v1.RegistryService/Subscribe", route(registry.clone()))
            .route("/rti.intake.v1.IntakeService/Subscribe", route(intake.clone()))
            .route(
                "/rti.allocation.v1.AllocationService/Subscribe",
                route(allocation.clone()),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("bound");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_routes(tonic::service::Routes::from(router))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    stop.cancelled_owned(),
                )
                .await
        });
        Self {
            registry,
            intake,
            allocation,
            address,
            shutdown,
        }
    }

    pub fn uri(&self) -> http::Uri {
        format!("http://{}", self.address).parse().expect("uri")
    }
}

fn route(feed: Arc<Feed>) -> axum::routing::MethodRouter {
    axum::routing::post(move |request: http::Request<axum::body::Body>| {
        let feed = feed.clone();
        async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Event, SubscribeRequest>::default());
            let subscribe = tower::service_fn(move |request: tonic::Request<SubscribeRequest>| {
                let feed = feed.clone();
                async move { Ok::<_, tonic::Status>(tonic::Response::new(events(feed, request.into_inner()))) }
            });
            grpc.server_streaming(subscribe, request).await
        }
    })
}

/// The events after the cursor, then new ones as they are pushed; never ends by itself.
fn events(
    feed: Arc<Feed>,
    request: SubscribeRequest,
) -> std::pin::Pin<Box<dyn Stream<Item = Result<Event, tonic::Status>> + Send>> {
    let state = (feed, request.after_sequence, request.types, VecDeque::<Event>::new());
    Box::pin(futures::stream::unfold(
        state,
        |(feed, mut cursor, types, mut pending)| async move {
            loop {
                if let Some(event) = pending.pop_front() {
                    return Some((Ok(event), (feed, cursor, types, pending)));
                }
                let fresh = feed.after(cursor);
                if let Some(last) = fresh.last() {
                    cursor = last.sequence;
                }
                pending.extend(
                    fresh
                        .into_iter()
                        .filter(|event| types.is_empty() || types.contains(&event.r#type)),
                );
                if pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        },
    ))
}
