//! REST/JSON for every RPC, transcoded from the protos' `google.api.http` rules as Envoy's
//! gRPC-JSON transcoder and grpc-gateway do, with no route written by hand (DESIGN §3, issue 14).
//! At start the rules are read from the descriptor set (`bindings`, `template`); a request under
//! `/v1/` is matched, its path variables, query string and body become the request message
//! (`transcode`), and the message goes as a gRPC call **through the same pass-through** as
//! every gRPC call (`proxy::forward`, marked [`Protocol::Rest`]), so authentication, deadlines,
//! size limits, tracing and whatever else guards the pass-through apply alike. The answer comes
//! back as canonical proto3 JSON, newline-delimited for server streams, and failures as one JSON
//! error shape with the HTTP status of the shared mapping (`reply`, `error`). A client stream
//! (`IngestUsage`) takes a newline-delimited JSON body, one message per line. The same bindings
//! and the protos' comments make the OpenAPI document at `/openapi.json` (`openapi`) and the API
//! page at `/docs` (`docs`), both built once at start.

mod bindings;
mod docs;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod openapi;
mod reply;
mod template;
mod transcode;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rti_platform::authz::AuthzTable;
use rti_platform::limits::CallLimits;
use rti_platform::server::REQUEST_ID_HEADER;

use self::bindings::{Binding, Bindings, Unrouted};
use self::error::RestError;
use super::config::GatewayError;
use super::protocol::Protocol;
use super::proxy::{Proxy, forward};

/// Headers a REST call hands on to its gRPC call: who calls, which call it is, its trace and
/// the deadline the caller asks for.
const FORWARDED_HEADERS: [&str; 5] = [
    "authorization",
    REQUEST_ID_HEADER,
    "traceparent",
    "tracestate",
    "grpc-timeout",
];

/// The REST side of the gateway; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Rest {
    inner: Arc<RestInner>,
}

#[derive(Debug)]
struct RestInner {
    bindings: Bindings,
    proxy: Proxy,
    calls: CallLimits,
    openapi: Bytes,
    docs: String,
}

impl Rest {
    /// Reads the bindings of the suite's services from the shipped descriptor set, and writes
    /// the OpenAPI document and the API page, with the operations `authz` makes public marked.
    pub(crate) fn new(proxy: Proxy, calls: CallLimits, authz: &[&'static AuthzTable]) -> Result<Self, GatewayError> {
        let bindings = Bindings::load(rti_proto::FILE_DESCRIPTOR_SET, &rti_proto::SERVICE_NAMES)
            .map_err(|error| GatewayError::Config(format!("the REST routes cannot be read: {error}")))?;
        for method in bindings.unbound() {
            tracing::warn!(%method, "an RPC has no google.api.http rule, and so no REST route");
        }
        let document = openapi::document(&bindings, authz);
        let docs = docs::page(&document);
        let openapi = Bytes::from(document.to_string());
        Ok(Self {
            inner: Arc::new(RestInner {
                bindings,
                proxy,
                calls,
                openapi,
                docs,
            }),
        })
    }

    /// The routes: `/v1/…` for the RPCs, `/openapi.json` and `/docs`.
    pub(crate) fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/v1/{*path}", axum::routing::any(call))
            .route("/openapi.json", axum::routing::get(openapi_json))
            .route("/docs", axum::routing::get(docs_page))
            .with_state(self)
    }
}

async fn openapi_json(State(rest): State<Rest>) -> Response {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        rest.inner.openapi.clone(),
    )
        .into_response()
}

async fn docs_page(State(rest): State<Rest>) -> Response {
    axum::response::Html(rest.inner.docs.clone()).into_response()
}

