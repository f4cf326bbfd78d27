//! The body of a forwarded response, which is where a pass-through call really ends: it keeps
//! the call counted and its span open until the last frame, records the gRPC status from the
//! trailers, and ends the call with UNAVAILABLE when the gateway stops after the drain timeout,
//! or with the gateway's refusal of one of the call's messages when that cut the upstream off.
//! It also holds the call's place among the upstream's calls in flight (`shed`) to the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use rti_platform::server::InFlightGuard;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::shed::Place;

/// Records a gRPC status code found in `headers` (trailers, or the headers of a trailers-only
/// response) on `span`.
pub(crate) fn record_status(span: &tracing::Span, headers: &http::HeaderMap) {
    if let Some(code) = rti_platform::metrics::grpc_status_of(headers) {
        span.record("rpc.grpc.status_code", code);
    }
}

pub(crate) struct CallBody {
    upstream: tonic::body::Body,
    span: tracing::Span,
    _in_flight: InFlightGuard,
    hard_stop: Pin<Box<WaitForCancellationFutureOwned>>,
    refusal: Arc<OnceLock<tonic::Status>>,
    _place: Option<Place>,
    finished: bool,
}

impl CallBody {
    pub(crate) fn new(
        upstream: tonic::body::Body,
        span: tracing::Span,
        in_flight: InFlightGuard,
        hard_stop: &CancellationToken,
        refusal: Arc<OnceLock<tonic::Status>>,
        place: Option<Place>,
    ) -> Self {
        Self {
            upstream,
            span,
            _in_flight: in_flight,
            hard_stop: Box::pin(hard_stop.clone().cancelled_owned()),
            refusal,
            _place: place,
            finished: false,
        }
    }
}

impl CallBody {
    fn end_with(&mut self, status: &tonic::Status) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        self.finished = true;
        let mut trailers = http::HeaderMap::new();
        // Adding a status with a valid message to a header map cannot fail; if it ever did,
        // the stream would still end, only without a status.
        let _ = status.add_header(&mut trailers);
        record_status(&self.span, &trailers);
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }
}

impl Body for CallBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if this.hard_stop.as_mut().poll(context).is_ready() {
            return this.end_with(&tonic::Status::unavailable("the gateway is shutting down"));
        }
        let polled = Pin::new(&mut this.upstream).poll_frame(context);
        if let Poll::Ready(Some(Err(_))) = &polled
            && let Some(status) = this.refusal.get().cloned()
        {
            return this.end_with(&status);
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    record_status(&this.span, trailers);
                }
            }
            Poll::Ready(None) => this.finished = true,
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.upstream.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.upstream.size_hint()
    }
}
