//! gRPC pass-through: a call goes to the upstream that owns its path prefix with its method,
//! path, metadata and body stream unchanged, and the response comes back as a stream with its
//! trailers (`grpc-status`, `grpc-message`, `grpc-status-details-bin`), so unary and streaming
//! calls in both directions pass alike. Authentication happens here first (DESIGN §4), and each
//! call gets a `gateway` span that the service's own span continues (DESIGN §7). Each call gets
//! its deadline (the caller's `grpc-timeout` capped at the maximum, or the default), passed on in
//! `grpc-timeout` and enforced here, and its messages the size limit of its method: an upstream
//! never sees an oversized message, nor a call it could keep waiting for ever
//! (`rti_platform::limits`). After authentication and authorization, each caller's rate limit
//! (`rate`) and each upstream's cap on calls in flight (`shed`) apply, in that order; every front
//! end (gRPC-Web, REST) sends its calls through here, so the same protection, metrics and audit
//! (`call_ending`) cover them all.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use rti_platform::error::error_chain;
use rti_platform::limits::{
    CallKind, CallLimits, MessageLimited, asked_deadline, call_kind, deadline_exceeded, set_deadline,
};
use rti_platform::server::InFlight;
use rti_platform::telemetry::{extract_context, inject_current_context};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::auth::EdgeAuth;
use super::call_body::{CallBody, record_status};
use super::call_ending::{CallEnding, Observers};
use super::protocol::Protocol;
use super::rate::RateLimiter;
use super::request_id::request_id_of;
use super::routes::RouteTable;

/// What the pass-through needs; cheap to clone, one per call.
#[derive(Debug, Clone)]
pub(crate) struct Proxy {
    inner: Arc<ProxyInner>,
}

#[derive(Debug)]
struct ProxyInner {
    routes: RouteTable,
    edge: EdgeAuth,
    in_flight: InFlight,
    /// Fires when the drain timeout has passed: calls still streaming end then.
    hard_stop: CancellationToken,
    calls: CallLimits,
    rate: RateLimiter,
    observers: Observers,
}

impl Proxy {
    pub(crate) fn new(
        routes: RouteTable,
        edge: EdgeAuth,
        in_flight: InFlight,
        hard_stop: CancellationToken,
        calls: CallLimits,
        rate: RateLimiter,
        observers: Observers,
    ) -> Self {
        Self {
            inner: Arc::new(ProxyInner {
                routes,
                edge,
                in_flight,
                hard_stop,
                calls,
                rate,
                observers,
            }),
        }
    }
}

impl Proxy {
    /// Whether the edge would let a call to `path` with `authorization` through. The REST side
    /// asks before it answers that a request is malformed, so that a caller who may not make the
    /// call learns nothing from validation (DESIGN §4); calls that go on are admitted in
    /// [`forward`], once.
    pub(crate) async fn admit(
        &self,
        path: &str,
        authorization: Option<&http::HeaderValue>,
    ) -> Result<(), tonic::Status> {
        self.inner.edge.admit(path, authorization).await
    }
}

/// The axum handler for every path the gateway does not answer itself.
pub(crate) async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some(upstream) = proxy.inner.routes.upstream_for(&path).cloned() else {
        return no_route(&path, request.headers());
    };
    let protocol = Protocol::of(&request);
    let span = call_span(&path, protocol, request.headers());
    let call = span.clone();
    let meter = proxy.inner.observers.meter(&path, protocol);
    let in_flight = proxy.inner.in_flight.enter();
    let started = Instant::now();
    let deadline = proxy.inner.calls.deadline_of(&path, asked_deadline(request.headers()));
    async move {
        let edge = &proxy.inner.edge;
        let principal = match edge
            .authenticate(request.headers().get(http::header::AUTHORIZATION))
            .await
        {
            Ok(principal) => principal,
            // No one to attribute the call to: counted, not audited.
            Err(status) => return CallEnding::new(meter, None).answer(&call, status).await,
        };
        let ending = proxy
            .inner
            .observers
            .ending(meter, &path, protocol, principal.as_ref(), &call, request.headers());
        if let Err(status) = edge.authorize(&path, principal.as_ref()) {
            return ending.answer(&call, status).await;
        }
        // Anonymous calls are limited per peer address; a front end passes the peer on.
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        if let Err(status) = proxy.inner.rate.admit(principal.as_ref(), peer) {
            return ending.turn_away(&call, status).await;
        }
        let place = match upstream.places.enter(service_of(&path)) {
            Ok(place) => place,
            Err(status) => return ending.turn_away(&call, status).await,
        };
        let client_version = request.version();
        let (parts, body) = request.into_parts();
        let limited = MessageLimited::new(body, proxy.inner.calls.max_message_bytes_of(&path), &path);
        let refusal = limited.refusal();
        let mut request = http::Request::from_parts(parts, ending.request_body(limited));
        remove_hop_by_hop_headers(request.headers_mut());
        if let Some(deadline) = deadline {
            set_deadline(request.headers_mut(), deadline.saturating_sub(started.elapsed()));
        }
        // The channel sets the upstream's authority, and speaks HTTP/2 whatever the client spoke.
        request.headers_mut().remove(http::header::HOST);
        *request.version_mut() = http::Version::HTTP_2;
        if !call.is_none() {
            inject_current_context(request.headers_mut());
        }

        let sending = upstream.service.send(request);
        let sent = match deadline {
            Some(deadline) => match tokio::time::timeout_at((started + deadline).into(), sending).await {
                Ok(sent) => sent,
                Err(_) => return ending.answer(&call, deadline_exceeded(deadline)).await,
            },
            None => sending.await,
        };
        match sent {
            Ok(response) => {
                record_status(&call, response.headers());
                let (mut parts, body) = response.into_parts();
                remove_hop_by_hop_headers(&mut parts.headers);
                parts.version = client_version;
                // An event stream keeps its place only until it opens: it may stay open for days.
                let place = (call_kind(&path) != CallKind::Subscription).then_some(place);
                let body = CallBody::new(body, call, in_flight, &proxy.inner.hard_stop, refusal, place);
                let body = ending.response_body(&parts.headers, body).await;
                Response::from_parts(parts, axum::body::Body::new(body))
            }
            Err(error) => {
                if let Some(status) = refused_or_late(&refusal, deadline, &*error) {
                    return ending.answer(&call, status).await;
                }
                let service = service_of(&path);
                tracing::warn!(service, error = %error_chain(&*error), "cannot reach the upstream");
                ending
                    .answer(
                        &call,
                        tonic::Status::unavailable(format!("{service} cannot be reached")),
                    )
                    .await
            }
        }
    }
    .instrument(span)
    .await
}

