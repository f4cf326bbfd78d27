//! A request id on every call: the client's own `x-request-id` when it is short printable ASCII,
//! a new UUID v7 otherwise. It travels to the service and comes back on the response headers,
//! so one id finds a call in the gateway's and the service's logs.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use rti_platform::server::REQUEST_ID_HEADER;

/// The longest client request id kept; longer ones are replaced, not truncated.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// axum middleware: sets `x-request-id` on the request and on its response.
pub(crate) async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .filter(|value| is_acceptable(value))
        .cloned()
        .or_else(|| http::HeaderValue::from_str(&rti_platform::ids::new_id()).ok());
    let Some(request_id) = request_id else {
        // A UUID is always a valid header value; without one the call simply goes on without.
        return next.run(request).await;
    };
    request.headers_mut().insert(REQUEST_ID_HEADER, request_id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, request_id);
    response
}

/// The request id of a request that went through [`assign_request_id`].
pub(crate) fn request_id_of(headers: &http::HeaderMap) -> &str {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn is_acceptable(value: &http::HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID_BYTES && bytes.iter().all(|byte| byte.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_printable_ids_only() {
        assert!(is_acceptable(&http::HeaderValue::from_static("req-42/abc")));
        assert!(!is_acceptable(&http::HeaderValue::from_static("")));
        assert!(!is_acceptable(&http::HeaderValue::from_static("has space")));
        let long = "x".repeat(MAX_REQUEST_ID_BYTES + 1);
        assert!(!is_acceptable(&http::HeaderValue::from_str(&long).expect("ascii")));
        let non_ascii = http::HeaderValue::from_bytes("é".as_bytes()).expect("opaque bytes are allowed");
        assert!(!is_acceptable(&non_ascii));
    }
}
