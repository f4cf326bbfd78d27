//! The ids a write names, read from the messages as they pass: the request body's first gRPC
//! message is copied on its way to the service (and the response's first on its way back), then
//! decoded with the method's descriptors when the call ends. Every field whose name is `id` or
//! ends in `_id` (a string) or `_ids` (repeated strings) is a resource id, at any depth
//! (`access_request.installation_id`, `records[2].record_id`); of the response, the `id` fields
//! at the top or one level down (`response.id`: what a create made). Only the first message of a
//! client stream is read (`IngestUsage`), and only so many ids are kept: an audit entry stays
//! small whatever the call carried. A compressed message is not decoded.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};

use super::entry::ResourceId;

/// The most bytes of a message that are kept for reading its ids.
const CAPTURE_LIMIT: usize = 64 * 1024;
/// The most ids an entry keeps.
const MAX_IDS: usize = 32;
/// How deep nested messages are searched.
const MAX_DEPTH: usize = 6;
/// The gRPC message prefix: a compression flag and a 4-byte big-endian length.
const PREFIX: usize = 5;

/// The first gRPC message of a stream of bytes, as far as [`CAPTURE_LIMIT`].
#[derive(Debug, Default)]
pub(crate) struct Capture {
    bytes: Vec<u8>,
}

impl Capture {
    /// Keeps what `data` adds to the first message.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            let wanted = self.wanted();
            if self.bytes.len() >= wanted {
                return;
            }
            let take = rest.len().min(wanted - self.bytes.len());
            self.bytes.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
    }

    /// How many bytes the first message needs: its prefix, then its length, capped.
    fn wanted(&self) -> usize {
        match self.bytes.get(..PREFIX) {
            Some(prefix) => {
                let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
                usize::try_from(length)
                    .map_or(CAPTURE_LIMIT, |length| PREFIX.saturating_add(length))
                    .min(CAPTURE_LIMIT)
            }
            None => PREFIX,
        }
    }

    /// The first message's bytes, when it was uncompressed and arrived whole within the limit.
    fn message(&self) -> Option<&[u8]> {
        let prefix = self.bytes.get(..PREFIX)?;
        if prefix[0] != 0 {
            return None;
        }
        let length = usize::try_from(u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]])).ok()?;
        self.bytes.get(PREFIX..PREFIX.checked_add(length)?)
    }
}

/// A request body that copies its first message into a shared [`Capture`] as it passes.
pub(crate) struct CapturedBody<B> {
    inner: B,
    capture: Arc<Mutex<Capture>>,
    full: bool,
}

impl<B> CapturedBody<B> {
    pub(crate) fn new(inner: B, capture: Arc<Mutex<Capture>>) -> Self {
        Self {
            inner,
            capture,
            full: false,
        }
    }
}

impl<B> Body for CapturedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(context);
        if !this.full
            && let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Ok(mut capture) = this.capture.lock()
        {
            capture.feed(data);
            this.full = capture.bytes.len() >= capture.wanted();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The resource ids of a call: those of its request message, then the ids its response returned.
pub(crate) fn resource_ids(
    request: (&Capture, Option<&MessageDescriptor>),
    response: (&Capture, Option<&MessageDescriptor>),
) -> Vec<ResourceId> {
    let mut found = Vec::new();
    if let Some(message) = decode(request.0, request.1) {
        collect(&message, "", MAX_DEPTH, &|name| is_id_field(name), &mut found);
    }
    if let Some(message) = decode(response.0, response.1) {
        collect(&message, "response.", 1, &|name| name == "id", &mut found);
    }
    found
}

fn decode(capture: &Capture, descriptor: Option<&MessageDescriptor>) -> Option<DynamicMessage> {
    DynamicMessage::decode(descriptor?.clone(), capture.message()?).ok()
}

fn is_id_field(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("_ids")
}

fn collect(
    message: &DynamicMessage,
    prefix: &str,
    depth: usize,
    wanted: &dyn Fn(&str) -> bool,
    found: &mut Vec<ResourceId>,
) {
    // Only fields that are set, in field-number order: the same message gives the same ids.
    for (field, value) in message.fields() {
        if found.len() >= MAX_IDS {
            return;
        }
        let path = format!("{prefix}{}", field.name());
        match value {
            Value::String(id) if wanted(field.name()) && !id.is_empty() => found.push(ResourceId {
                field: path,
                id: id.clone(),
            }),
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(id) if wanted(field.name()) && !id.is_empty() => found.push(ResourceId {
                            field: format!("{path}[{index}]"),
                            id: id.clone(),
                        }),
                        Value::Message(nested) if depth > 0 => {
                            collect(nested, &format!("{path}[{index}]."), depth - 1, wanted, found);
                        }
                        _ => {}
                    }
                    if found.len() >= MAX_IDS {
                        return;
                    }
                }
            }
            Value::Message(nested) if depth > 0 && !is_well_known(nested) => {
                collect(nested, &format!("{path}."), depth - 1, wanted, found);
            }
            _ => {}
        }
    }
    found.truncate(MAX_IDS);
}

