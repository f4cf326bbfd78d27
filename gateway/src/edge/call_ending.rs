//! What happens when a call through the pass-through ends: its metrics are recorded with the
//! gRPC code it ended with, and a write's audit entry is appended, before the final status goes
//! to the client. The code is in the trailers, or in the headers of a trailers-only response (and
//! of every answer the gateway gives itself), so a call ends when its response body does, not
//! when the headers leave: [`ObservedBody`] holds the trailers back until the entry is appended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use axum::response::Response;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt;
use rti_platform::auth::Principal;
use rti_platform::metrics::grpc_status_of;
use rti_platform::telemetry::extract_context;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::metrics::{CallMeter, GatewayMetrics};
use super::protocol::Protocol;
use super::request_id::request_id_of;
use crate::audit::{AuditLog, PendingAudit};

const CANCELLED: i32 = 1;
const UNKNOWN: i32 = 2;

type Finishing = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What watches calls end: the metrics and the audit of writes, each when configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observers {
    metrics: Option<GatewayMetrics>,
    audit: Option<AuditLog>,
}

impl Observers {
    pub(crate) fn new(metrics: Option<GatewayMetrics>, audit: Option<AuditLog>) -> Self {
        Self { metrics, audit }
    }

    /// Starts the clock of a call, when metrics are on.
    pub(crate) fn meter(&self, path: &str, protocol: Protocol) -> Option<CallMeter> {
        self.metrics.as_ref().map(|metrics| metrics.start(path, protocol))
    }

    /// The ending of a call whose caller is known: `principal`, or anonymous.
    pub(crate) fn ending(
        &self,
        meter: Option<CallMeter>,
        path: &str,
        protocol: Protocol,
        principal: Option<&Principal>,
        span: &tracing::Span,
        headers: &http::HeaderMap,
    ) -> CallEnding {
        let audit = self.audit.as_ref().and_then(|audit| {
            audit.begin(path, principal, protocol.as_str(), request_id_of(headers), || {
                trace_id_of(span, headers)
            })
        });
        CallEnding::new(meter, audit)
    }
}

/// The W3C trace id of a call: its span's, or, when traces are not exported, the caller's.
fn trace_id_of(span: &tracing::Span, headers: &http::HeaderMap) -> Option<String> {
    let trace_id = |context: opentelemetry::Context| {
        let span_context = context.span().span_context().clone();
        span_context.is_valid().then(|| span_context.trace_id().to_string())
    };
    trace_id(span.context()).or_else(|| trace_id(extract_context(headers)))
}

/// The metrics and the audit entry of one call, until it ends. Either may be off. Dropped before
/// it ends (the client went away while the gateway waited for the service), the call ends as
/// `CANCELLED`: the service may have acted, so a write is still appended.
#[derive(Debug)]
pub(crate) struct CallEnding {
    meter: Option<CallMeter>,
    audit: Option<PendingAudit>,
}

impl CallEnding {
    pub(crate) fn new(meter: Option<CallMeter>, audit: Option<PendingAudit>) -> Self {
        Self { meter, audit }
    }

