//! Bounds on what a caller may send and how long it may hold a listener (issue 13, items 3 and
//! 8), the same at the gateway and at every service ([`CallLimitsLayer`]): the largest message
//! of a call ([`MessageLimited`], by method, so `ImportSanctionsList` alone takes tens of
//! megabytes), the deadline of a call (a default when the caller names none, capped at a
//! maximum), the connections a listener serves at once ([`ConnectionCap`]), and channels to
//! other services that give up on a silent host ([`UpstreamLimits::channel`]). Every value is a
//! setting with a default that suits production.

mod connections;
mod deadline;
mod frames;
mod layer;

use std::time::Duration;

use clap::Args;
use tonic::transport::{Channel, Endpoint};

use crate::config::parse_duration;
pub use connections::{CappedConnection, CappedIncoming, ConnectionCap};
pub use deadline::{asked_deadline, deadline_exceeded, format_grpc_timeout, parse_grpc_timeout, set_deadline};
pub use frames::MessageLimited;
pub use layer::CallLimitsLayer;

const MIB: usize = 1024 * 1024;

/// The largest message of a call that names no other limit.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * MIB;
/// `ImportSanctionsList`: the EU sanctions list's XML export is tens of megabytes.
pub const MAX_SANCTIONS_LIST_BYTES: usize = 64 * MIB;
/// One message of `IngestUsage`'s stream: a usage record is a few hundred bytes; the stream may
/// be long, each message not.
pub const MAX_USAGE_RECORD_BYTES: usize = 64 * 1024;

/// How long a call may take, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Answers in one go: the default deadline when the caller names none, the maximum at most.
    Standard,
    /// A bulk upload (the sanctions list, the usage stream): the long maximum.
    Bulk,
    /// An event stream that lives as long as its subscriber (`Subscribe`): a deadline only when
    /// the caller asks for one, capped at the long maximum; the deadline covers the wait for
    /// the stream to open.
    Subscription,
}

/// A call whose limits differ from the default.
#[derive(Debug, Clone, Copy)]
struct SpecialCall {
    path: &'static str,
    max_message_bytes: usize,
    kind: CallKind,
}

const SPECIAL_CALLS: &[SpecialCall] = &[
    SpecialCall {
        path: "/rti.intake.v1.IntakeService/ImportSanctionsList",
        max_message_bytes: MAX_SANCTIONS_LIST_BYTES,
        kind: CallKind::Bulk,
    },
    SpecialCall {
        path: "/rti.reporting.v1.ReportingService/IngestUsage",
        max_message_bytes: MAX_USAGE_RECORD_BYTES,
        kind: CallKind::Bulk,
    },
];

fn special_call(path: &str) -> Option<&'static SpecialCall> {
    SPECIAL_CALLS.iter().find(|call| call.path == path)
}

/// What kind of call `path` (`/package.Service/Method`) is.
pub fn call_kind(path: &str) -> CallKind {
    if let Some(call) = special_call(path) {
        return call.kind;
    }
    if path.ends_with("/Subscribe") {
        CallKind::Subscription
    } else {
        CallKind::Standard
    }
}

/// Every limit of a service or of the gateway, each group with its settings.
#[derive(Debug, Clone, Default, Args)]
pub struct Limits {
    #[command(flatten)]
    pub calls: CallLimits,
    #[command(flatten)]
    pub listener: ListenerLimits,
    #[command(flatten)]
    pub upstream: UpstreamLimits,
}

impl Limits {
    pub fn validate(&self) -> Result<(), String> {
        self.calls.validate()?;
        self.listener.validate()
    }
}

/// How large a call's messages and how long a call may be; the gateway and every service apply
/// the same.
#[derive(Debug, Clone, Args)]
pub struct CallLimits {
    /// The largest message of a call, in bytes; `ImportSanctionsList` takes up to 64 MiB and each
    /// message of `IngestUsage` up to 64 KiB whatever this says.
    #[arg(long = "max-message-bytes", env = "RTI_SERVER_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// The deadline of a call whose caller names none (`grpc-timeout`).
    #[arg(long = "default-deadline", env = "RTI_SERVER_DEFAULT_DEADLINE", default_value = "30s", value_parser = parse_duration)]
    pub default_deadline: Duration,
    /// The longest deadline a caller may ask for; a longer one is cut to it.
    #[arg(long = "max-deadline", env = "RTI_SERVER_MAX_DEADLINE", default_value = "60s", value_parser = parse_duration)]
    pub max_deadline: Duration,
    /// The longest deadline of a bulk upload (`ImportSanctionsList`, `IngestUsage`), which is
    /// also its deadline when the caller names none.
    #[arg(long = "max-bulk-deadline", env = "RTI_SERVER_MAX_BULK_DEADLINE", default_value = "10m", value_parser = parse_duration)]
    pub max_bulk_deadline: Duration,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            default_deadline: Duration::from_secs(30),
            max_deadline: Duration::from_secs(60),
            max_bulk_deadline: Duration::from_secs(600),
        }
    }
}

