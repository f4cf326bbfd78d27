//! `grpc.health.v1.Health` for the whole suite at the gateway's one port: `""` is the gateway
//! itself (SERVING while it runs, NOT_SERVING once shutdown starts); a service name is answered
//! by the upstream that serves it, and an upstream that cannot be reached is NOT_SERVING, not an
//! error, so probes and balancers read one answer per service.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use super::balance::Balanced;
use super::routes::RouteTable;

/// An upstream that has not answered a Check by then counts as NOT_SERVING: probes give up
/// after a second or two, and a late SERVING is worth nothing to them.
const UPSTREAM_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a Watch waits before asking a lost upstream again.
const WATCH_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Turns the gateway's own health as it starts and stops.
#[derive(Debug)]
pub(crate) struct HealthControl {
    own: watch::Sender<ServingStatus>,
    stopping: CancellationToken,
}

impl HealthControl {
    pub(crate) fn set_serving(&self) {
        self.own.send_replace(ServingStatus::Serving);
    }

    /// NOT_SERVING first, so every open Watch reports it before it ends.
    pub(crate) fn stop(&self) {
        self.own.send_replace(ServingStatus::NotServing);
        self.stopping.cancel();
    }
}

/// The health service, NOT_SERVING until [`HealthControl::set_serving`].
pub(crate) fn health_service(routes: RouteTable) -> (HealthControl, HealthServer<GatewayHealth>) {
    let (own, _) = watch::channel(ServingStatus::NotServing);
    let stopping = CancellationToken::new();
    let health = GatewayHealth {
        own: own.subscribe(),
        stopping: stopping.clone(),
        routes,
    };
    (HealthControl { own, stopping }, HealthServer::new(health))
}

#[derive(Debug, Clone)]
pub(crate) struct GatewayHealth {
    own: watch::Receiver<ServingStatus>,
    stopping: CancellationToken,
    routes: RouteTable,
}

type Update = Result<HealthCheckResponse, Status>;

#[tonic::async_trait]
impl Health for GatewayHealth {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        if service.is_empty() {
            return Ok(Response::new(reply(*self.own.borrow())));
        }
        let channel = self
            .routes
            .channel_for_service(&service)
            .ok_or_else(|| not_found(&service))?;
        // Once the gateway stops, nothing is served through it any more.
        if self.stopping.is_cancelled() {
            return Ok(Response::new(reply(ServingStatus::NotServing)));
        }
        let mut client = HealthClient::new(channel.clone());
        let asked = tokio::time::timeout(
            UPSTREAM_CHECK_TIMEOUT,
            client.check(HealthCheckRequest {
                service: service.clone(),
            }),
        );
        match asked.await {
            Ok(Ok(answer)) => Ok(Response::new(answer.into_inner())),
            Ok(Err(status)) if status.code() == Code::NotFound => Err(status),
            Ok(Err(status)) => {
                tracing::debug!(service, code = ?status.code(), "upstream health check failed; NOT_SERVING");
                Ok(Response::new(reply(ServingStatus::NotServing)))
            }
            Err(_) => {
                tracing::debug!(service, "upstream health check timed out; NOT_SERVING");
                Ok(Response::new(reply(ServingStatus::NotServing)))
            }
        }
    }

    type WatchStream = ReceiverStream<Update>;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let service = request.into_inner().service;
        let (updates, stream) = mpsc::channel(4);
        if service.is_empty() {
            tokio::spawn(watch_own(self.own.clone(), self.stopping.clone(), updates));
        } else {
            let channel = self
                .routes
                .channel_for_service(&service)
                .ok_or_else(|| not_found(&service))?;
            tokio::spawn(watch_upstream(channel.clone(), service, self.stopping.clone(), updates));
        }
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}

fn reply(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse { status: status.into() }
}

fn not_found(service: &str) -> Status {
    Status::not_found(format!("no service named {service:?} is behind the gateway"))
}

/// Sends each change of the gateway's own status; after shutdown starts, the last one, then ends.
async fn watch_own(
    mut own: watch::Receiver<ServingStatus>,
    stopping: CancellationToken,
    updates: mpsc::Sender<Update>,
) {
    let mut last = None;
    loop {
        let status = i32::from(*own.borrow_and_update());
        if send_change(&updates, &mut last, status).await.is_err() || stopping.is_cancelled() {
            return;
        }
        tokio::select! {
            changed = own.changed() => if changed.is_err() { return },
            // Go round once more to send the final status.
            () = stopping.cancelled() => {}
            () = updates.closed() => return,
        }
    }
}

/// Relays the upstream's Watch. A lost or unreachable upstream is NOT_SERVING until a new Watch
/// answers again; when the gateway stops, the stream reports NOT_SERVING and ends.
async fn watch_upstream(
    channel: Balanced,
    service: String,
    stopping: CancellationToken,
    updates: mpsc::Sender<Update>,
) {
    let not_serving = i32::from(ServingStatus::NotServing);
    let mut last = None;
    loop {
        let outcome = tokio::select! {
            outcome = relay_upstream(&channel, &service, &updates, &mut last) => outcome,
            () = stopping.cancelled() => Relay::Stopping,
            () = updates.closed() => Relay::ClientGone,
        };
        match outcome {
            Relay::ClientGone => return,
            Relay::NotFound(status) => {
                let _ = updates.send(Err(status)).await;
                return;
            }
            Relay::Stopping => {
                let _ = send_change(&updates, &mut last, not_serving).await;
                return;
            }
            Relay::UpstreamLost => {
                if send_change(&updates, &mut last, not_serving).await.is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(WATCH_RETRY_INTERVAL) => {}
            () = stopping.cancelled() => return,
            () = updates.closed() => return,
        }
    }
}

enum Relay {
    ClientGone,
    NotFound(Status),
    Stopping,
    UpstreamLost,
}

async fn relay_upstream(
    channel: &Balanced,
    service: &str,
    updates: &mpsc::Sender<Update>,
    last: &mut Option<i32>,
) -> Relay {
    let mut client = HealthClient::new(channel.clone());
    let mut stream = match client
        .watch(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::NotFound => return Relay::NotFound(status),
        Err(status) => {
            tracing::debug!(service, code = ?status.code(), "upstream health watch failed; NOT_SERVING");
            return Relay::UpstreamLost;
        }
    };
    loop {
        match stream.message().await {
            Ok(Some(update)) => {
                if send_change(updates, last, update.status).await.is_err() {
                    return Relay::ClientGone;
                }
            }
            Ok(None) => return Relay::UpstreamLost,
            Err(status) => {
                tracing::debug!(service, code = ?status.code(), "upstream health watch ended; NOT_SERVING");
                return Relay::UpstreamLost;
            }
        }
    }
}

/// Sends `status` unless it is the one sent last; `Err` when the client has gone.
async fn send_change(updates: &mpsc::Sender<Update>, last: &mut Option<i32>, status: i32) -> Result<(), ()> {
    if *last == Some(status) {
        return Ok(());
    }
    *last = Some(status);
    updates.send(Ok(HealthCheckResponse { status })).await.map_err(|_| ())
}
