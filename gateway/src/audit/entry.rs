//! One audit entry, its canonical encoding and its hash. The hash of an entry is the SHA-256 of
//! this encoding, in which every field has one representation and nothing is ambiguous:
//!
//! ```text
//! "rti.audit.v1" 0x00
//! sequence        i64, big-endian
//! recorded_at     i64 microseconds since the Unix epoch (UTC), big-endian
//! subject         optional string
//! roles           u32 count, big-endian, then each a string
//! rpc             string ("rti.registry.v1.RegistryService/CreateProvider")
//! protocol        string ("grpc", "grpc-web", "rest")
//! resource_ids    u32 count, then each: field string, id string
//! outcome         i32 gRPC code, big-endian
//! request_id      string
//! trace_id        optional string
//! previous_hash   string (64 lowercase hex digits; 64 zeros before the first entry)
//!
//! string:          u32 byte length, big-endian, then the UTF-8 bytes
//! optional string: 0x00 when absent, 0x01 then the string when present
//! ```
//!
//! So changing any field of an entry changes its hash, and since each entry carries the hash of
//! the one before, deleting, inserting or reordering entries breaks the chain at that place.

use rti_platform::metrics::{code_name, code_of_name};
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_proto::pbjson_types::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The previous hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &[u8] = b"rti.audit.v1\0";

/// An id a write named: the field it came in (`provider.id`, `access_request_id`,
/// `response.id` for the id a create returned) and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceId {
    pub field: String,
    pub id: String,
}

/// What the gateway records of a write when it ends, before the chain gives it its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// When the call ended, in UTC microseconds.
    pub recorded_at: i64,
    /// The token's subject; `None` for a call without a token.
    pub subject: Option<String>,
    /// The token's roles.
    pub roles: Vec<String>,
    /// `package.Service/Method`.
    pub rpc: String,
    pub protocol: String,
    pub resource_ids: Vec<ResourceId>,
    /// The gRPC code the call ended with.
    pub outcome: i32,
    pub request_id: String,
    /// The call's W3C trace id, when it has one.
    pub trace_id: Option<String>,
}

/// An entry in its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub sequence: i64,
    pub draft: AuditDraft,
    pub previous_hash: String,
    pub hash: String,
}

impl AuditDraft {
    /// The entry this draft becomes at `sequence`, after the entry whose hash is `previous_hash`.
    pub fn seal(self, sequence: i64, previous_hash: String) -> AuditEntry {
        let hash = entry_hash(sequence, &self, &previous_hash);
        AuditEntry {
            sequence,
            draft: self,
            previous_hash,
            hash,
        }
    }
}

impl AuditEntry {
    /// The hash the entry's fields give, to compare with the one it carries.
    pub fn computed_hash(&self) -> String {
        entry_hash(self.sequence, &self.draft, &self.previous_hash)
    }
}

fn entry_hash(sequence: i64, draft: &AuditDraft, previous_hash: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(canonical_encoding(sequence, draft, previous_hash));
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes an entry's hash is taken over (see the module's documentation).
fn canonical_encoding(sequence: i64, draft: &AuditDraft, previous_hash: &str) -> Vec<u8> {
    fn string(bytes: &mut Vec<u8>, text: &str) {
        // A field longer than 4 GiB cannot reach the gateway: messages are limited far below.
        let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(text.as_bytes());
    }
    fn optional(bytes: &mut Vec<u8>, text: Option<&str>) {
        match text {
            None => bytes.push(0),
            Some(text) => {
                bytes.push(1);
                string(bytes, text);
            }
        }
    }
    fn count(bytes: &mut Vec<u8>, count: usize) {
        bytes.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_be_bytes());
    }
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(DOMAIN);
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(&draft.recorded_at.to_be_bytes());
    optional(&mut bytes, draft.subject.as_deref());
    count(&mut bytes, draft.roles.len());
    for role in &draft.roles {
        string(&mut bytes, role);
    }
    string(&mut bytes, &draft.rpc);
    string(&mut bytes, &draft.protocol);
    count(&mut bytes, draft.resource_ids.len());
    for resource in &draft.resource_ids {
        string(&mut bytes, &resource.field);
        string(&mut bytes, &resource.id);
    }
    bytes.extend_from_slice(&draft.outcome.to_be_bytes());
    string(&mut bytes, &draft.request_id);
    optional(&mut bytes, draft.trace_id.as_deref());
    string(&mut bytes, previous_hash);
    bytes
}

