//! Dictionary-based decompounding for the languages that write compounds as one word (German,
//! Dutch): "Röntgenkleinwinkelstreuung" is small-angle scattering of X-rays, "enquêtedata" survey
//! data. A long word that contains a known word (a single-word thesaurus term of its language) also
//! yields that word, so the compound is found by a search for its parts, and a query compound no
//! term matches is searched by its parts.
//!
//! A known word is looked for in two spellings, as written ("kleinwinkelstreuung") and stemmed
//! ("einzelzell" for "Einzelzelle", which is how it appears inside "Einzelzellsequenzierung"), and in
//! the compound as written and stemmed: a compound's head is inflected as the word on its own is,
//! so "Halbleiterreinräume" holds "Reinraum" only once stemmed ("halbleiterreinraum"), and Dutch
//! "elektronenmicroscopen" "microscoop" ("elektronenmicroscoop"); "Röntgenlaser" holds "Laser" only
//! as written (the stems are "rontgenlas" and a "las" too short to look for). Either way the part
//! is emitted as the word as written, so that the stemmer then gives it the same stem as the word
//! on its own.
//!
//! Only parts of some length count, and only if they leave a few letters of the compound over:
//! short words hide inside too many unrelated ones ("Ion" in "Religion"), and a word followed by one
//! or two letters is an inflection of it ("Mikroskope"), not a compound.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// A language's stemmer on one lowercased word, without folding.
pub type Stem = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Shorter words (in characters) are not split.
const MIN_COMPOUND_CHARS: usize = 7;
/// Shorter known words are not looked for inside compounds.
const MIN_PART_CHARS: usize = 4;
/// A part must leave this many characters of the compound outside it; fewer are an inflection.
const MIN_REST_CHARS: usize = 3;

/// The known words of one language, as a byte trie over their spellings.
#[derive(Debug, Clone, Default)]
pub struct CompoundDictionary {
    /// The known words, lowercased, as parts are emitted.
    words: Vec<String>,
    nodes: Vec<Node>,
    fingerprint: u64,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
    /// A spelling ends here: its word (index into `words`) and its length in characters.
    word: Option<(u32, usize)>,
}

/// A known word found inside a compound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Byte range of the spelling in the compound.
    pub range: Range<usize>,
    /// The known word, lowercased.
    pub word: &'a str,
}

impl CompoundDictionary {
    /// A dictionary of `words` (each one word, any case); `stem` gives a lowercased word's stem,
    /// unfolded, as the language's analyzer computes it.
    pub fn new<'w>(words: impl IntoIterator<Item = &'w str>, stem: impl Fn(&str) -> String) -> CompoundDictionary {
        // Spelling → word, sorted, so that the trie and the fingerprint do not depend on the
        // thesaurus's line order; the first word keeps a spelling two words share.
        let mut spellings: BTreeMap<String, String> = BTreeMap::new();
        for word in words {
            let word = word.trim().to_lowercase();
            if word.is_empty() || word.chars().any(|c| !c.is_alphanumeric()) {
                continue;
            }
            for spelling in [stem(&word), word.clone()] {
                if spelling.chars().count() >= MIN_PART_CHARS {
                    spellings.entry(spelling).or_insert_with(|| word.clone());
                }
            }
        }
        let mut dictionary = CompoundDictionary {
            words: Vec::new(),
            nodes: vec![Node::default()],
            fingerprint: FNV_OFFSET,
        };
        let mut word_indexes: BTreeMap<String, u32> = BTreeMap::new();
        for (spelling, word) in spellings {
            dictionary.fingerprint = fnv1a(fnv1a(dictionary.fingerprint, spelling.as_bytes()), word.as_bytes());
            let next_index = u32::try_from(dictionary.words.len()).unwrap_or(u32::MAX);
            let index = *word_indexes.entry(word.clone()).or_insert_with(|| {
                dictionary.words.push(word);
                next_index
            });
            dictionary.insert(&spelling, index);
        }
        dictionary
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Changes whenever the dictionary would split some word differently.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn insert(&mut self, spelling: &str, word: u32) {
        let mut node = 0;
        for byte in spelling.bytes() {
            node = match self.nodes[node].children.binary_search_by_key(&byte, |(key, _)| *key) {
                Ok(found) => self.nodes[node].children[found].1 as usize,
                Err(slot) => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node]
                        .children
                        .insert(slot, (byte, u32::try_from(child).unwrap_or(u32::MAX)));
                    child
                }
            };
        }
        self.nodes[node].word = Some((word, spelling.chars().count()));
    }

    /// Every known word inside `compound` (lowercased), each once, leftmost first; none when
    /// `compound` is short. Parts may overlap and contain one another.
    pub fn parts<'d>(&'d self, compound: &str) -> Vec<Part<'d>> {
        let mut parts: Vec<Part<'d>> = Vec::new();
        let compound_chars = compound.chars().count();
        if self.is_empty() || compound_chars < MIN_COMPOUND_CHARS {
            return parts;
        }
        let bytes = compound.as_bytes();
        for (start, _) in compound.char_indices() {
            let mut node = 0;
            for (offset, byte) in bytes[start..].iter().enumerate() {
                let children = &self.nodes[node].children;
                let Ok(found) = children.binary_search_by_key(byte, |(key, _)| *key) else {
                    break;
                };
                node = children[found].1 as usize;
                if let Some((word, chars)) = self.nodes[node].word {
                    let word = self.words[word as usize].as_str();
                    if compound_chars - chars >= MIN_REST_CHARS && !parts.iter().any(|part| part.word == word) {
                        parts.push(Part {
                            range: start..start + offset + 1,
                            word,
                        });
                    }
                }
            }
        }
        parts
    }
}