impl CallLimits {
    /// Refuses limits that would refuse every call or contradict each other.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_message_bytes < 1024 {
            return Err(format!(
                "the largest message ({} bytes) must be at least 1024 bytes",
                self.max_message_bytes
            ));
        }
        if self.default_deadline.is_zero() || self.default_deadline > self.max_deadline {
            return Err(format!(
                "the default deadline ({:?}) must be above zero and at most the maximum deadline ({:?})",
                self.default_deadline, self.max_deadline
            ));
        }
        if self.max_bulk_deadline < self.max_deadline {
            return Err(format!(
                "the bulk deadline ({:?}) must be at least the maximum deadline ({:?})",
                self.max_bulk_deadline, self.max_deadline
            ));
        }
        Ok(())
    }

    /// The largest message `path` may carry.
    pub fn max_message_bytes_of(&self, path: &str) -> usize {
        special_call(path).map_or(self.max_message_bytes, |call| call.max_message_bytes)
    }

    /// The largest message any call of `service` (`rti.intake.v1.IntakeService`) may carry: the
    /// decoding limit of its generated server, behind the per-call check.
    pub fn largest_message_bytes_of_service(&self, service: &str) -> usize {
        SPECIAL_CALLS
            .iter()
            .filter(|call| call.path.trim_start_matches('/').starts_with(&format!("{service}/")))
            .map(|call| call.max_message_bytes)
            .fold(self.max_message_bytes, usize::max)
    }

    /// The deadline of a call to `path` whose caller asked for `asked` (`None`: named none).
    pub fn deadline_of(&self, path: &str, asked: Option<Duration>) -> Option<Duration> {
        match (call_kind(path), asked) {
            (CallKind::Standard, asked) => Some(asked.unwrap_or(self.default_deadline).min(self.max_deadline)),
            (CallKind::Bulk, asked) => Some(asked.unwrap_or(self.max_bulk_deadline).min(self.max_bulk_deadline)),
            (CallKind::Subscription, asked) => asked.map(|asked| asked.min(self.max_bulk_deadline)),
        }
    }
}

/// How a listener treats its connections.
#[derive(Debug, Clone, Args)]
pub struct ListenerLimits {
    /// The most connections served at once; more wait in the kernel's accept queue.
    #[arg(
        long = "connection-limit",
        env = "RTI_SERVER_CONNECTION_LIMIT",
        default_value_t = 1024
    )]
    pub connection_limit: usize,
    /// The most calls (HTTP/2 streams) in progress on one connection.
    #[arg(
        long = "max-calls-per-connection",
        env = "RTI_SERVER_MAX_CALLS_PER_CONNECTION",
        default_value_t = 128
    )]
    pub max_calls_per_connection: u32,
    /// How often an idle HTTP/2 connection is pinged.
    #[arg(long = "http2-keepalive-interval", env = "RTI_SERVER_HTTP2_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed.
    #[arg(long = "http2-keepalive-timeout", env = "RTI_SERVER_HTTP2_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,
    /// How long an HTTP/1 client may take to send a request's headers (the gateway's port
    /// serves HTTP/1; the services' do not).
    #[arg(long = "header-read-timeout", env = "RTI_SERVER_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            connection_limit: 1024,
            max_calls_per_connection: 128,
            http2_keepalive_interval: Duration::from_secs(30),
            http2_keepalive_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

impl ListenerLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.connection_limit == 0 || self.max_calls_per_connection == 0 {
            return Err("the most connections and calls per connection must be at least 1".into());
        }
        if self.http2_keepalive_interval.is_zero()
            || self.http2_keepalive_timeout.is_zero()
            || self.header_read_timeout.is_zero()
        {
            return Err("the keep-alive interval and timeout and the header read timeout must be above zero".into());
        }
        Ok(())
    }
}