    /// The request body to send on: read for the audit's ids on the way when the call is a write.
    pub(crate) fn request_body<B>(&self, body: B) -> tonic::body::Body
    where
        B: Body<Data = Bytes> + Unpin + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        match &self.audit {
            Some(audit) => tonic::body::Body::new(audit.capture_request(body)),
            None => tonic::body::Body::new(body),
        }
    }

    /// Ends the call with `code`: the entry appended, then the call counted.
    pub(crate) async fn finish(mut self, code: i32) {
        if let Some(audit) = self.audit.take() {
            audit.complete(code).await;
        }
        if let Some(meter) = self.meter.take() {
            meter.finish(code);
        }
    }

    /// Ends the call with `code` where nobody waits (its response is gone): counted now, the
    /// entry appended in the background.
    fn finish_detached(&mut self, code: i32) {
        if let Some(meter) = self.meter.take() {
            meter.finish(code);
        }
        if let Some(audit) = self.audit.take() {
            spawn(Box::pin(audit.complete(code)));
        }
    }

    /// The gateway's own answer `status` to the call, once the call has ended with it.
    pub(crate) async fn answer(self, span: &tracing::Span, status: tonic::Status) -> Response {
        span.record("rpc.grpc.status_code", i32::from(status.code()));
        self.finish(i32::from(status.code())).await;
        status.into_http::<axum::body::Body>()
    }

    /// The gateway's answer `status` to a call it turned away before any service saw it for want
    /// of capacity (a rate limit, a saturated upstream): counted, not audited, since nothing was
    /// done, and a flood of such calls must not turn into audit writes.
    pub(crate) async fn turn_away(mut self, span: &tracing::Span, status: tonic::Status) -> Response {
        self.audit = None;
        self.answer(span, status).await
    }

    /// The service's response body, observed to its end; a trailers-only response (`headers`
    /// carry the code, the body is empty) ends the call here.
    pub(crate) async fn response_body<B>(self, headers: &http::HeaderMap, body: B) -> ObservedBody<B> {
        let ending = match grpc_status_of(headers) {
            Some(code) => {
                self.finish(code).await;
                None
            }
            None => Some(self),
        };
        ObservedBody {
            inner: body,
            ending,
            held: None,
        }
    }
}

fn spawn(finishing: Finishing) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(finishing);
        }
        Err(_) => tracing::warn!("a call ended after the runtime stopped; its metrics and audit entry are lost"),
    }
}

/// A response body that ends its call with the code of its trailers.
pub(crate) struct ObservedBody<B> {
    inner: B,
    ending: Option<CallEnding>,
    /// The trailers (none if the stream ended without), held until the call has ended.
    held: Option<(Option<http::HeaderMap>, Finishing)>,
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes, Error = tonic::Status> + Unpin,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some((_, finishing)) = &mut this.held {
                ready!(finishing.as_mut().poll(context));
                let trailers = this.held.take().and_then(|(trailers, _)| trailers);
                return Poll::Ready(trailers.map(|trailers| Ok(Frame::trailers(trailers))));
            }
            let Some(ending) = this.ending.as_mut() else {
                return Pin::new(&mut this.inner).poll_frame(context);
            };
            match ready!(Pin::new(&mut this.inner).poll_frame(context)) {
                Some(Ok(frame)) if frame.is_trailers() => {
                    let code = frame.trailers_ref().and_then(grpc_status_of).unwrap_or(UNKNOWN);
                    let trailers = frame.into_trailers().ok();
                    if let Some(ending) = this.ending.take() {
                        this.held = Some((trailers, Box::pin(ending.finish(code))));
                    }
                }
                Some(Ok(frame)) => {
                    if let (Some(audit), Some(data)) = (ending.audit.as_mut(), frame.data_ref()) {
                        audit.observe_response(data);
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Some(Err(status)) => {
                    if let Some(mut ending) = this.ending.take() {
                        ending.finish_detached(i32::from(status.code()));
                    }
                    return Poll::Ready(Some(Err(status)));
                }
                None => {
                    // A gRPC response ends with trailers; one that does not has no known code.
                    if let Some(ending) = this.ending.take() {
                        this.held = Some((None, Box::pin(ending.finish(UNKNOWN))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ending.is_none() && self.held.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CallEnding {
    fn drop(&mut self) {
        self.finish_detached(CANCELLED);
    }
}

impl<B> Drop for ObservedBody<B> {
    fn drop(&mut self) {
        // The client went away: a held ending still completes, and a call cut short is cancelled.
        if let Some((_, finishing)) = self.held.take() {
            spawn(finishing);
        }
        // A call cut short ends as cancelled when its ending drops.
        drop(self.ending.take());
    }
}
