//! Verifying a chain: entries in order, each with the next sequence number, the hash of the
//! entry before it, and a hash that its own fields give. The first entry that fails is named,
//! with what that failure means (an entry changed, one missing or moved).
//!
//! A chain alone cannot show a rewrite by someone who recomputes every hash after the entry they
//! changed, nor the deletion of its last entries together with the head. Hence anchors: the
//! sequence and hash of an entry recorded outside the store (`rti audit verify` prints one to
//! keep, the gateway logs the head when it starts); a chain that no longer holds that exact entry
//! fails.

use std::io::BufRead;
use std::str::FromStr;

use super::entry::{AuditEntry, GENESIS_HASH};
use super::store::{AuditStore, AuditStoreError};

/// Entries read from the store at a time.
const PAGE: i64 = 1000;

/// Why a chain could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the audit chain is broken: {0}")]
    Broken(#[from] ChainBreak),
    #[error("line {line}: not an audit entry: {reason}")]
    Unreadable { line: usize, reason: String },
    #[error("cannot read the audit log: {0}")]
    Store(#[from] AuditStoreError),
    #[error("cannot read the export: {0}")]
    Io(#[from] std::io::Error),
}

/// An entry's sequence and hash as recorded outside the store: `SEQUENCE:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub sequence: i64,
    pub hash: String,
}

impl FromStr for Anchor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (sequence, hash) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not SEQUENCE:HASH"))?;
        let sequence = sequence
            .parse::<i64>()
            .ok()
            .filter(|sequence| *sequence > 0)
            .ok_or_else(|| format!("{sequence:?} is not an entry's sequence (1 or more)"))?;
        if hash.len() != 64 || !hash.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!("{hash:?} is not a SHA-256 in 64 lowercase hex digits"));
        }
        Ok(Self {
            sequence,
            hash: hash.to_owned(),
        })
    }
}

/// Verifies an export (`GET /v1/audit`, JSON lines), which may start after the first entry,
/// against `anchors`.
pub fn verify_export(export: impl BufRead, anchors: &[Anchor]) -> Result<Verified, VerifyError> {
    let mut verifier = ChainVerifier::from_anywhere().anchored(anchors);
    for (index, line) in export.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = AuditEntry::from_json_line(&line).map_err(|reason| VerifyError::Unreadable {
            line: index + 1,
            reason,
        })?;
        verifier.check(&entry)?;
    }
    Ok(verifier.finish(None)?)
}

/// Verifies the whole chain in `store`, from its first entry to the head it records, against
/// `anchors`.
pub async fn verify_store(store: &AuditStore, anchors: &[Anchor]) -> Result<Verified, VerifyError> {
    let (head, _) = store.head().await?;
    let mut verifier = ChainVerifier::from_start().anchored(anchors);
    let mut after = 0;
    loop {
        let entries = store.entries_after(after, PAGE).await?;
        let Some(last) = entries.last() else { break };
        after = last.sequence;
        for entry in &entries {
            verifier.check(entry)?;
        }
    }
    Ok(verifier.finish(Some(head))?)
}

/// Where and how a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {sequence}: its hash does not match its contents (the entry was changed)")]
    Changed { sequence: i64 },
    #[error("entry {found} comes where entry {expected} should (an entry was deleted, inserted or moved)")]
    OutOfSequence { expected: i64, found: i64 },
    #[error(
        "entry {sequence}: the previous hash it carries is not the hash of entry {} (an entry before it was changed, deleted or moved)",
        sequence - 1
    )]
    Unlinked { sequence: i64 },
    #[error(
        "the chain ends at entry {last} but its head records entry {head} (entries at the end were deleted, or the head was changed)"
    )]
    Truncated { last: i64, head: i64 },
    #[error("entry {sequence} is not the one recorded outside the log (the chain was rewritten from there or before)")]
    Unanchored { sequence: i64 },
    #[error(
        "entry {sequence}, recorded outside the log, is not in the chain verified (entries at the end were deleted, or the export starts after it)"
    )]
    AnchorMissing { sequence: i64 },
}

