//! Prometheus metrics of gRPC calls (DESIGN §7): how many calls ended with which gRPC code, and
//! how long they took, per service and method. A call is counted when its response body ends,
//! because the code arrives in the trailers (or in the headers of a trailers-only response), not
//! with the first headers; a call whose client went away before the end counts as `CANCELLED`.
//!
//! Label values are bounded: service and method names come from the RPC tables (and the health
//! and reflection services every server answers), every other path is `unknown`, and codes are
//! the seventeen gRPC names. [`RpcMetricsLayer`] meters a service's server (`layer`);
//! [`MetricsEndpoint`] serves a registry as OpenMetrics text on `/metrics` (`endpoint`). The
//! gateway meters its pass-through with the same pieces and a `protocol` label.

mod endpoint;
mod layer;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::authz::AuthzTable;

pub use endpoint::MetricsEndpoint;
pub use layer::{MeteredBody, RpcMetricsLayer, RpcMetricsService};

/// The label of every path that no RPC table names: one series, however many odd paths arrive.
pub const UNKNOWN: &str = "unknown";

/// Upper bounds of the latency buckets, in seconds: from half a millisecond (a call the gateway
/// refuses, a cached read) to half a minute (bulk calls at their deadline).
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The methods every server answers besides its own service's.
const INFRASTRUCTURE_METHODS: [(&str, &str); 4] = [
    ("grpc.health.v1.Health", "Check"),
    ("grpc.health.v1.Health", "Watch"),
    ("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo"),
    ("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo"),
];

/// The canonical name of a gRPC status code (`OK`, `NOT_FOUND`, …), as grpc-status carries it in
/// numbers; codes outside the seventeen are `UNKNOWN`, as gRPC itself treats them.
pub fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The number of a canonical code name; the inverse of [`code_name`].
pub fn code_of_name(name: &str) -> Option<i32> {
    (0..=16).find(|code| code_name(*code) == name)
}

/// The gRPC status code in `headers` (trailers, or the headers of a trailers-only response).
pub fn grpc_status_of(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
}

/// The known `(service, method)` of gRPC paths, as `'static` labels.
#[derive(Debug, Clone, Default)]
pub struct MethodNames {
    by_path: HashMap<String, (&'static str, &'static str)>,
}

impl MethodNames {
    /// The methods of `tables`, and health and reflection.
    pub fn new(tables: &[&'static AuthzTable]) -> Self {
        let from_tables = tables
            .iter()
            .flat_map(|table| table.rules.iter().map(move |rule| (table.service, rule.method)));
        let by_path = INFRASTRUCTURE_METHODS
            .into_iter()
            .chain(from_tables)
            .map(|(service, method)| (format!("/{service}/{method}"), (service, method)))
            .collect();
        Self { by_path }
    }

    /// `(service, method)` of `path`, or [`UNKNOWN`] twice.
    pub fn of(&self, path: &str) -> (&'static str, &'static str) {
        self.by_path.get(path).copied().unwrap_or((UNKNOWN, UNKNOWN))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    method: &'static str,
    code: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabels {
    service: &'static str,
    method: &'static str,
}

/// A family of latency histograms, one per label set, with [`LATENCY_BUCKETS`].
pub type LatencyFamily<Labels> = Family<Labels, Histogram, fn() -> Histogram>;

/// A histogram family with [`LATENCY_BUCKETS`].
pub fn latency_family<Labels: Clone + std::hash::Hash + Eq>() -> LatencyFamily<Labels> {
    Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS))
}

/// A service's RPC metrics: `rti_rpc_requests_total{service,method,code}` and
/// `rti_rpc_request_duration_seconds{service,method}`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    inner: Arc<RpcMetricsInner>,
}

#[derive(Debug)]
struct RpcMetricsInner {
    names: MethodNames,
    requests: Family<CallLabels, Counter>,
    duration: LatencyFamily<MethodLabels>,
}

