//! The audit log of writes through the gateway (DESIGN §2, issue 14): every call to an RPC that
//! is not a read, whatever protocol it arrived in, is appended when it ends (who: the token's
//! subject and roles; what: the RPC and the ids it named; the outcome's gRPC code; the request id,
//! the trace id and the time) to a hash chain in which any change, deletion or reordering shows
//! (`entry`, `verify`). The chain is kept in its own store (`store`), exported to admins as JSON
//! lines (`export`) and checked by `rti audit verify`.
//!
//! A write is an RPC whose method name does not start with a read verb ([`READ_VERBS`]): the
//! suite names its RPCs by AIP-style verbs, the RPC tables make only such reads public (a test
//! holds them to it), and anything new is audited until it is named as a read. Calls without a
//! valid token are not audited: no table opens a write to anonymous callers, so such a call is
//! refused at the edge, there is no one to attribute it to, and anonymous traffic must not be
//! able to make the gateway write (the metrics count it). The entry is appended before the
//! call's final status reaches the client, so an acknowledged write is always in the chain; a
//! gateway that stops between the service's answer and the append loses that one entry, never
//! the chain's integrity.

mod capture;
mod entry;
mod export;
mod store;
mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use rti_platform::auth::Principal;
use rti_platform::error::error_chain;

pub use entry::{AuditDraft, AuditEntry, GENESIS_HASH, ResourceId};
pub(crate) use export::export_routes;
pub use store::{AuditStore, AuditStoreError};
pub use verify::{Anchor, ChainBreak, ChainVerifier, Verified, VerifyError, verify_export, verify_store};

use capture::{Capture, CapturedBody, resource_ids};

/// The verbs that begin the name of an RPC that only reads.
pub const READ_VERBS: [&str; 6] = ["Get", "List", "Search", "Query", "Export", "Subscribe"];

/// Whether `method` (`CreateProvider`) changes anything: it does not start with a read verb
/// followed by the next word (or nothing).
pub fn is_write(method: &str) -> bool {
    !READ_VERBS.iter().any(|verb| {
        method
            .strip_prefix(verb)
            .is_some_and(|rest| rest.chars().next().is_none_or(char::is_uppercase))
    })
}

/// The suite's descriptors, decoded once.
fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The set is built with the crate; a set that does not decode fails its build's tests.
        DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).unwrap_or_default()
    })
}

/// The request and response types of a write.
#[derive(Debug, Clone)]
struct WriteMethod {
    input: MessageDescriptor,
    output: MessageDescriptor,
}

/// The gateway's audit: the store, and the message types of every write, by gRPC path. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub(crate) struct AuditLog {
    inner: Arc<AuditLogInner>,
}

#[derive(Debug)]
struct AuditLogInner {
    store: AuditStore,
    writes: HashMap<String, WriteMethod>,
    failures: Counter,
}

