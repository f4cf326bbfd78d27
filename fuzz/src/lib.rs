//! What the fuzz targets share: an input read as one of several request messages, chosen by its
//! first byte, and the caller the request readers are given.

#![forbid(unsafe_code)]

use prost::Message;
use rti_platform::auth::{Principal, Role};

mod mutate;

pub use mutate::mutate;

/// An input of a target with several arms: the arm its first byte selects, and the bytes after.
/// One target then covers every request type of a service, and libFuzzer learns each arm's
/// message layout from the corpus entries that start with its byte.
#[derive(Debug, Clone, Copy)]
pub struct Input<'data> {
    pub arm: usize,
    pub bytes: &'data [u8],
    arms: &'static [&'static str],
}

/// `data` as an input of a target whose arms read the messages `arms` (full names, which
/// [`mutate`] decodes by); `None` for an empty input.
pub fn select<'data>(data: &'data [u8], arms: &'static [&'static str]) -> Option<Input<'data>> {
    let (first, bytes) = data.split_first()?;
    Some(Input {
        arm: usize::from(*first) % arms.len(),
        bytes,
        arms,
    })
}

impl Input<'_> {
    /// The bytes as the arm's message. The message's name must be the arm's in the target's
    /// list, or the structure-aware mutation would decode the arm as another message.
    pub fn decode<M: Message + Default>(&self) -> Option<M> {
        let type_name = std::any::type_name::<M>();
        let simple = type_name.rsplit("::").next().unwrap_or(type_name);
        let listed = self.arms[self.arm];
        assert!(
            listed.rsplit('.').next() == Some(simple),
            "arm {} reads {type_name}, but the target lists {listed}",
            self.arm
        );
        decode(self.bytes)
    }
}

/// `bytes` as a message of type `M`, when they decode as one. Bytes that do not are refused by
/// tonic's codec before any handler runs, so they would test nothing of ours.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Option<M> {
    M::decode(bytes).ok()
}

/// A caller with every role, acting for an organisation and operating an infrastructure, so
/// that the readers take the branches that depend on who calls.
pub fn caller() -> Principal {
    Principal {
        subject: "fuzz-caller".to_owned(),
        roles: Role::ALL.into_iter().collect(),
        org: Some("organisation-1".to_owned()),
        infrastructures: ["infrastructure-1".to_owned()].into_iter().collect(),
        country: Some("DE".to_owned()),
        eu: false,
    }
}

/// Asserts that a record written to the store's form, read back and written again, gives the
/// same bytes: a conversion that drops or alters a field loses what the store was given. Bytes
/// rather than values, so that a NaN reads back as itself.
pub fn assert_same<M: Message + std::fmt::Debug>(what: &str, written: &M, again: &M) {
    assert!(
        written.encode_to_vec() == again.encode_to_vec(),
        "{what} changed on a round trip through the store's form:\n{written:?}\n{again:?}"
    );
}

/// Reads a parsed sanctions list into the screening index and screens a few of its own names and
/// one that is on no list, as the next screening after an import would (SEC-3).
pub fn screen_listed(parsed: rti_intake::domain::sanctions::ParsedList) {
    assert!(parsed.parties >= 0, "a list has {} parties", parsed.parties);
    let some_names: Vec<String> = parsed.names.iter().take(3).map(|listed| listed.name.clone()).collect();
    let index = rti_intake::domain::names::NameIndex::new(parsed.names);
    for name in &some_names {
        let _ = index.screen(name);
    }
    let _ = index.screen("Fraunhofer-Gesellschaft zur Förderung der angewandten Forschung e.V.");
}