impl RpcMetrics {
    /// Metrics of the service `table` describes, registered in `registry`.
    pub fn register(registry: &mut Registry, table: &'static AuthzTable) -> Self {
        let requests = Family::<CallLabels, Counter>::default();
        let duration = latency_family::<MethodLabels>();
        registry.register(
            "rti_rpc_requests",
            "gRPC calls this service finished, by service, method and gRPC code",
            requests.clone(),
        );
        registry.register_with_unit(
            "rti_rpc_request_duration",
            "Time from a call's request headers to the end of its response, by service and method",
            Unit::Seconds,
            duration.clone(),
        );
        Self {
            inner: Arc::new(RpcMetricsInner {
                names: MethodNames::new(&[table]),
                requests,
                duration,
            }),
        }
    }

    /// The labels of a call to `path`.
    pub fn method_of(&self, path: &str) -> (&'static str, &'static str) {
        self.inner.names.of(path)
    }

    /// Counts a finished call.
    pub fn record(&self, (service, method): (&'static str, &'static str), code: i32, elapsed: Duration) {
        self.inner
            .requests
            .get_or_create(&CallLabels {
                service,
                method,
                code: code_name(code),
            })
            .inc();
        self.inner
            .duration
            .get_or_create(&MethodLabels { service, method })
            .observe(elapsed.as_secs_f64());
    }
}

/// Encodes `registry` as OpenMetrics text.
pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{Access, RpcRule};
    use crate::testing::metric_value;

    pub(super) static TABLE: AuthzTable = AuthzTable {
        service: "rti.test.v1.TestService",
        rules: &[RpcRule {
            method: "Get",
            access: Access::Public,
        }],
    };

    #[test]
    fn names_every_code_and_reads_names_back() {
        for code in 0..=16 {
            assert_eq!(code_of_name(code_name(code)), Some(code));
        }
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(code_name(99), "UNKNOWN");
        assert_eq!(code_of_name("NOPE"), None);
    }

    #[test]
    fn labels_known_methods_and_folds_the_rest_into_one() {
        let names = MethodNames::new(&[&TABLE]);
        assert_eq!(
            names.of("/rti.test.v1.TestService/Get"),
            ("rti.test.v1.TestService", "Get")
        );
        assert_eq!(
            names.of("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(names.of("/rti.test.v1.TestService/Other"), (UNKNOWN, UNKNOWN));
        assert_eq!(names.of("/made/up/path"), (UNKNOWN, UNKNOWN));
    }

    #[test]
    fn counts_calls_by_code_and_fills_cumulative_buckets() {
        let mut registry = Registry::default();
        let metrics = RpcMetrics::register(&mut registry, &TABLE);
        let get = metrics.method_of("/rti.test.v1.TestService/Get");
        metrics.record(get, 0, Duration::from_micros(300));
        metrics.record(get, 0, Duration::from_millis(20));
        metrics.record(get, 5, Duration::from_secs(2));
        let text = encode(&registry);
        let service = ("service", "rti.test.v1.TestService");
        let method = ("method", "Get");
        let requests = |code| metric_value(&text, "rti_rpc_requests_total", &[service, method, ("code", code)]);
        assert_eq!(requests("OK"), Some(2.0), "{text}");
        assert_eq!(requests("NOT_FOUND"), Some(1.0), "{text}");
        let bucket = |bound| {
            metric_value(
                &text,
                "rti_rpc_request_duration_seconds_bucket",
                &[service, method, ("le", bound)],
            )
            .unwrap_or_else(|| panic!("no bucket {bound} in {text}"))
        };
        // Cumulative: each bucket counts the calls at or under its bound.
        assert_eq!(bucket("0.0005"), 1.0);
        assert_eq!(bucket("0.001"), 1.0);
        assert_eq!(bucket("0.025"), 2.0);
        assert_eq!(bucket("1.0"), 2.0);
        assert_eq!(bucket("2.5"), 3.0);
        assert_eq!(bucket("+Inf"), 3.0);
    }
}
