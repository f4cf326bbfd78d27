//! The journey's trace (DESIGN §7): every slot offer crosses two services, allocation holding the
//! units in the registry, and must be one trace that the gateway starts: the gateway's span is
//! the root, allocation's span its child, and the registry's span allocation's child, all with
//! the same trace id. Spans are captured in memory, as in `tracing_context`; nextest runs
//! each test in its own process, so the global subscriber is this test's.

use std::collections::HashMap;

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

const OFFER_SLOT: &str = "rti.allocation.v1.AllocationService/OfferSlot";
const RESERVE_CAPACITY: &str = "rti.registry.v1.RegistryService/ReserveCapacity";

/// The spans the suite's processes finish, as they finish.
pub(crate) struct Spans {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
}

pub(crate) fn capture_spans() -> Spans {
    let (exporter, provider) = crate::tracing_context::capture_spans();
    Spans { exporter, provider }
}

/// Each of the journey's two slot offers is a chain registry → allocation → gateway, the gateway's
/// span marked with the `protocol` the call arrived in.
pub(crate) async fn assert_each_slot_offer_is_one_trace(spans: &Spans, protocol: &str) {
    // The gateway's span ends when its response body is dropped, a moment after the client has
    // the answer: wait (bounded) until every chain reaches its root.
    let chains = rti_platform::testing::eventually("the slot offers' spans", || async {
        spans.provider.force_flush().expect("flush");
        let finished = spans.exporter.get_finished_spans().expect("spans");
        let by_id: HashMap<SpanId, SpanData> = finished
            .iter()
            .map(|span| (span.span_context.span_id(), span.clone()))
            .collect();
        let chains: Option<Vec<Vec<SpanData>>> = finished
            .iter()
            .filter(|span| span.name == RESERVE_CAPACITY)
            .map(|leaf| chain_to_root(leaf, &by_id))
            .collect();
        chains.filter(|chains| chains.len() == 2)
    })
    .await;
    for chain in chains {
        let names: Vec<&str> = chain.iter().map(|span| span.name.as_ref()).collect();
        let [registry, allocation, gateway] = chain.as_slice() else {
            panic!("gateway → allocation → registry, no more, no less: {names:?}")
        };
        assert_eq!(gateway.name, OFFER_SLOT, "{names:?}");
        assert_eq!(gateway.parent_span_id, SpanId::INVALID, "the gateway starts the trace");
        let arrived_in = gateway
            .attributes
            .iter()
            .find(|attribute| attribute.key.as_str() == "rti.protocol")
            .map(|attribute| attribute.value.as_str().into_owned());
        assert_eq!(arrived_in.as_deref(), Some(protocol), "{gateway:#?}");
        assert_eq!(allocation.name, OFFER_SLOT, "{names:?}");
        assert_eq!(
            allocation.parent_span_id,
            gateway.span_context.span_id(),
            "allocation's span is the gateway span's child"
        );
        assert_eq!(
            registry.parent_span_id,
            allocation.span_context.span_id(),
            "the registry's span is allocation's child"
        );
        let trace_id = gateway.span_context.trace_id();
        assert!(
            [registry, allocation]
                .iter()
                .all(|span| span.span_context.trace_id() == trace_id),
            "one trace: {chain:#?}"
        );
    }
}

/// `leaf` and its ancestors up to the root, once every one of them has finished.
fn chain_to_root(leaf: &SpanData, by_id: &HashMap<SpanId, SpanData>) -> Option<Vec<SpanData>> {
    let mut chain = vec![leaf.clone()];
    loop {
        let parent = chain.last().expect("not empty").parent_span_id;
        if parent == SpanId::INVALID {
            return Some(chain);
        }
        chain.push(by_id.get(&parent)?.clone());
    }
}
