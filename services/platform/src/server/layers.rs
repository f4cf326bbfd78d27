//! The tower layers every service runs behind: [`RequestLayer`] (request id, a server span that
//! continues the caller's trace, the in-flight count) and [`AuthLayer`] (token verification and
//! the RPC × role table, before the handler decodes anything).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::auth::Authenticator;
use crate::authz::AuthzTable;
use crate::telemetry::extract_context;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Counts calls in progress; shutdown logs it and tests wait on it.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one more call until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.0.clone())
    }
}

#[derive(Debug)]
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its call counted as in flight until it is dropped.
pub struct InFlightBody<B> {
    inner: B,
    _guard: InFlightGuard,
}

impl<B> http_body::Body for InFlightBody<B>
where
    B: http_body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[derive(Debug, Clone)]
pub struct RequestLayer {
    in_flight: InFlight,
}

impl RequestLayer {
    pub fn new(in_flight: InFlight) -> Self {
        Self { in_flight }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestService<S> {
    inner: S,
    in_flight: InFlight,
}

impl<S, B, ResponseBody> Service<http::Request<B>> for RequestService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResponseBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    ResponseBody: Send + 'static,
{
    type Response = http::Response<InFlightBody<ResponseBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let guard = self.in_flight.enter();
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.is_empty() && value.len() <= 128)
            .map_or_else(crate::ids::new_id, str::to_owned);
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            request.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let path = request.uri().path().trim_start_matches('/').to_owned();
        // Health probes and reflection are not worth a trace each.
        let span = if path.starts_with("rti.") {
            let (service, method) = path.split_once('/').unwrap_or((path.as_str(), ""));
            let span = tracing::info_span!(
                "grpc.server",
                otel.name = %path,
                otel.kind = "server",
                rpc.system = "grpc",
                rpc.service = %service,
                rpc.method = %method,
                request_id = %request_id,
                rpc.grpc.status_code = tracing::field::Empty,
            );
            if let Err(error) = span.set_parent(extract_context(request.headers())) {
                tracing::debug!(%error, "cannot continue the caller's trace");
            }
            span
        } else {
            tracing::Span::none()
        };
        let ready_clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready_clone);
        let future = async move {
            let mut response = inner.call(request).await?;
            // Errors are trailers-only responses: their status is in the headers.
            let code = crate::metrics::grpc_status_of(response.headers()).unwrap_or(0);
            tracing::Span::current().record("rpc.grpc.status_code", code);
            if let Ok(value) = http::HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            // A call stays in flight until its last frame is sent: streams count too.
            Ok(response.map(|body| InFlightBody {
                inner: body,
                _guard: guard,
            }))
        };
        Box::pin(future.instrument(span))
    }
}

#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
    table: &'static AuthzTable,
}

impl AuthLayer {
    pub fn new(authenticator: Authenticator, table: &'static AuthzTable) -> Self {
        Self { authenticator, table }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
            table: self.table,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Authenticator,
    table: &'static AuthzTable,
}

impl<S, B, ResponseBody> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResponseBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    ResponseBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let ready_clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready_clone);
        // Health and reflection are open to all; this service's RPCs go by the table.
        let Some(method) = self.table.method_of(request.uri().path()).map(str::to_owned) else {
            return Box::pin(inner.call(request));
        };
        let authenticator = self.authenticator.clone();
        let table = self.table;
        Box::pin(async move {
            let principal = match authenticator
                .authenticate(request.headers().get(http::header::AUTHORIZATION))
                .await
            {
                Ok(principal) => principal,
                Err(error) => return Ok(tonic::Status::from(error).into_http()),
            };
            if let Err(status) = table.check(&method, principal.as_ref()) {
                return Ok(status.into_http());
            }
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            inner.call(request).await
        })
    }
}