/// Why a call whose upstream failed really failed: the gateway refused one of its messages (and
/// so cut the upstream off), or the channel gave up at the deadline the call carries.
fn refused_or_late(
    refusal: &OnceLock<tonic::Status>,
    deadline: Option<Duration>,
    error: &(dyn std::error::Error + 'static),
) -> Option<tonic::Status> {
    if let Some(status) = refusal.get() {
        return Some(status.clone());
    }
    let timed_out =
        std::iter::successors(Some(error), |error| error.source()).any(|error| error.is::<tonic::TimeoutExpired>());
    deadline.filter(|_| timed_out).map(deadline_exceeded)
}

/// Health checks and reflection are not worth a trace each; every other call gets one.
fn call_span(path: &str, protocol: Protocol, headers: &http::HeaderMap) -> tracing::Span {
    if path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") {
        return tracing::Span::none();
    }
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    let span = tracing::info_span!(
        "gateway",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rti.protocol = protocol.as_str(),
        request_id = %request_id_of(headers),
        rpc.grpc.status_code = tracing::field::Empty,
    );
    // Without a valid incoming `traceparent` this starts a new trace.
    if let Err(error) = span.set_parent(extract_context(headers)) {
        tracing::debug!(%error, "cannot continue the caller's trace");
    }
    span
}

fn no_route(path: &str, headers: &http::HeaderMap) -> Response {
    let is_grpc = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"));
    if is_grpc {
        tonic::Status::unimplemented(format!("no service behind the gateway answers {path}")).into_http()
    } else {
        (http::StatusCode::NOT_FOUND, format!("nothing here answers {path}\n")).into_response()
    }
}

/// `rti.registry.v1.RegistryService` for `/rti.registry.v1.RegistryService/GetProvider`.
fn service_of(path: &str) -> &str {
    let trimmed = path.trim_start_matches('/');
    trimmed.split_once('/').map_or(trimmed, |(service, _)| service)
}

/// Headers that describe one connection, not the call (RFC 9110 §7.6.1); HTTP/2 forbids them.
fn remove_hop_by_hop_headers(headers: &mut http::HeaderMap) {
    let named_by_connection: Vec<http::HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| http::HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named_by_connection {
        headers.remove(name);
    }
    for name in [
        http::header::CONNECTION,
        http::header::PROXY_AUTHENTICATE,
        http::header::PROXY_AUTHORIZATION,
        http::header::TRANSFER_ENCODING,
        http::header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    // gRPC needs `te: trailers`; any other `te` is hop-by-hop.
    let te_is_trailers = headers
        .get(http::header::TE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"trailers"));
    if !te_is_trailers {
        headers.remove(http::header::TE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_hop_by_hop_headers_but_keeps_te_trailers_and_metadata() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("keep-alive, x-private-hop"),
        );
        headers.insert("keep-alive", http::HeaderValue::from_static("timeout=5"));
        headers.insert("x-private-hop", http::HeaderValue::from_static("1"));
        headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("h2c"));
        headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer x"));
        headers.insert("grpc-timeout", http::HeaderValue::from_static("1S"));
        remove_hop_by_hop_headers(&mut headers);
        let left: std::collections::BTreeSet<_> = headers.keys().map(http::HeaderName::as_str).collect();
        assert_eq!(left, ["authorization", "grpc-timeout", "te"].into());
    }

    #[test]
    fn te_other_than_trailers_is_removed() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::TE, http::HeaderValue::from_static("gzip"));
        remove_hop_by_hop_headers(&mut headers);
        assert!(headers.is_empty());
    }

    #[test]
    fn names_the_service_of_a_path() {
        assert_eq!(
            service_of("/rti.registry.v1.RegistryService/GetProvider"),
            "rti.registry.v1.RegistryService"
        );
        assert_eq!(service_of("/odd"), "odd");
    }
}
