//! The `grpc-timeout` header: read, written, and the status of a call that outlived it. Every
//! call has a deadline: the caller's, cut to the maximum of its kind of call, or the default when
//! it names none ([`super::CallLimits::deadline_of`]); it goes on in the header, so the next hop
//! stops too.

use std::time::Duration;

pub const GRPC_TIMEOUT_HEADER: &str = "grpc-timeout";

/// The most digits a `grpc-timeout` value may have (gRPC over HTTP/2).
const MAX_DIGITS: usize = 8;

/// Reads a `grpc-timeout` value (`100m`, `30S`, `2H`); `None` when it is malformed, as if the
/// caller had named no deadline.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > MAX_DIGITS + 1 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3_600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Writes `deadline` as a `grpc-timeout` value: milliseconds while they fit in eight digits
/// (27 hours), seconds beyond.
pub fn format_grpc_timeout(deadline: Duration) -> String {
    let limit = 10_u128.pow(u32::try_from(MAX_DIGITS).unwrap_or(8)) - 1;
    let millis = deadline.as_millis();
    if millis <= limit {
        format!("{millis}m")
    } else {
        format!("{}S", u128::from(deadline.as_secs()).min(limit))
    }
}

/// The deadline asked for in `headers`, if any.
pub fn asked_deadline(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(GRPC_TIMEOUT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_grpc_timeout)
}

/// Sets the call's deadline for the next hop.
pub fn set_deadline(headers: &mut http::HeaderMap, deadline: Duration) {
    if let Ok(value) = http::HeaderValue::from_str(&format_grpc_timeout(deadline)) {
        headers.insert(GRPC_TIMEOUT_HEADER, value);
    }
}

/// The status of a call that outlived its deadline.
pub fn deadline_exceeded(deadline: Duration) -> tonic::Status {
    tonic::Status::deadline_exceeded(format!(
        "the call did not finish within its deadline of {} ms",
        deadline.as_millis()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit_and_refuses_malformed_values() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7_200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("30S"), Some(Duration::from_secs(30)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for malformed in ["", "S", "10", "1s", "-1S", "123456789S", "1.5S", "١S"] {
            assert_eq!(parse_grpc_timeout(malformed), None, "{malformed}");
        }
    }

    #[test]
    fn writes_a_deadline_that_reads_back() {
        for deadline in [
            Duration::from_millis(1),
            Duration::from_secs(60),
            Duration::from_secs(600),
        ] {
            assert_eq!(parse_grpc_timeout(&format_grpc_timeout(deadline)), Some(deadline));
        }
        let days = Duration::from_secs(10 * 86_400);
        assert_eq!(format_grpc_timeout(days), "864000S");
    }
}