/// A REST call, from request to answer.
async fn call(State(rest): State<Rest>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let (binding, captures) = match rest.inner.bindings.find(request.method(), &path) {
        Ok(found) => found,
        Err(unrouted) => return unrouted_response(request.method(), &path, unrouted),
    };
    let grpc_path = binding.grpc_path();
    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    // A client stream's body holds many messages, each under the method's limit.
    let body_limit = if binding.method.is_client_streaming() {
        rest.inner.calls.max_message_bytes
    } else {
        rest.inner.calls.max_message_bytes_of(&grpc_path)
    };
    let framed = match Limited::new(body, body_limit).collect().await {
        Ok(collected) => grpc_body(
            binding,
            &captures,
            query.as_deref(),
            &collected.to_bytes(),
            &rest.inner.calls,
        ),
        Err(error) if error.is::<LengthLimitError>() => Err(RestError::too_large(body_limit)),
        Err(error) => {
            tracing::debug!(%error, "cannot read a REST body");
            Err(RestError::invalid("body", "the body could not be read"))
        }
    };
    let framed = match framed {
        Ok(framed) => framed,
        Err(error) => return refusal_or(&rest, &grpc_path, &parts.headers, error).await,
    };

    let mut grpc = http::Request::new(axum::body::Body::from(framed));
    *grpc.method_mut() = http::Method::POST;
    *grpc.version_mut() = http::Version::HTTP_2;
    match grpc_path.parse() {
        Ok(uri) => *grpc.uri_mut() = uri,
        Err(_) => {
            return RestError::from_status(tonic::Status::internal("a method name is not a path")).into_response();
        }
    }
    let headers = grpc.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    for name in FORWARDED_HEADERS {
        if let Some(value) = parts.headers.get(name) {
            headers.insert(name, value.clone());
        }
    }
    grpc.extensions_mut().insert(Protocol::Rest);
    // Anonymous callers are rate limited by their address, as over gRPC.
    if let Some(peer) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        grpc.extensions_mut().insert(*peer);
    }

    let answer = forward(State(rest.inner.proxy.clone()), grpc).await;
    let output = binding.method.output();
    if binding.method.is_server_streaming() {
        reply::stream(answer, output)
    } else {
        reply::unary(answer, output).await
    }
}

/// The edge's refusal of a call the caller may not make, or else `error`: a request the gateway
/// cannot even turn into a message is answered as the gRPC call would be, authorization first
/// (DESIGN §4), so an anonymous or unauthorized caller learns nothing from its validation.
async fn refusal_or(rest: &Rest, grpc_path: &str, headers: &http::HeaderMap, error: RestError) -> Response {
    match rest
        .inner
        .proxy
        .admit(grpc_path, headers.get(http::header::AUTHORIZATION))
        .await
    {
        Ok(()) => error.into_response(),
        Err(refusal) => RestError::from_status(refusal).into_response(),
    }
}

/// The gRPC frames of a REST request: one message, or one per line of a client stream's body.
fn grpc_body(
    binding: &Binding,
    captures: &template::Captures,
    query: Option<&str>,
    body: &[u8],
    calls: &CallLimits,
) -> Result<Vec<u8>, RestError> {
    if !binding.method.is_client_streaming() {
        let message = transcode::request_message(binding, captures, query, body)?;
        return Ok(reply::frame(&message));
    }
    if query.is_some_and(|query| !query.is_empty()) {
        return Err(RestError::invalid(
            "query",
            "a stream's messages come from the body only",
        ));
    }
    let line_limit = calls.max_message_bytes_of(&binding.grpc_path());
    let mut framed = Vec::with_capacity(body.len());
    for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > line_limit {
            return Err(RestError::too_large(line_limit));
        }
        let message = transcode::stream_message(binding.method.input(), line, index + 1)?;
        framed.extend(reply::frame(&message));
    }
    Ok(framed)
}

fn unrouted_response(method: &http::Method, path: &str, unrouted: Unrouted) -> Response {
    match unrouted {
        Unrouted::NoPath => {
            RestError::from_status(tonic::Status::not_found(format!("no REST route answers {path}"))).into_response()
        }
        Unrouted::OtherMethods(allowed) => {
            let allow: Vec<&str> = allowed.iter().map(http::Method::as_str).collect();
            let mut response =
                RestError::method_not_allowed(format!("{path} answers {}, not {method}", allow.join(", ")))
                    .into_response();
            if let Ok(value) = http::HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(http::header::ALLOW, value);
            }
            response
        }
    }
}
