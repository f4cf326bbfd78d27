//! Configuration pieces shared by every command: clap argument groups whose every field is also
//! an environment variable `RTI_<SECTION>_<NAME>`. Tests build these structs directly and never
//! touch the environment.

use std::time::Duration;

use clap::{Args, ValueEnum};

/// The audience of the suite's service-to-service tokens when none is configured.
pub const DEFAULT_SERVICE_AUDIENCE: &str = "rti-internal";

/// How long a token naming a key id the JWKS does not hold waits before it may refetch the set.
pub const DEFAULT_JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How bearer tokens are verified.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// HS256 secret that signs bearer tokens, at least 32 bytes (development and single-tenant).
    #[arg(long = "auth-secret", env = "RTI_AUTH_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// JWKS URL of the identity provider whose RS256/ES256 tokens are accepted (production).
    #[arg(long = "auth-jwks-url", env = "RTI_AUTH_JWKS_URL")]
    pub jwks_url: Option<url::Url>,
    /// Required `iss` claim, when set.
    #[arg(long = "auth-issuer", env = "RTI_AUTH_ISSUER")]
    pub issuer: Option<String>,
    /// Required `aud` claim, when set.
    #[arg(long = "auth-audience", env = "RTI_AUTH_AUDIENCE")]
    pub audience: Option<String>,
    /// The token this service presents to the suite's other services, with the `service` role and
    /// the service audience, where tokens come from an identity provider; without it, one is
    /// minted with the service secret.
    #[arg(long = "auth-service-token", env = "RTI_AUTH_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: Option<String>,
    /// HS256 secret that signs only the services' tokens to each other, at least 32 bytes and not
    /// the user-token secret; the gateway never needs it.
    #[arg(
        long = "auth-service-secret",
        env = "RTI_AUTH_SERVICE_SECRET",
        hide_env_values = true
    )]
    pub service_secret: Option<String>,
    /// The `aud` of service-to-service tokens; a token naming it carries the `service` role only.
    #[arg(long = "auth-service-audience", env = "RTI_AUTH_SERVICE_AUDIENCE", default_value = DEFAULT_SERVICE_AUDIENCE)]
    pub service_audience: String,
    /// The least time between two fetches of the JWKS caused by an unknown key id.
    #[arg(long = "auth-jwks-refetch-interval", env = "RTI_AUTH_JWKS_REFETCH_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub jwks_refetch_interval: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            secret: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            service_token: None,
            service_secret: None,
            service_audience: DEFAULT_SERVICE_AUDIENCE.to_owned(),
            jwks_refetch_interval: DEFAULT_JWKS_REFETCH_INTERVAL,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logs and traces.
#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// Log line format.
    #[arg(long = "log-format", env = "RTI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Which logs to keep, as a tracing filter (e.g. "info,rti_registry=debug").
    #[arg(long = "log-filter", env = "RTI_LOG_FILTER", default_value = "info")]
    pub log_filter: String,
    /// OTLP/gRPC collector endpoint; traces are exported only when it is set.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<url::Url>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            otlp_endpoint: None,
        }
    }
}

/// Parses durations such as `500ms`, `30s`, `15m`, `1h`, `2d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 1h or 2d"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(value)),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration like 30s, 15m, 1h or 2d")),
    };
    Ok(Duration::from_secs(value.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
    }

    #[test]
    fn rejects_durations_without_a_known_unit() {
        for text in ["10", "h", "1w", "-1s", ""] {
            assert!(parse_duration(text).is_err(), "{text} accepted");
        }
    }
}
