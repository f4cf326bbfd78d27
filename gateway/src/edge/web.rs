//! Browsers on the gateway's port (DESIGN §3, issue 14): gRPC-Web calls (`application/grpc-web`,
//! `application/grpc-web-text`, over HTTP/1.1 or HTTP/2) are translated to gRPC by tonic-web and
//! marked [`Protocol::GrpcWeb`], then served like any gRPC call, by the gateway's own health and
//! reflection or through the pass-through; every other request (plain gRPC, REST) goes by
//! untouched. Cross-origin calls are answered only for the configured origins (CORS, for
//! gRPC-Web and REST alike): with none configured, no CORS headers are sent and browsers keep
//! other sites' pages from calling.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderName, HeaderValue, Method};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::protocol::Protocol;

/// What a browser may send beyond the CORS-safelisted headers: gRPC-Web's own, the bearer token,
/// a deadline, a request id and trace context.
const ALLOWED_HEADERS: [&str; 8] = [
    "authorization",
    "content-type",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
    "x-request-id",
    "traceparent",
    "tracestate",
];

/// What a page may read of an answer: the gRPC status (gRPC-Web sends it in headers when the
/// answer has no messages), the request id and a rate limit's retry hint.
const EXPOSED_HEADERS: [&str; 5] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
    "retry-after",
];

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3_600);

/// `router` with gRPC-Web in front of it and, when `origins` are given, CORS for them.
pub(crate) fn front(router: axum::Router, origins: &[HeaderValue]) -> axum::Router {
    let grpc = tower::util::MapResponse::new(router.clone(), |response: http::Response<Body>| {
        response.map(tonic::body::Body::new)
    });
    let grpc_web = tonic_web::GrpcWebLayer::new().layer(grpc);
    let dispatch = tower::service_fn(move |mut request: http::Request<Body>| {
        let grpc_web = grpc_web.clone();
        let router = router.clone();
        async move {
            if is_grpc_web(request.headers()) {
                request.extensions_mut().insert(Protocol::GrpcWeb);
                let response = grpc_web.oneshot(request).await?;
                Ok::<_, Infallible>(response.map(Body::new))
            } else {
                router.oneshot(request).await
            }
        }
    });
    let front = axum::Router::new().fallback_service(dispatch);
    match cors(origins) {
        Some(cors) => front.layer(cors),
        None => front,
    }
}

/// `application/grpc-web`, `application/grpc-web+proto`, `application/grpc-web-text`, …
fn is_grpc_web(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web"))
}

fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;

    use super::*;

    /// Answers with the protocol the request was marked with, and its content type.
    fn echo_protocol() -> axum::Router {
        axum::Router::new().fallback(|request: axum::extract::Request| async move {
            let content_type = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            format!("{} {content_type}", Protocol::of(&request).as_str()).into_response()
        })
    }

    async fn send(router: axum::Router, request: http::Request<Body>) -> http::Response<Body> {
        router.oneshot(request).await.expect("infallible")
    }

    fn request(version: http::Version, content_type: &str) -> http::Request<Body> {
        http::Request::post("/rti.registry.v1.RegistryService/GetInstallation")
            .version(version)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Body::empty())
            .expect("a request")
    }

    #[tokio::test]
    async fn only_grpc_web_is_translated_and_marked() {
        let answer = send(
            front(echo_protocol(), &[]),
            request(http::Version::HTTP_2, "application/grpc"),
        )
        .await;
        let body = answer.into_body().collect().await.expect("a body").to_bytes();
        assert_eq!(body, "grpc application/grpc");

        let answer = send(
            front(echo_protocol(), &[]),
            request(http::Version::HTTP_11, "application/json"),
        )
        .await;
        assert_eq!(answer.status(), http::StatusCode::OK, "REST passes untouched");
        let body = answer.into_body().collect().await.expect("a body").to_bytes();
        assert_eq!(body, "grpc application/json");

        for content_type in [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
        ] {
            let answer = send(
                front(echo_protocol(), &[]),
                request(http::Version::HTTP_11, content_type),
            )
            .await;
            let answer_type = answer.headers().get(http::header::CONTENT_TYPE).cloned();
            assert!(
                answer_type.is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web")),
                "{content_type}"
            );
            if content_type.contains("text") {
                continue;
            }
            // The inner service saw gRPC, marked as arriving in gRPC-Web.
            let body = answer.into_body().collect().await.expect("a body").to_bytes();
            assert_eq!(body, "grpc-web application/grpc", "{content_type}");
        }
    }

    fn preflight(origin: &str) -> http::Request<Body> {
        http::Request::options("/rti.registry.v1.RegistryService/GetInstallation")
            .header(http::header::ORIGIN, origin)
            .header(http::header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                http::header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,x-grpc-web,authorization",
            )
            .body(Body::empty())
            .expect("a request")
    }

    #[tokio::test]
    async fn a_preflight_is_allowed_for_a_configured_origin_only() {
        let origins = [HeaderValue::from_static("https://portal.example")];
        let allowed = send(front(echo_protocol(), &origins), preflight("https://portal.example")).await;
        assert_eq!(
            allowed.headers().get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(&HeaderValue::from_static("https://portal.example"))
        );
        let allowed_headers = allowed
            .headers()
            .get(http::header::ACCESS_CONTROL_ALLOW_HEADERS)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(allowed_headers.contains("authorization") && allowed_headers.contains("x-grpc-web"));

        let refused = send(front(echo_protocol(), &origins), preflight("https://elsewhere.example")).await;
        assert_eq!(refused.headers().get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
    }

    #[tokio::test]
    async fn without_origins_no_cors_headers_are_sent() {
        let answer = send(front(echo_protocol(), &[]), preflight("https://portal.example")).await;
        assert_eq!(answer.headers().get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
    }
}
