//! [`CallLimitsLayer`]: what every service applies to each call, as the gateway's pass-through
//! does: the deadline of its kind of call, passed on in `grpc-timeout` and ending the call with
//! DEADLINE_EXCEEDED when its response has not begun by then, and the message limit of its
//! method on the request body ([`MessageLimited`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use tower::{Layer, Service};

use super::CallLimits;
use super::deadline::{asked_deadline, deadline_exceeded, set_deadline};
use super::frames::{BoxError, MessageLimited};

/// Applies [`CallLimits`] to every call.
#[derive(Debug, Clone)]
pub struct CallLimitsLayer {
    limits: Arc<CallLimits>,
}

impl CallLimitsLayer {
    pub fn new(limits: CallLimits) -> Self {
        Self {
            limits: Arc::new(limits),
        }
    }
}

impl<S> Layer<S> for CallLimitsLayer {
    type Service = CallLimitsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallLimitsService {
            inner,
            limits: self.limits.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallLimitsService<S> {
    inner: S,
    limits: Arc<CallLimits>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, ResponseBody> Service<http::Request<B>> for CallLimitsService<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
    ResponseBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let deadline = self.limits.deadline_of(&path, asked_deadline(request.headers()));
        let limit = self.limits.max_message_bytes_of(&path);
        let mut request = request.map(|body| tonic::body::Body::new(MessageLimited::new(body, limit, &path)));
        if let Some(deadline) = deadline {
            set_deadline(request.headers_mut(), deadline);
        }
        let call = self.inner.call(request);
        Box::pin(async move {
            let Some(deadline) = deadline else {
                return call.await;
            };
            match tokio::time::timeout(deadline, call).await {
                Ok(answered) => answered,
                Err(_) => Ok(deadline_exceeded(deadline).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::deadline::GRPC_TIMEOUT_HEADER;
    use super::*;

    #[tokio::test]
    async fn a_call_that_outlives_its_capped_deadline_answers_deadline_exceeded() {
        let limits = CallLimits {
            default_deadline: Duration::from_millis(100),
            max_deadline: Duration::from_millis(200),
            ..CallLimits::default()
        };
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let slow = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
            recorded
                .lock()
                .expect("not poisoned")
                .push(request.headers().get(GRPC_TIMEOUT_HEADER).cloned());
            async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(()))
            }
        });
        let mut service = CallLimitsLayer::new(limits).layer(slow);
        let asked_an_hour = http::Request::builder()
            .uri("/rti.x.v1.X/Get")
            .header(GRPC_TIMEOUT_HEADER, "1H")
            .body(http_body_util::Empty::<Bytes>::new())
            .expect("a request");
        let started = std::time::Instant::now();
        let response = service.call(asked_an_hour).await.expect("an answer");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(4),
            "{took:?}"
        );
        let status = tonic::Status::from_header_map(response.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        let named_none = http::Request::builder()
            .uri("/rti.x.v1.X/Get")
            .body(http_body_util::Empty::<Bytes>::new())
            .expect("a request");
        service.call(named_none).await.expect("an answer");
        let seen = seen.lock().expect("not poisoned").clone();
        assert_eq!(
            seen,
            [
                Some(http::HeaderValue::from_static("200m")),
                Some(http::HeaderValue::from_static("100m"))
            ]
        );
    }
}