/// How a service calls the suite's other services.
#[derive(Debug, Clone, Args)]
pub struct UpstreamLimits {
    /// How long a connection attempt to another service may take.
    #[arg(long = "upstream-connect-timeout", env = "RTI_SERVICE_UPSTREAM_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// How long a call from one service to another may take (until the first response for an
    /// event stream); the gateway gives each call the deadline of --default-deadline and
    /// --max-deadline instead.
    #[arg(long = "upstream-deadline", env = "RTI_SERVICE_UPSTREAM_DEADLINE", default_value = "15s", value_parser = parse_duration)]
    pub deadline: Duration,
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(15),
        }
    }
}

impl UpstreamLimits {
    /// A lazy channel to `uri` with the connect timeout and the per-call deadline: nothing
    /// connects until the first call, so a service starts while the others are starting.
    pub fn channel(&self, uri: http::Uri) -> Channel {
        Endpoint::from(uri)
            .connect_timeout(self.connect_timeout)
            .timeout(self.deadline)
            .tcp_nodelay(true)
            .connect_lazy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPORT: &str = "/rti.intake.v1.IntakeService/ImportSanctionsList";
    const INGEST: &str = "/rti.reporting.v1.ReportingService/IngestUsage";
    const CREATE: &str = "/rti.intake.v1.IntakeService/CreateAccessRequest";

    #[test]
    fn only_the_sanctions_import_takes_tens_of_megabytes() {
        let limits = CallLimits::default();
        assert_eq!(limits.max_message_bytes_of(IMPORT), 64 * MIB);
        assert_eq!(limits.max_message_bytes_of(CREATE), 4 * MIB);
        assert_eq!(limits.max_message_bytes_of(INGEST), 64 * 1024);
        assert_eq!(
            limits.largest_message_bytes_of_service("rti.intake.v1.IntakeService"),
            64 * MIB
        );
        assert_eq!(
            limits.largest_message_bytes_of_service("rti.registry.v1.RegistryService"),
            4 * MIB
        );
        assert_eq!(limits.largest_message_bytes_of_service("rti.intake.v1.Intake"), 4 * MIB);
    }

    #[test]
    fn a_deadline_defaults_and_is_capped_by_the_kind_of_call() {
        let limits = CallLimits::default();
        let secs = Duration::from_secs;
        assert_eq!(limits.deadline_of(CREATE, None), Some(secs(30)));
        assert_eq!(limits.deadline_of(CREATE, Some(secs(5))), Some(secs(5)));
        assert_eq!(limits.deadline_of(CREATE, Some(secs(3600))), Some(secs(60)));
        assert_eq!(limits.deadline_of(IMPORT, None), Some(secs(600)));
        assert_eq!(limits.deadline_of(INGEST, Some(secs(86_400))), Some(secs(600)));
        let subscribe = "/rti.registry.v1.RegistryService/Subscribe";
        assert_eq!(limits.deadline_of(subscribe, None), None);
        assert_eq!(limits.deadline_of(subscribe, Some(secs(86_400))), Some(secs(600)));
    }

    #[tokio::test]
    async fn a_channel_gives_up_on_an_upstream_that_never_answers_within_its_deadline() {
        // Listening, so the connection opens, but nothing ever reads or answers on it.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = silent.local_addr().expect("bound");
        let limits = UpstreamLimits {
            connect_timeout: Duration::from_millis(200),
            deadline: Duration::from_millis(300),
        };
        let uri: http::Uri = format!("http://{address}").parse().expect("a URI");
        let mut client = tonic_health::pb::health_client::HealthClient::new(limits.channel(uri));
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            client.check(tonic_health::pb::HealthCheckRequest::default()),
        )
        .await
        .expect("the channel gives up by itself");
        assert!(answer.is_err(), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        drop(silent);
    }

    #[test]
    fn contradictory_limits_are_refused() {
        assert!(CallLimits::default().validate().is_ok());
        let short_max = CallLimits {
            max_deadline: Duration::from_secs(1),
            ..CallLimits::default()
        };
        assert!(short_max.validate().expect_err("refused").contains("maximum deadline"));
        let tiny = CallLimits {
            max_message_bytes: 10,
            ..CallLimits::default()
        };
        assert!(tiny.validate().is_err());
        assert!(ListenerLimits::default().validate().is_ok());
        let no_connections = ListenerLimits {
            connection_limit: 0,
            ..ListenerLimits::default()
        };
        assert!(no_connections.validate().is_err());
    }
}
