//! The error codes every service and the gateway agree on, with their gRPC and HTTP mappings,
//! and bad-input errors as `google.rpc.BadRequest` field violations, all of them at once.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The kinds of failure a client can act on. Services map their own errors onto these; the
/// gateway's REST side maps them to HTTP with [`ErrorCode::http_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    Aborted,
    ResourceExhausted,
    DeadlineExceeded,
    Unavailable,
    Unimplemented,
    Internal,
}

impl ErrorCode {
    pub fn grpc_code(self) -> Code {
        match self {
            Self::InvalidArgument => Code::InvalidArgument,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::PermissionDenied => Code::PermissionDenied,
            Self::NotFound => Code::NotFound,
            Self::AlreadyExists => Code::AlreadyExists,
            Self::FailedPrecondition => Code::FailedPrecondition,
            Self::Aborted => Code::Aborted,
            Self::ResourceExhausted => Code::ResourceExhausted,
            Self::DeadlineExceeded => Code::DeadlineExceeded,
            Self::Unavailable => Code::Unavailable,
            Self::Unimplemented => Code::Unimplemented,
            Self::Internal => Code::Internal,
        }
    }

    /// The HTTP status of the canonical gRPC ↔ HTTP mapping (google.rpc.Code).
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as Http;
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => Http::BAD_REQUEST,
            Self::Unauthenticated => Http::UNAUTHORIZED,
            Self::PermissionDenied => Http::FORBIDDEN,
            Self::NotFound => Http::NOT_FOUND,
            Self::AlreadyExists | Self::Aborted => Http::CONFLICT,
            Self::ResourceExhausted => Http::TOO_MANY_REQUESTS,
            Self::DeadlineExceeded => Http::GATEWAY_TIMEOUT,
            Self::Unavailable => Http::SERVICE_UNAVAILABLE,
            Self::Unimplemented => Http::NOT_IMPLEMENTED,
            Self::Internal => Http::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code a gRPC status carries; codes no service emits map to `Internal`.
    pub fn from_grpc(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::PermissionDenied => Self::PermissionDenied,
            Code::NotFound => Self::NotFound,
            Code::AlreadyExists => Self::AlreadyExists,
            Code::FailedPrecondition => Self::FailedPrecondition,
            Code::Aborted => Self::Aborted,
            Code::ResourceExhausted => Self::ResourceExhausted,
            Code::DeadlineExceeded | Code::Cancelled => Self::DeadlineExceeded,
            Code::Unavailable => Self::Unavailable,
            Code::Unimplemented => Self::Unimplemented,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => Self::Internal,
        }
    }

    pub fn status(self, message: impl Into<String>) -> Status {
        Status::new(self.grpc_code(), message)
    }
}

/// One bad field: a dotted path (`installation.countries[2]`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Collects every bad field of a request, so the client hears of all of them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[FieldViolation] {
        &self.0
    }

    /// `Ok(())` when nothing was added, otherwise the violations as an error.
    pub fn into_result(self) -> Result<(), InvalidInput> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidInput(self.0))
        }
    }
}

/// A request with one or more bad fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", summary(.0))]
pub struct InvalidInput(pub Vec<FieldViolation>);

fn summary(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl InvalidInput {
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = Violations::new();
        violations.add(field, description);
        Self(violations.0)
    }
}

/// How many bytes of violations (fields and descriptions) one status reports. gRPC sends them in
/// trailers, twice (the message percent-encoded, the details in base64), and trailers over the
/// peer's header-list limit (16 KiB by default in h2, hyper and grpc-go) end the call with a
/// transport error instead of its code: a request with dozens of bad values answered UNAVAILABLE.
/// Past this budget a status reports the first violations and how many more there are.
const REPORTED_VIOLATION_BYTES: usize = 2048;
/// The longest field or description reported, in characters: a description may quote a value
/// the client sent, of any length.
const MAX_REPORTED_CHARS: usize = 240;

/// The violations one status reports (at least one, each cut to [`MAX_REPORTED_CHARS`]) and its
/// message: `label: ` and their summary, with the number left out.
fn reported(label: &str, violations: &[FieldViolation]) -> (Vec<FieldViolation>, String) {
    let mut shown = Vec::new();
    let mut bytes = 0;
    for violation in violations {
        let cut = FieldViolation {
            field: cut_to_bound(&violation.field),
            description: cut_to_bound(&violation.description),
        };
        bytes += cut.field.len() + cut.description.len();
        if bytes > REPORTED_VIOLATION_BYTES && !shown.is_empty() {
            break;
        }
        shown.push(cut);
    }
    let mut message = format!("{label}: {}", summary(&shown));
    let left_out = violations.len() - shown.len();
    if left_out > 0 {
        message.push_str(&format!("; and {left_out} more"));
    }
    (shown, message)
}

