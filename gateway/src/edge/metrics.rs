//! The gateway's metrics (DESIGN §7), on the separate `--metrics-listen` port: every call through
//! the pass-through, whatever protocol it arrived in, counted by protocol, service, method and
//! gRPC code when it ends (`rti_gateway_requests_total`), with its latency
//! (`rti_gateway_request_duration_seconds`, by protocol, service and method); the calls begun and
//! not yet ended (`rti_gateway_requests_in_flight`); and the audit appends that failed
//! (`rti_gateway_audit_failures_total`). Errors are the requests whose code is not `OK`; a call
//! whose client goes away before it ends is `CANCELLED`. Services and methods are labelled from
//! the RPC tables, anything else `unknown`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use rti_platform::authz::AuthzTable;
use rti_platform::metrics::{LatencyFamily, MethodNames, code_name, latency_family};

use super::protocol::Protocol;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    protocol: &'static str,
    service: &'static str,
    method: &'static str,
    code: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabels {
    protocol: &'static str,
    service: &'static str,
    method: &'static str,
}

/// The gateway's metric families. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GatewayMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    names: MethodNames,
    requests: Family<CallLabels, Counter>,
    duration: LatencyFamily<MethodLabels>,
    in_flight: Gauge,
    audit_failures: Counter,
}

impl GatewayMetrics {
    /// The families, registered in `registry`, labelling the methods of `tables`.
    pub(crate) fn register(registry: &mut Registry, tables: &[&'static AuthzTable]) -> Self {
        let requests = Family::<CallLabels, Counter>::default();
        let duration = latency_family::<MethodLabels>();
        let in_flight = Gauge::default();
        let audit_failures = Counter::default();
        registry.register(
            "rti_gateway_requests",
            "Calls through the gateway that ended, by protocol, service, method and gRPC code",
            requests.clone(),
        );
        registry.register_with_unit(
            "rti_gateway_request_duration",
            "Time from a call's arrival at the gateway to the end of its response, by protocol, service and method",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register(
            "rti_gateway_requests_in_flight",
            "Calls through the gateway that have begun and not yet ended",
            in_flight.clone(),
        );
        registry.register(
            "rti_gateway_audit_failures",
            "Writes whose audit entry could not be appended (the write itself went through)",
            audit_failures.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                names: MethodNames::new(tables),
                requests,
                duration,
                in_flight,
                audit_failures,
            }),
        }
    }

    /// The counter of failed audit appends.
    pub(crate) fn audit_failures(&self) -> Counter {
        self.inner.audit_failures.clone()
    }

    /// Starts timing a call to `path` that arrived in `protocol`.
    pub(crate) fn start(&self, path: &str, protocol: Protocol) -> CallMeter {
        let (service, method) = self.inner.names.of(path);
        self.inner.in_flight.inc();
        CallMeter {
            metrics: self.clone(),
            labels: MethodLabels {
                protocol: protocol.as_str(),
                service,
                method,
            },
            started: Instant::now(),
            finished: false,
        }
    }

    fn record(&self, labels: &MethodLabels, code: i32, elapsed: Duration) {
        self.inner.in_flight.dec();
        self.inner
            .requests
            .get_or_create(&CallLabels {
                protocol: labels.protocol,
                service: labels.service,
                method: labels.method,
                code: code_name(code),
            })
            .inc();
        self.inner.duration.get_or_create(labels).observe(elapsed.as_secs_f64());
    }
}

/// A call being timed; [`CallMeter::finish`] counts it, and a meter dropped before (the client
/// went away, and the gateway with it stopped working on the call) counts it as `CANCELLED`.
#[derive(Debug)]
pub(crate) struct CallMeter {
    metrics: GatewayMetrics,
    labels: MethodLabels,
    started: Instant,
    finished: bool,
}

const CANCELLED: i32 = 1;

impl CallMeter {
    pub(crate) fn finish(mut self, code: i32) {
        self.record(code);
    }

    fn record(&mut self, code: i32) {
        if !self.finished {
            self.finished = true;
            self.metrics.record(&self.labels, code, self.started.elapsed());
        }
    }
}

impl Drop for CallMeter {
    fn drop(&mut self) {
        self.record(CANCELLED);
    }
}