/// Timestamps, durations, field masks and wrappers carry no ids.
fn is_well_known(message: &DynamicMessage) -> bool {
    message.descriptor().package_name() == "google.protobuf"
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use rti_proto::registry as proto;

    fn framed(message: &impl Message) -> Vec<u8> {
        let body = message.encode_to_vec();
        let mut framed = vec![0];
        framed.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
        framed.extend_from_slice(&body);
        framed
    }

    fn descriptor(name: &str) -> MessageDescriptor {
        crate::audit::descriptor_pool()
            .get_message_by_name(name)
            .unwrap_or_else(|| panic!("{name} is in the descriptor set"))
    }

    fn captured(bytes: &[u8], chunk: usize) -> Capture {
        let mut capture = Capture::default();
        for piece in bytes.chunks(chunk) {
            capture.feed(piece);
        }
        capture
    }

    #[test]
    fn reads_the_ids_of_the_request_and_the_id_the_response_returns() {
        let request = proto::CreateInfrastructureRequest {
            request_id: "0193a0d2-0000-7000-8000-00000000000a".into(),
            infrastructure: Some(proto::Infrastructure {
                provider_id: "0193a0d2-0000-7000-8000-00000000000b".into(),
                name: "Nordlicht".into(),
                ..Default::default()
            }),
        };
        let response = proto::Infrastructure {
            id: "0193a0d2-0000-7000-8000-00000000000c".into(),
            provider_id: "0193a0d2-0000-7000-8000-00000000000b".into(),
            ..Default::default()
        };
        // Split into odd pieces, as frames arrive.
        let request_capture = captured(&framed(&request), 3);
        let response_capture = captured(&framed(&response), 7);
        let ids = resource_ids(
            (
                &request_capture,
                Some(&descriptor("rti.registry.v1.CreateInfrastructureRequest")),
            ),
            (&response_capture, Some(&descriptor("rti.registry.v1.Infrastructure"))),
        );
        let pairs: Vec<(&str, &str)> = ids.iter().map(|id| (id.field.as_str(), id.id.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("request_id", "0193a0d2-0000-7000-8000-00000000000a"),
                ("infrastructure.provider_id", "0193a0d2-0000-7000-8000-00000000000b"),
                ("response.id", "0193a0d2-0000-7000-8000-00000000000c"),
            ]
        );
    }

    #[test]
    fn keeps_only_the_first_message_and_skips_compressed_or_cut_ones() {
        let request = proto::GetProviderRequest {
            id: "0193a0d2-0000-7000-8000-000000000001".into(),
        };
        let second = proto::GetProviderRequest {
            id: "0193a0d2-0000-7000-8000-000000000002".into(),
        };
        let mut both = framed(&request);
        both.extend_from_slice(&framed(&second));
        let descriptor = descriptor("rti.registry.v1.GetProviderRequest");
        let ids = resource_ids((&captured(&both, 4), Some(&descriptor)), (&Capture::default(), None));
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].id, "0193a0d2-0000-7000-8000-000000000001");

        let mut compressed = framed(&request);
        compressed[0] = 1;
        assert!(
            resource_ids(
                (&captured(&compressed, 64), Some(&descriptor)),
                (&Capture::default(), None)
            )
            .is_empty()
        );
        let whole = framed(&request);
        let cut = &whole[..whole.len() - 1];
        assert!(resource_ids((&captured(cut, 64), Some(&descriptor)), (&Capture::default(), None)).is_empty());
    }
}