/// A language's known words and its stemmer: what splits its compounds.
#[derive(Clone)]
pub struct Compounds {
    dictionary: Arc<CompoundDictionary>,
    stem: Stem,
}

impl Compounds {
    /// The dictionary of `words` (each one word, any case), looked for with `stem`.
    pub fn new<'w>(words: impl IntoIterator<Item = &'w str>, stem: Stem) -> Compounds {
        Compounds {
            dictionary: Arc::new(CompoundDictionary::new(words, |word| stem(word))),
            stem,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.dictionary.is_empty()
    }

    pub fn fingerprint(&self) -> u64 {
        self.dictionary.fingerprint()
    }

    /// The parts of `word` (lowercased) as written and stemmed, each once.
    fn parts_written_and_stemmed(&self, word: &str) -> [Vec<Part<'_>>; 2] {
        if self.dictionary.is_empty() || word.chars().count() < MIN_COMPOUND_CHARS {
            return [Vec::new(), Vec::new()];
        }
        let stem = (self.stem)(word);
        [self.dictionary.parts(word), self.dictionary.parts(&stem)]
    }

    /// Every known word inside `word` (lowercased), each once: what the index adds.
    pub fn parts(&self, word: &str) -> Vec<&str> {
        let mut words: Vec<&str> = Vec::new();
        for part in self.parts_written_and_stemmed(word).iter().flatten() {
            if !words.contains(&part.word) {
                words.push(part.word);
            }
        }
        words
    }

    /// [`Compounds::parts`] without those inside another part: what `word` is made of
    /// ("Rasterelektronenmikroskopanalyse" is an electron microscope and an analysis, not also a
    /// microscope).
    pub fn outermost_parts(&self, word: &str) -> Vec<&str> {
        let found = self.parts_written_and_stemmed(word);
        let inside_another = |parts: &[Part<'_>], part: &Part<'_>| {
            parts.iter().any(|other| {
                other.range != part.range && other.range.start <= part.range.start && part.range.end <= other.range.end
            })
        };
        let nested: Vec<&str> = found
            .iter()
            .flat_map(|parts| parts.iter().filter(|part| inside_another(parts, part)))
            .map(|part| part.word)
            .collect();
        let mut words: Vec<&str> = Vec::new();
        for part in found.iter().flatten() {
            if !nested.contains(&part.word) && !words.contains(&part.word) {
                words.push(part.word);
            }
        }
        words
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`; the fingerprint is stored on disk.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    // A separator, so that ("ab", "c") and ("a", "bc") differ.
    for byte in bytes.iter().copied().chain([0xff]) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The token filter: each token (lowercased, before stemming) is followed by the known words
/// inside it, at its position, so that the phrase positions of the text stay as they were.
#[derive(Clone)]
pub struct Decompounder {
    compounds: Compounds,
}

impl Decompounder {
    pub fn new(compounds: Compounds) -> Decompounder {
        Decompounder { compounds }
    }
}

impl TokenFilter for Decompounder {
    type Tokenizer<T: Tokenizer> = DecompounderFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> DecompounderFilter<T> {
        DecompounderFilter {
            compounds: self.compounds,
            inner: tokenizer,
        }
    }
}

#[derive(Clone)]
pub struct DecompounderFilter<T> {
    compounds: Compounds,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for DecompounderFilter<T> {
    type TokenStream<'a> = DecompounderTokenStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        DecompounderTokenStream {
            compounds: &self.compounds,
            tail: self.inner.token_stream(text),
            parts: Vec::new(),
            on_part: false,
        }
    }
}

pub struct DecompounderTokenStream<'a, T> {
    compounds: &'a Compounds,
    tail: T,
    /// The parts of the tail's current token still to emit, last first.
    parts: Vec<Token>,
    /// Whether the current token is `parts`' last rather than the tail's.
    on_part: bool,
}

impl<T: TokenStream> TokenStream for DecompounderTokenStream<'_, T> {
    fn advance(&mut self) -> bool {
        if self.on_part {
            self.parts.pop();
        }
        if !self.parts.is_empty() {
            self.on_part = true;
            return true;
        }
        self.on_part = false;
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token();
        self.parts = self
            .compounds
            .parts(&token.text)
            .into_iter()
            .rev()
            .map(|word| Token {
                text: word.to_owned(),
                ..token.clone()
            })
            .collect();
        true
    }

    fn token(&self) -> &Token {
        match self.parts.last() {
            Some(part) if self.on_part => part,
            _ => self.tail.token(),
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.parts.last_mut() {
            Some(part) if self.on_part => part,
            _ => self.tail.token_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A German-like stemmer good enough for the tests: drops a final "e".
    fn stem(word: &str) -> String {
        word.strip_suffix('e').unwrap_or(word).to_owned()
    }

    fn dictionary(words: &[&str]) -> CompoundDictionary {
        CompoundDictionary::new(words.iter().copied(), stem)
    }

    fn words<'a>(parts: &[Part<'a>]) -> Vec<&'a str> {
        parts.iter().map(|part| part.word).collect()
    }

    #[test]
    fn finds_known_words_inside_a_compound_as_written_or_stemmed() {
        let dictionary = dictionary(&["Kleinwinkelstreuung", "Einzelzelle", "Sequenzierung", "Laser"]);
        assert_eq!(
            words(&dictionary.parts("röntgenkleinwinkelstreuung")),
            ["kleinwinkelstreuung"]
        );
        // "Einzelzelle" appears as its stem, and is emitted as written.
        assert_eq!(
            words(&dictionary.parts("einzelzellsequenzierung")),
            ["einzelzelle", "sequenzierung"]
        );
        assert_eq!(words(&dictionary.parts("röntgenlaser")), ["laser"]);
    }

    #[test]
    fn a_word_plus_an_inflection_or_a_short_word_is_no_compound() {
        let dictionary = dictionary(&["Mikroskop", "Ion", "Kleinwinkelstreuung"]);
        // Only two letters outside "mikroskop": an inflection.
        assert!(dictionary.parts("mikroskope").is_empty());
        assert!(dictionary.parts("mikroskopie").is_empty());
        // The word itself is not a part of itself.
        assert!(dictionary.parts("kleinwinkelstreuung").is_empty());
        // Too short to be looked for: "ion" is in "Religionsunterricht".
        assert!(dictionary.parts("religionsunterricht").is_empty());
        assert_eq!(words(&dictionary.parts("lichtmikroskop")), ["mikroskop"]);
    }

    fn compounds(words: &[&str]) -> Compounds {
        Compounds::new(words.iter().copied(), Arc::new(stem))
    }

    #[test]
    fn outermost_parts_drop_the_parts_inside_other_parts() {
        let compounds = compounds(&["Elektronenmikroskop", "Mikroskop", "Analyse"]);
        let compound = "rasterelektronenmikroskopanalyse";
        assert_eq!(
            compounds.parts(compound),
            ["elektronenmikroskop", "mikroskop", "analyse"]
        );
        assert_eq!(compounds.outermost_parts(compound), ["elektronenmikroskop", "analyse"]);
    }

    #[test]
    fn parts_are_looked_for_in_the_compound_as_written_and_stemmed() {
        // A made-up stemmer that, like Dutch Snowball, turns a plural "-open" into "-oop".
        let stem: Stem = Arc::new(|word: &str| match word.strip_suffix("open") {
            Some(stem) => format!("{stem}oop"),
            None => word.to_owned(),
        });
        let compounds = Compounds::new(["microscoop", "röntgen"], stem);
        assert_eq!(compounds.parts("elektronenmicroscopen"), ["microscoop"]);
        assert_eq!(compounds.parts("röntgenmicroscopen"), ["röntgen", "microscoop"]);
    }

    #[test]
    fn the_fingerprint_follows_the_words_not_their_order() {
        let one = dictionary(&["Laser", "Sequenzierung"]);
        let same = dictionary(&["Sequenzierung", "Laser"]);
        let other = dictionary(&["Laser", "Sequenzierungen"]);
        assert_eq!(one.fingerprint(), same.fingerprint());
        assert_ne!(one.fingerprint(), other.fingerprint());
        assert_ne!(one.fingerprint(), CompoundDictionary::default().fingerprint());
    }

    #[test]
    fn the_filter_emits_the_compound_then_its_parts_at_its_position() {
        use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(Decompounder::new(compounds(&["Kleinwinkelstreuung", "Röntgen"])))
            .build();
        let mut stream = analyzer.token_stream("Röntgenkleinwinkelstreuung an Proteinen");
        let mut tokens = Vec::new();
        stream.process(&mut |token| tokens.push((token.position, token.text.clone())));
        assert_eq!(
            tokens,
            [
                (0, "röntgenkleinwinkelstreuung".to_owned()),
                (0, "röntgen".to_owned()),
                (0, "kleinwinkelstreuung".to_owned()),
                (1, "an".to_owned()),
                (2, "proteinen".to_owned()),
            ]
        );
    }
}