/// What a verified chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    /// The sequence and hash of the last entry: record them elsewhere, and a later verification
    /// can tell that no entry up to there was removed from the end.
    pub last: Option<(i64, String)>,
}

/// Checks entries one by one, in the order given.
#[derive(Debug)]
pub struct ChainVerifier {
    /// The sequence and hash of the last entry checked; `None` before the first of an export
    /// that does not start at the beginning.
    last: Option<(i64, String)>,
    entries: u64,
    /// Anchors, and whether each has been met.
    anchors: Vec<(Anchor, bool)>,
}

impl ChainVerifier {
    /// For a chain from its first entry.
    pub fn from_start() -> Self {
        Self {
            last: Some((0, GENESIS_HASH.to_owned())),
            entries: 0,
            anchors: Vec::new(),
        }
    }

    /// For an export that may start after the first entry (`GET /v1/audit?after=N`): its first
    /// entry's link to the one before cannot be checked, every later one is.
    pub fn from_anywhere() -> Self {
        Self {
            last: None,
            entries: 0,
            anchors: Vec::new(),
        }
    }

    /// Also requires each of `anchors` to be in the chain, as recorded.
    pub fn anchored(mut self, anchors: &[Anchor]) -> Self {
        self.anchors = anchors.iter().map(|anchor| (anchor.clone(), false)).collect();
        self
    }

    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        if entry.computed_hash() != entry.hash {
            return Err(ChainBreak::Changed {
                sequence: entry.sequence,
            });
        }
        // An export that starts at the first entry is checked from the start.
        if self.last.is_none() && entry.sequence == 1 {
            self.last = Some((0, GENESIS_HASH.to_owned()));
        }
        if let Some((sequence, hash)) = &self.last {
            if entry.sequence != sequence + 1 {
                return Err(ChainBreak::OutOfSequence {
                    expected: sequence + 1,
                    found: entry.sequence,
                });
            }
            if entry.previous_hash != *hash {
                return Err(ChainBreak::Unlinked {
                    sequence: entry.sequence,
                });
            }
        }
        for (anchor, met) in &mut self.anchors {
            if anchor.sequence == entry.sequence {
                if anchor.hash != entry.hash {
                    return Err(ChainBreak::Unanchored {
                        sequence: entry.sequence,
                    });
                }
                *met = true;
            }
        }
        self.last = Some((entry.sequence, entry.hash.clone()));
        self.entries += 1;
        Ok(())
    }

    /// The result, checked against the anchors and the head the store records when there is one.
    pub fn finish(self, head: Option<i64>) -> Result<Verified, ChainBreak> {
        if let Some((anchor, _)) = self.anchors.iter().find(|(_, met)| !met) {
            return Err(ChainBreak::AnchorMissing {
                sequence: anchor.sequence,
            });
        }
        let last = self.last.filter(|(sequence, _)| *sequence > 0);
        if let Some(head) = head {
            let last_sequence = last.as_ref().map_or(0, |(sequence, _)| *sequence);
            if last_sequence != head {
                return Err(ChainBreak::Truncated {
                    last: last_sequence,
                    head,
                });
            }
        }
        Ok(Verified {
            entries: self.entries,
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::tests::draft;

    fn chain(length: i64) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for sequence in 1..=length {
            let previous = entries
                .last()
                .map_or(GENESIS_HASH.to_owned(), |entry| entry.hash.clone());
            entries.push(draft(&format!("rti.test.v1.TestService/Write{sequence}")).seal(sequence, previous));
        }
        entries
    }

    fn verify(entries: &[AuditEntry], head: Option<i64>) -> Result<Verified, ChainBreak> {
        let mut verifier = ChainVerifier::from_start();
        for entry in entries {
            verifier.check(entry)?;
        }
        verifier.finish(head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let entries = chain(4);
        let verified = verify(&entries, Some(4)).expect("intact");
        assert_eq!(verified.entries, 4);
        assert_eq!(verified.last, Some((4, entries[3].hash.clone())));
        assert_eq!(verify(&[], Some(0)).expect("empty").last, None);
    }

    #[test]
    fn names_a_changed_entry() {
        let mut entries = chain(4);
        entries[2].draft.outcome = 7;
        assert_eq!(verify(&entries, Some(4)), Err(ChainBreak::Changed { sequence: 3 }));
    }

    #[test]
    fn names_the_entry_after_a_changed_one_whose_hash_was_recomputed() {
        let mut entries = chain(4);
        entries[1].draft.subject = Some("someone-else".into());
        entries[1].hash = entries[1].computed_hash();
        assert_eq!(verify(&entries, Some(4)), Err(ChainBreak::Unlinked { sequence: 3 }));
    }

    #[test]
    fn names_where_an_entry_was_deleted_or_two_were_swapped() {
        let mut deleted = chain(4);
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, Some(4)),
            Err(ChainBreak::OutOfSequence { expected: 2, found: 3 })
        );
        let mut swapped = chain(4);
        swapped.swap(1, 2);
        assert_eq!(
            verify(&swapped, Some(4)),
            Err(ChainBreak::OutOfSequence { expected: 2, found: 3 })
        );
    }

    #[test]
    fn a_deleted_last_entry_shows_against_the_head() {
        let mut entries = chain(4);
        entries.pop();
        assert_eq!(
            verify(&entries, Some(4)),
            Err(ChainBreak::Truncated { last: 3, head: 4 })
        );
    }

    #[test]
    fn a_consistent_rewrite_or_a_cut_tail_fails_against_an_anchor() {
        let entries = chain(4);
        let anchor = Anchor {
            sequence: 3,
            hash: entries[2].hash.clone(),
        };
        let check = |entries: &[AuditEntry]| {
            let mut verifier = ChainVerifier::from_start().anchored(std::slice::from_ref(&anchor));
            for entry in entries {
                verifier.check(entry)?;
            }
            verifier.finish(None)
        };
        assert_eq!(check(&entries).expect("anchored").entries, 4);
        // Entry 2 changed and every hash after it recomputed: the chain alone still links.
        let mut rewritten = entries.clone();
        rewritten[1].draft.outcome = 7;
        for index in 1..rewritten.len() {
            rewritten[index].previous_hash = rewritten[index - 1].hash.clone();
            rewritten[index].hash = rewritten[index].computed_hash();
        }
        assert_eq!(check(&rewritten), Err(ChainBreak::Unanchored { sequence: 3 }));
        assert_eq!(check(&entries[..2]), Err(ChainBreak::AnchorMissing { sequence: 3 }));
    }

    #[test]
    fn reads_an_anchor_and_names_what_is_wrong_with_a_bad_one() {
        let hash = "ab".repeat(32);
        assert_eq!(
            format!("12:{hash}").parse::<Anchor>(),
            Ok(Anchor {
                sequence: 12,
                hash: hash.clone()
            })
        );
        assert!(format!("0:{hash}").parse::<Anchor>().is_err());
        assert!("12".parse::<Anchor>().is_err());
        assert!(format!("12:{}", hash.to_uppercase()).parse::<Anchor>().is_err());
        assert!("12:abc".parse::<Anchor>().is_err());
    }

    #[test]
    fn an_export_from_the_middle_verifies_from_its_first_entry() {
        let entries = chain(5);
        let mut verifier = ChainVerifier::from_anywhere();
        for entry in &entries[2..] {
            verifier.check(entry).expect("linked");
        }
        assert_eq!(verifier.finish(None).expect("intact").entries, 3);
        let mut gap = ChainVerifier::from_anywhere();
        gap.check(&entries[1]).expect("first");
        assert_eq!(
            gap.check(&entries[3]),
            Err(ChainBreak::OutOfSequence { expected: 3, found: 4 })
        );
    }
}
