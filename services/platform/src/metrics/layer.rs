//! The tower layer that meters a service's calls: the clock starts when the request arrives and
//! stops when the response body ends, with the code the trailers carry.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use tower::{Layer, Service};

use super::{RpcMetrics, grpc_status_of};

/// Meters every call with `metrics`; with `None`, calls pass untouched (metrics are off).
#[derive(Debug, Clone)]
pub struct RpcMetricsLayer {
    metrics: Option<RpcMetrics>,
}

impl RpcMetricsLayer {
    pub fn new(metrics: Option<RpcMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RpcMetricsService<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
}

impl<S, B, ResponseBody> Service<http::Request<B>> for RpcMetricsService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
    ResponseBody: Send + 'static,
{
    type Response = http::Response<MeteredBody<ResponseBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let meter = self.metrics.as_ref().map(|metrics| Meter {
            labels: metrics.method_of(request.uri().path()),
            metrics: metrics.clone(),
            started: Instant::now(),
        });
        let responding = self.inner.call(request);
        Box::pin(async move {
            let response = responding.await?;
            let header_code = grpc_status_of(response.headers());
            Ok(response.map(|body| MeteredBody {
                inner: body,
                meter,
                header_code,
            }))
        })
    }
}

/// A call being timed.
#[derive(Debug)]
struct Meter {
    metrics: RpcMetrics,
    labels: (&'static str, &'static str),
    started: Instant,
}

/// A response body that records its call when it ends: with the code of its trailers, of its
/// headers when it has no trailers (a trailers-only response), `UNKNOWN` when it fails, and
/// `CANCELLED` when it is dropped before the end.
#[derive(Debug)]
pub struct MeteredBody<B> {
    inner: B,
    meter: Option<Meter>,
    header_code: Option<i32>,
}

impl<B> MeteredBody<B> {
    fn finish(&mut self, code: i32) {
        if let Some(meter) = self.meter.take() {
            meter.metrics.record(meter.labels, code, meter.started.elapsed());
        }
    }
}

const CANCELLED: i32 = 1;
const UNKNOWN: i32 = 2;

impl<B> Body for MeteredBody<B>
where
    B: Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status_of) {
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(UNKNOWN),
            Poll::Ready(None) => {
                let code = self.header_code.unwrap_or(UNKNOWN);
                self.finish(code);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for MeteredBody<B> {
    fn drop(&mut self) {
        // A body dropped after its end has recorded already; before it, the client went away.
        // A trailers-only response whose empty body is never polled still has its code.
        let code = self.header_code.unwrap_or(CANCELLED);
        self.finish(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests::TABLE;
    use crate::testing::metric_value;
    use http_body_util::BodyExt;
    use prometheus_client::registry::Registry;
    use tower::ServiceExt;

    type Frames = futures::stream::Iter<std::vec::IntoIter<Result<Frame<bytes::Bytes>, std::convert::Infallible>>>;

    /// A gRPC-shaped response: a message frame, then trailers with `code`; or trailers-only.
    fn respond(code: &'static str, trailers_only: bool) -> http::Response<http_body_util::StreamBody<Frames>> {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static(code));
        let frames = if trailers_only {
            Vec::new()
        } else {
            vec![
                Ok(Frame::data(bytes::Bytes::from_static(b"\0\0\0\0\0"))),
                Ok(Frame::trailers(trailers.clone())),
            ]
        };
        let mut response = http::Response::new(http_body_util::StreamBody::new(futures::stream::iter(frames)));
        if trailers_only {
            *response.headers_mut() = trailers;
        }
        response
    }

    async fn call(metrics: &RpcMetrics, path: &'static str, code: &'static str, trailers_only: bool, read: bool) {
        let service = tower::service_fn(move |_request: http::Request<()>| async move {
            Ok::<_, std::convert::Infallible>(respond(code, trailers_only))
        });
        let request = http::Request::builder().uri(path).body(()).expect("a request");
        let response = RpcMetricsLayer::new(Some(metrics.clone()))
            .layer(service)
            .oneshot(request)
            .await
            .expect("infallible");
        if read {
            let _ = response.into_body().collect().await;
        }
    }

    #[tokio::test]
    async fn counts_a_call_when_its_body_ends_with_the_code_of_its_trailers_or_headers() {
        let mut registry = Registry::default();
        let metrics = RpcMetrics::register(&mut registry, &TABLE);
        call(&metrics, "/rti.test.v1.TestService/Get", "0", false, true).await;
        call(&metrics, "/rti.test.v1.TestService/Get", "5", true, true).await;
        call(&metrics, "/rti.test.v1.TestService/Nope", "12", true, true).await;
        // The client goes away before the trailers: cancelled, not OK.
        call(&metrics, "/rti.test.v1.TestService/Get", "0", false, false).await;
        let text = super::super::encode(&registry);
        let count = |service, method, code| {
            metric_value(
                &text,
                "rti_rpc_requests_total",
                &[("service", service), ("method", method), ("code", code)],
            )
        };
        assert_eq!(count("rti.test.v1.TestService", "Get", "OK"), Some(1.0), "{text}");
        assert_eq!(
            count("rti.test.v1.TestService", "Get", "NOT_FOUND"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            count("rti.test.v1.TestService", "Get", "CANCELLED"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(count("unknown", "unknown", "UNIMPLEMENTED"), Some(1.0), "{text}");
        assert_eq!(
            metric_value(
                &text,
                "rti_rpc_request_duration_seconds_count",
                &[("service", "rti.test.v1.TestService"), ("method", "Get")]
            ),
            Some(3.0),
            "{text}"
        );
    }

    #[tokio::test]
    async fn without_metrics_calls_pass_untouched() {
        let service = tower::service_fn(|_request: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(respond("0", false))
        });
        let request = http::Request::builder()
            .uri("/rti.test.v1.TestService/Get")
            .body(())
            .expect("a request");
        let response = RpcMetricsLayer::new(None)
            .layer(service)
            .oneshot(request)
            .await
            .expect("infallible");
        let collected = response.into_body().collect().await.expect("infallible");
        assert_eq!(collected.trailers().and_then(grpc_status_of), Some(0));
    }
}
