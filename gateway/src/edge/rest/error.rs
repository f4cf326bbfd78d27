//! Errors over REST: one JSON shape for every failure, whether the gateway refused the call or
//! the service did, `{"code": 5, "status": "NOT_FOUND", "message": "…", "details": […]}` as
//! Google's APIs and grpc-gateway write it, with the HTTP status of the shared gRPC ↔ HTTP
//! mapping (`rti_platform::error::ErrorCode::http_status`). The field violations of
//! `google.rpc.BadRequest` (and the other standard details the services send) come from
//! `grpc-status-details-bin`, so a REST client sees every bad field at once, as a gRPC client
//! does.

use axum::response::{IntoResponse, Response};
use rti_platform::error::ErrorCode;
use rti_platform::metrics::code_name;
use serde_json::{Value as Json, json};
use tonic::Code;
use tonic_types::StatusExt;

/// A failed REST call: a gRPC status and the HTTP status it is answered with.
#[derive(Debug)]
pub(crate) struct RestError {
    http_status: http::StatusCode,
    status: tonic::Status,
    retry_after: Option<http::HeaderValue>,
}

impl RestError {
    /// The service's (or the edge's) answer, with the HTTP status of its code.
    pub(crate) fn from_status(status: tonic::Status) -> Self {
        Self {
            http_status: ErrorCode::from_grpc(status.code()).http_status(),
            status,
            retry_after: None,
        }
    }

    /// Bad input found by the gateway: INVALID_ARGUMENT with one field violation.
    pub(crate) fn invalid(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        let status = tonic::Status::with_error_details(
            Code::InvalidArgument,
            format!("{field}: {description}"),
            tonic_types::ErrorDetails::with_bad_request_violation(field, description),
        );
        Self::from_status(status)
    }

    /// A body over the limit of its method: 413, whatever 429 RESOURCE_EXHAUSTED maps to.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self {
            http_status: http::StatusCode::PAYLOAD_TOO_LARGE,
            status: tonic::Status::resource_exhausted(format!("the body is larger than the limit of {limit} bytes")),
            retry_after: None,
        }
    }

    /// A path that answers other HTTP methods: 405, UNIMPLEMENTED as grpc-gateway has it.
    pub(crate) fn method_not_allowed(message: String) -> Self {
        Self {
            http_status: http::StatusCode::METHOD_NOT_ALLOWED,
            status: tonic::Status::unimplemented(message),
            retry_after: None,
        }
    }

    /// The client's `Retry-After`, when the refusal (a rate limit) carried one.
    pub(crate) fn with_retry_after(mut self, retry_after: Option<http::HeaderValue>) -> Self {
        self.retry_after = retry_after;
        self
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn http_status(&self) -> http::StatusCode {
        self.http_status
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn message(&self) -> &str {
        self.status.message()
    }

    /// The `google.rpc.BadRequest` violations, as (field, description).
    #[cfg(test)]
    pub(crate) fn violations(&self) -> Vec<(String, String)> {
        self.status
            .get_details_bad_request()
            .map(|bad_request| {
                bad_request
                    .field_violations
                    .into_iter()
                    .map(|violation| (violation.field, violation.description))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The JSON body: also the last line of a newline-delimited stream that fails midway.
    pub(crate) fn to_json(&self) -> Json {
        error_json(&self.status)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = (self.http_status, axum::Json(self.to_json())).into_response();
        if let Some(retry_after) = self.retry_after {
            response.headers_mut().insert(http::header::RETRY_AFTER, retry_after);
        }
        response
    }
}

/// `{"code", "status", "message", "details"}` of a gRPC status.
fn error_json(status: &tonic::Status) -> Json {
    json!({
        "code": i32::from(status.code()),
        "status": code_name(i32::from(status.code())),
        "message": status.message(),
        "details": details_json(status),
    })
}

/// The standard details a status carries, each with its `@type`, as google.rpc's JSON has them.
fn details_json(status: &tonic::Status) -> Vec<Json> {
    let details = status.get_error_details();
    let mut found = Vec::new();
    if let Some(bad_request) = details.bad_request() {
        let violations: Vec<Json> = bad_request
            .field_violations
            .iter()
            .map(|violation| json!({"field": violation.field, "description": violation.description}))
            .collect();
        found.push(json!({"@type": tonic_types::BadRequest::TYPE_URL, "fieldViolations": violations}));
    }
    if let Some(failure) = details.precondition_failure() {
        let violations: Vec<Json> = failure
            .violations
            .iter()
            .map(|violation| {
                json!({"type": violation.r#type, "subject": violation.subject, "description": violation.description})
            })
            .collect();
        found.push(json!({"@type": tonic_types::PreconditionFailure::TYPE_URL, "violations": violations}));
    }
    if let Some(info) = details.error_info() {
        found.push(json!({
            "@type": tonic_types::ErrorInfo::TYPE_URL,
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }));
    }
    if let Some(retry) = details.retry_info()
        && let Some(delay) = retry.retry_delay
    {
        found.push(json!({
            "@type": tonic_types::RetryInfo::TYPE_URL,
            "retryDelay": format!("{}.{:09}s", delay.as_secs(), delay.subsec_nanos()),
        }));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_with_field_violations_becomes_json_with_all_of_them() {
        let mut details = tonic_types::ErrorDetails::new();
        details
            .add_bad_request_violation("provider.name", "is required")
            .add_bad_request_violation("provider.country", "is not an ISO 3166-1 code");
        let status = tonic::Status::with_error_details(Code::InvalidArgument, "2 invalid fields", details);
        let error = RestError::from_status(status);
        assert_eq!(error.http_status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(
            error.to_json(),
            json!({
                "code": 3,
                "status": "INVALID_ARGUMENT",
                "message": "2 invalid fields",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": "provider.name", "description": "is required"},
                        {"field": "provider.country", "description": "is not an ISO 3166-1 code"},
                    ],
                }],
            })
        );
    }

    #[test]
    fn codes_map_to_the_http_statuses_of_google_rpc_code() {
        let cases = [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ];
        for (code, http_status) in cases {
            let error = RestError::from_status(tonic::Status::new(code, "x"));
            assert_eq!(error.http_status().as_u16(), http_status, "{code:?}");
            assert_eq!(error.to_json()["status"], code_name(i32::from(code)));
        }
    }

    #[test]
    fn too_large_is_413_and_keeps_retry_after() {
        assert_eq!(
            RestError::too_large(10).http_status(),
            http::StatusCode::PAYLOAD_TOO_LARGE
        );
        let limited = RestError::from_status(tonic::Status::resource_exhausted("slow down"))
            .with_retry_after(Some(http::HeaderValue::from_static("3")))
            .into_response();
        assert_eq!(limited.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[http::header::RETRY_AFTER], "3");
    }
}