/// An entry as a line of the export: JSON, with the time in RFC 3339 and the outcome by name.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportLine {
    sequence: i64,
    time: Timestamp,
    subject: Option<String>,
    roles: Vec<String>,
    rpc: String,
    protocol: String,
    resource_ids: Vec<ResourceId>,
    outcome: String,
    request_id: String,
    trace_id: Option<String>,
    previous_hash: String,
    hash: String,
}

impl AuditEntry {
    /// The entry as one line of JSON, without the newline.
    pub fn to_json_line(&self) -> String {
        let line = ExportLine {
            sequence: self.sequence,
            time: timestamp_from_micros(self.draft.recorded_at),
            subject: self.draft.subject.clone(),
            roles: self.draft.roles.clone(),
            rpc: self.draft.rpc.clone(),
            protocol: self.draft.protocol.clone(),
            resource_ids: self.draft.resource_ids.clone(),
            outcome: code_name(self.draft.outcome).to_owned(),
            request_id: self.draft.request_id.clone(),
            trace_id: self.draft.trace_id.clone(),
            previous_hash: self.previous_hash.clone(),
            hash: self.hash.clone(),
        };
        // Strings, numbers and lists of them always serialise.
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// Reads a line of [`AuditEntry::to_json_line`] back.
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        let line: ExportLine = serde_json::from_str(line).map_err(|error| error.to_string())?;
        let outcome =
            code_of_name(&line.outcome).ok_or_else(|| format!("outcome {:?} is not a gRPC code", line.outcome))?;
        Ok(Self {
            sequence: line.sequence,
            draft: AuditDraft {
                recorded_at: micros_from_timestamp(&line.time),
                subject: line.subject,
                roles: line.roles,
                rpc: line.rpc,
                protocol: line.protocol,
                resource_ids: line.resource_ids,
                outcome,
                request_id: line.request_id,
                trace_id: line.trace_id,
            },
            previous_hash: line.previous_hash,
            hash: line.hash,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn draft(rpc: &str) -> AuditDraft {
        AuditDraft {
            recorded_at: 1_764_860_400_123_456,
            subject: Some("dev-admin".into()),
            roles: vec!["admin".into()],
            rpc: rpc.into(),
            protocol: "grpc".into(),
            resource_ids: vec![ResourceId {
                field: "provider_id".into(),
                id: "0193a0d2-0000-7000-8000-000000000001".into(),
            }],
            outcome: 0,
            request_id: "req-1".into(),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let entry = draft("rti.registry.v1.RegistryService/CreateProvider").seal(1, GENESIS_HASH.into());
        assert_eq!(entry.hash.len(), 64);
        assert_eq!(entry.computed_hash(), entry.hash);
        let changes: [fn(&mut AuditEntry); 12] = [
            |entry| entry.sequence = 2,
            |entry| entry.draft.recorded_at += 1,
            |entry| entry.draft.subject = None,
            |entry| entry.draft.roles.push("operator".into()),
            |entry| entry.draft.rpc.push('X'),
            |entry| entry.draft.protocol = "rest".into(),
            |entry| entry.draft.resource_ids[0].id.push('0'),
            |entry| entry.draft.resource_ids.clear(),
            |entry| entry.draft.outcome = 7,
            |entry| entry.draft.request_id = "req-2".into(),
            |entry| entry.draft.trace_id = None,
            |entry| entry.previous_hash = "1".repeat(64),
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut changed = entry.clone();
            change(&mut changed);
            assert_ne!(changed.computed_hash(), entry.hash, "change {index} went unnoticed");
        }
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        // The same characters split differently between two fields give another hash.
        let mut first = draft("a");
        first.request_id = "bc".into();
        let mut second = draft("ab");
        second.request_id = "c".into();
        assert_ne!(
            first.seal(1, GENESIS_HASH.into()).hash,
            second.seal(1, GENESIS_HASH.into()).hash
        );
        let mut absent = draft("a");
        absent.subject = None;
        let mut empty = draft("a");
        empty.subject = Some(String::new());
        assert_ne!(
            absent.seal(1, GENESIS_HASH.into()).hash,
            empty.seal(1, GENESIS_HASH.into()).hash
        );
    }

    #[test]
    fn a_json_line_reads_back_to_the_same_entry() {
        let entry = draft("rti.intake.v1.IntakeService/SubmitAccessRequest").seal(7, "ab".repeat(32));
        let line = entry.to_json_line();
        assert!(line.contains(r#""outcome":"OK""#), "{line}");
        assert_eq!(AuditEntry::from_json_line(&line), Ok(entry));
        assert!(AuditEntry::from_json_line(&line.replace(r#""OK""#, r#""FINE""#)).is_err());
    }
}