impl AuditLog {
    /// An audit appending to `store`, counting failed appends in `failures`.
    pub(crate) fn new(store: AuditStore, failures: Counter) -> Self {
        let writes = descriptor_pool()
            .services()
            .flat_map(|service| {
                service
                    .methods()
                    .filter(|method| is_write(method.name()))
                    .map(|method| {
                        (
                            format!("/{}/{}", service.full_name(), method.name()),
                            WriteMethod {
                                input: method.input(),
                                output: method.output(),
                            },
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            inner: Arc::new(AuditLogInner {
                store,
                writes,
                failures,
            }),
        }
    }

    /// The entry-to-be of a call to `path`, when it is a write of one of the suite's services
    /// made by `principal` (not by an anonymous caller) in `protocol`; `trace_id` is asked only
    /// then.
    pub(crate) fn begin(
        &self,
        path: &str,
        principal: Option<&Principal>,
        protocol: &str,
        request_id: &str,
        trace_id: impl FnOnce() -> Option<String>,
    ) -> Option<PendingAudit> {
        let rpc = path.strip_prefix('/')?;
        let (_, method) = rpc.split_once('/')?;
        let principal = principal?;
        if !rpc.starts_with("rti.") || !is_write(method) {
            return None;
        }
        Some(PendingAudit {
            log: self.clone(),
            method: self.inner.writes.get(path).cloned(),
            draft: AuditDraft {
                recorded_at: 0,
                subject: Some(principal.subject.clone()),
                roles: principal.roles.iter().map(|role| role.as_str().to_owned()).collect(),
                rpc: rpc.to_owned(),
                protocol: protocol.to_owned(),
                resource_ids: Vec::new(),
                outcome: 0,
                request_id: request_id.to_owned(),
                trace_id: trace_id(),
            },
            request: Arc::new(Mutex::new(Capture::default())),
            response: Capture::default(),
        })
    }
}

/// A write in progress: what its entry will say, and the messages it sees pass.
#[derive(Debug)]
pub(crate) struct PendingAudit {
    log: AuditLog,
    method: Option<WriteMethod>,
    draft: AuditDraft,
    request: Arc<Mutex<Capture>>,
    response: Capture,
}

impl PendingAudit {
    /// The call's request body, read for ids on its way to the service.
    pub(crate) fn capture_request<B>(&self, body: B) -> CapturedBody<B> {
        CapturedBody::new(body, self.request.clone())
    }

    /// A piece of the response body on its way to the client.
    pub(crate) fn observe_response(&mut self, data: &Bytes) {
        self.response.feed(data);
    }

    /// Appends the entry with the call's `outcome`. A failed append is logged and counted
    /// (`rti_gateway_audit_failures_total`): the service has acted already, so the call's answer
    /// stands.
    pub(crate) async fn complete(self, outcome: i32) {
        let PendingAudit {
            log,
            method,
            mut draft,
            request,
            response,
        } = self;
        draft.recorded_at = rti_platform::time::now_micros();
        draft.outcome = outcome;
        draft.resource_ids = {
            let request = request
                .lock()
                .map(|mut capture| std::mem::take(&mut *capture))
                .unwrap_or_default();
            resource_ids(
                (&request, method.as_ref().map(|method| &method.input)),
                (&response, method.as_ref().map(|method| &method.output)),
            )
        };
        let rpc = draft.rpc.clone();
        if let Err(error) = log.inner.store.append(draft).await {
            log.inner.failures.inc();
            tracing::error!(rpc, error = %error_chain(&error), "cannot append a write to the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rti_platform::authz::Access;

    #[test]
    fn reads_are_named_by_their_verb_and_everything_else_is_a_write() {
        for read in [
            "GetProvider",
            "ListCalls",
            "SearchInstallations",
            "QueryUsageStatistics",
            "ExportStatisticsCsv",
            "Subscribe",
        ] {
            assert!(!is_write(read), "{read}");
        }
        for write in [
            "CreateProvider",
            "SubmitReview",
            "EvaluateEligibility",
            "RunAllocation",
            "IngestUsage",
            "Getaway",
            "Listen",
        ] {
            assert!(is_write(write), "{write}");
        }
    }

    #[test]
    fn no_public_rpc_of_the_suite_is_a_write() {
        for table in crate::cli::suite::authz_tables() {
            for rule in table.rules {
                if rule.access == Access::Public {
                    assert!(
                        !is_write(rule.method),
                        "{}/{} is public but named as a write",
                        table.service,
                        rule.method
                    );
                }
            }
        }
    }

    #[test]
    fn every_write_of_the_suite_has_its_message_types() {
        let pool = descriptor_pool();
        let mut writes = 0;
        for table in crate::cli::suite::authz_tables() {
            let service = pool
                .get_service_by_name(table.service)
                .unwrap_or_else(|| panic!("{} is in the descriptor set", table.service));
            for method in service.methods().filter(|method| is_write(method.name())) {
                writes += 1;
                assert!(
                    table.rules.iter().any(|rule| rule.method == method.name()),
                    "{}/{} has no rule",
                    table.service,
                    method.name()
                );
            }
        }
        assert!(writes > 20, "the suite's writes were not found: {writes}");
    }
}
