//! The gateway's metrics (DESIGN §7), on the separate `--metrics-listen` port: every call through
//! the pass-through, whatever protocol it arrived in, counted by protocol, service, method and
//! gRPC code when it ends (`rti_gateway_requests_total`), with its latency
//! (`rti_gateway_request_duration_seconds`, by protocol, service and method); and the audit
//! appends that failed (`rti_gateway_audit_failures_total`). Errors are the requests whose code
//! is not `OK`. Services and methods are labelled from the RPC tables, anything else `unknown`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
    audit_failures: Counter,
}

impl GatewayMetrics {
    /// The families, registered in `registry`, labelling the methods of `tables`.
    pub(crate) fn register(registry: &mut Registry, tables: &[&'static AuthzTable]) -> Self {
        let requests = Family::<CallLabels, Counter>::default();
        let duration = latency_family::<MethodLabels>();
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
            "rti_gateway_audit_failures",
            "Writes whose audit entry could not be appended (the write itself went through)",
            audit_failures.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                names: MethodNames::new(tables),
                requests,
                duration,
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
        CallMeter {
            metrics: self.clone(),
            labels: MethodLabels {
                protocol: protocol.as_str(),
                service,
                method,
            },
            started: Instant::now(),
        }
    }

    fn record(&self, labels: MethodLabels, code: i32, elapsed: Duration) {
        self.inner
            .requests
            .get_or_create(&CallLabels {
                protocol: labels.protocol,
                service: labels.service,
                method: labels.method,
                code: code_name(code),
            })
            .inc();
        self.inner
            .duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// A call being timed; [`CallMeter::finish`] counts it.
#[derive(Debug)]
pub(crate) struct CallMeter {
    metrics: GatewayMetrics,
    labels: MethodLabels,
    started: Instant,
}

impl CallMeter {
    pub(crate) fn finish(self, code: i32) {
        let elapsed = self.started.elapsed();
        self.metrics.record(self.labels, code, elapsed);
    }
}