fn cut_to_bound(text: &str) -> String {
    match text.char_indices().nth(MAX_REPORTED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

impl From<InvalidInput> for Status {
    /// `INVALID_ARGUMENT` whose message lists the fields and whose details carry a
    /// `google.rpc.BadRequest` with one field violation each, as many as fit in trailers.
    fn from(invalid: InvalidInput) -> Self {
        let (shown, message) = reported("invalid input", &invalid.0);
        let mut details = ErrorDetails::new();
        for violation in shown {
            details.add_bad_request_violation(violation.field, violation.description);
        }
        Status::with_error_details(Code::InvalidArgument, message, details)
    }
}

/// A request that is well formed but cannot be carried out in the current state, for each of
/// the listed reasons (e.g. an installation that lacks what publishing requires).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed precondition: {}", summary(.0))]
pub struct FailedPrecondition(pub Vec<FieldViolation>);

impl From<Violations> for FailedPrecondition {
    fn from(violations: Violations) -> Self {
        Self(violations.0)
    }
}

impl From<FailedPrecondition> for Status {
    /// `FAILED_PRECONDITION` whose message lists the subjects and whose details carry a
    /// `google.rpc.PreconditionFailure` with one violation each (type `INCOMPLETE`, the field
    /// as subject).
    fn from(failed: FailedPrecondition) -> Self {
        let (shown, message) = reported("failed precondition", &failed.0);
        let mut details = ErrorDetails::new();
        for violation in shown {
            details.add_precondition_failure_violation("INCOMPLETE", violation.field, violation.description);
        }
        Status::with_error_details(Code::FailedPrecondition, message, details)
    }
}

/// Logs an unexpected failure once, with its cause chain, and gives the client a generic
/// `INTERNAL` that reveals nothing of the inside.
pub fn internal_status(context: &str, error: &(dyn std::error::Error + 'static)) -> Status {
    tracing::error!(error = %error_chain(error), "{context}");
    Status::internal("internal error; the incident was logged")
}

/// An error and its causes on one line: `outer: middle: root`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reports_as_many_violations_as_fit_in_trailers_and_counts_the_rest() {
        let mut violations = Violations::new();
        for index in 0..200 {
            violations.add(
                format!("filter.funding_schemes[{index}]"),
                format!("\"{}\" is not one of the schemes", "é".repeat(400)),
            );
        }
        let Err(invalid) = violations.into_result() else {
            panic!("200 violations");
        };
        let status = Status::from(invalid);
        let mut trailers = http::HeaderMap::new();
        status.add_header(&mut trailers).expect("a valid status");
        let size: usize = trailers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        assert!(size < 12 * 1024, "trailers of {size} bytes stay under h2's 16 KiB");
        let reported = status
            .get_details_bad_request()
            .expect("field violations")
            .field_violations;
        assert!(!reported.is_empty() && reported.len() < 200, "{}", reported.len());
        assert_eq!(reported[0].field, "filter.funding_schemes[0]");
        assert!(reported[0].description.ends_with('…'), "a long description is cut");
        assert!(
            status
                .message()
                .ends_with(&format!("; and {} more", 200 - reported.len())),
            "{}",
            status.message()
        );
    }

    #[test]
    fn a_status_with_few_violations_reports_them_all_unchanged() {
        let mut violations = Violations::new();
        violations.add("provider.name", "is required");
        violations.add("provider.country", "is not an ISO 3166-1 code");
        let Err(invalid) = violations.into_result() else {
            panic!("two violations");
        };
        let message = invalid.to_string();
        let status = Status::from(invalid);
        assert_eq!(status.message(), message);
        let reported = status
            .get_details_bad_request()
            .expect("field violations")
            .field_violations;
        assert_eq!(reported.len(), 2);
        assert_eq!(reported[1].description, "is not an ISO 3166-1 code");
    }

    #[test]
    fn every_code_round_trips_through_grpc() {
        use ErrorCode::*;
        for code in [
            InvalidArgument,
            Unauthenticated,
            PermissionDenied,
            NotFound,
            AlreadyExists,
            FailedPrecondition,
            Aborted,
            ResourceExhausted,
            DeadlineExceeded,
            Unavailable,
            Unimplemented,
            Internal,
        ] {
            assert_eq!(ErrorCode::from_grpc(code.grpc_code()), code);
        }
    }

    #[test]
    fn maps_to_http_statuses_clients_expect() {
        assert_eq!(ErrorCode::NotFound.http_status(), http::StatusCode::NOT_FOUND);
        assert_eq!(ErrorCode::Unauthenticated.http_status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(ErrorCode::PermissionDenied.http_status(), http::StatusCode::FORBIDDEN);
        assert_eq!(
            ErrorCode::Unavailable.http_status(),
            http::StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn invalid_input_carries_every_violation_as_bad_request_details() {
        let mut violations = Violations::new();
        violations.add("infrastructure.name", "must not be empty");
        violations.add("infrastructure.countries[1]", "\"XX\" is not a country code");
        let status = Status::from(violations.into_result().expect_err("two violations"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status.get_details_bad_request().expect("bad request details");
        let fields: Vec<_> = bad_request.field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["infrastructure.name", "infrastructure.countries[1]"]);
        assert!(status.message().contains("infrastructure.name: must not be empty"));
    }

    #[test]
    fn empty_violations_are_ok() {
        assert_eq!(Violations::new().into_result(), Ok(()));
    }
}
