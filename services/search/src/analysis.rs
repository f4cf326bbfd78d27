//! Text analysis: the supported languages, the analyzers the index and the query planner share, and
//! the word normalisations the thesaurus matches on.
//!
//! Every analyzer splits with tantivy's `SimpleTokenizer` (runs of alphanumeric characters), so a
//! word seen by one analyzer is a word for all of them and positions line up across fields.
//!
//! The German and Dutch fields are also decompounded at index time ([`compounds`]): a compound is
//! followed, at its position, by the known words inside it, the known words being the thesaurus's
//! single-word terms of that language. Queries are analysed without it: the planner searches a
//! compound's parts as clauses of their own ([`Analyzers::compound_parts`]).

mod compounds;
mod light;
mod polish;

use std::collections::BTreeMap;
use std::sync::Arc;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenizerManager,
};

pub use compounds::{Compounds, Decompounder, Stem};
pub use light::light_stem;
pub use polish::{POLISH_STOP_WORDS, PolishStemmer};

/// Longer tokens (in bytes) are dropped; long enough for German compounds such as
/// "Hochleistungsrechenzentrum" written with multi-byte letters.
const MAX_TOKEN_BYTES: usize = 64;

/// The languages with their own stemmed fields. A description in another language is indexed in the
/// folded field only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    English,
    German,
    French,
    Dutch,
    Italian,
    Spanish,
    Polish,
}

impl Language {
    /// In the thesaurus's column order.
    pub const ALL: [Language; 7] = [
        Language::English,
        Language::German,
        Language::French,
        Language::Dutch,
        Language::Italian,
        Language::Spanish,
        Language::Polish,
    ];

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
            Language::French => "fr",
            Language::Dutch => "nl",
            Language::Italian => "it",
            Language::Spanish => "es",
            Language::Polish => "pl",
        }
    }

    /// Accepts an ISO 639-1 code in any case, with or without a region (`de-AT`, `pt_BR`).
    pub fn from_code(code: &str) -> Option<Language> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(primary))
    }

    /// Position in [`Language::ALL`], for per-language arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name the analyzer is registered under in the index's tokenizer manager.
    pub fn tokenizer_name(self) -> &'static str {
        match self {
            Language::English => "rti_en",
            Language::German => "rti_de",
            Language::French => "rti_fr",
            Language::Dutch => "rti_nl",
            Language::Italian => "rti_it",
            Language::Spanish => "rti_es",
            Language::Polish => "rti_pl",
        }
    }

    /// Whether the language writes compounds as one word, so that its fields are decompounded.
    pub fn compounds(self) -> bool {
        matches!(self, Language::German | Language::Dutch)
    }

    /// tantivy's own stemmer and stop-word language; `None` for Polish, which it lacks.
    fn tantivy_language(self) -> Option<tantivy::tokenizer::Language> {
        use tantivy::tokenizer::Language as Tantivy;
        match self {
            Language::English => Some(Tantivy::English),
            Language::German => Some(Tantivy::German),
            Language::French => Some(Tantivy::French),
            Language::Dutch => Some(Tantivy::Dutch),
            Language::Italian => Some(Tantivy::Italian),
            Language::Spanish => Some(Tantivy::Spanish),
            Language::Polish => None,
        }
    }

    fn stop_words(self) -> StopWordFilter {
        match self.tantivy_language() {
            // tantivy ships lists for all six with the `stopwords` feature; an empty filter keeps the
            // analyzer working (only less precise) should a future version drop one.
            Some(language) => StopWordFilter::new(language).unwrap_or_else(|| StopWordFilter::remove(Vec::new())),
            None => StopWordFilter::remove(POLISH_STOP_WORDS.iter().map(|word| (*word).to_owned())),
        }
    }

    /// Words, lowercased, with `stop_words` removed, stemmed in this language, then ASCII-folded
    /// (after stemming: the Snowball rules read the accents).
    fn analyzer(self, stop_words: StopWordFilter) -> TextAnalyzer {
        let builder = words_builder().filter(stop_words);
        match self.tantivy_language() {
            Some(language) => builder
                .filter(Stemmer::new(language))
                .filter(AsciiFoldingFilter)
                .build(),
            None => builder.filter(PolishStemmer).filter(AsciiFoldingFilter).build(),
        }
    }

    /// [`Language::analyzer`] with the compounds' parts added before stemming, so that a part is
    /// stemmed as the word on its own is.
    fn decompounding_analyzer(self, compounds: Compounds) -> TextAnalyzer {
        let builder = words_builder()
            .filter(self.stop_words())
            .filter(Decompounder::new(compounds));
        match self.tantivy_language() {
            Some(language) => builder
                .filter(Stemmer::new(language))
                .filter(AsciiFoldingFilter)
                .build(),
            None => builder.filter(PolishStemmer).filter(AsciiFoldingFilter).build(),
        }
    }

    /// This language's stemmer on one lowercased word, without folding: how a word appears inside
    /// a compound.
    fn unfolded_stem(self) -> Stem {
        let builder = words_builder();
        let stemmer = match self.tantivy_language() {
            Some(language) => builder.filter(Stemmer::new(language)).build(),
            None => builder.filter(PolishStemmer).build(),
        };
        Arc::new(move |word: &str| {
            run(&stemmer, word)
                .into_iter()
                .next()
                .map_or_else(|| word.to_owned(), |(_, stem)| stem)
        })
    }
}

fn words_builder() -> tantivy::tokenizer::TextAnalyzerBuilder<impl tantivy::tokenizer::Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
}

/// The language-neutral field's analyzer is registered under this name.
pub const FOLDED_TOKENIZER: &str = "rti_folded";

/// One token: its position in the analysed text and its text.
pub type PositionedToken = (usize, String);

/// The analyzers, built once. `TextAnalyzer` needs `&mut` to run, so each use clones one (a few
/// boxed filters and an `Arc`'d word list): that keeps `Analyzers` shareable across threads.
#[derive(Clone)]
pub struct Analyzers {
    /// Words as written, nothing removed: how a query or a term is split into words.
    words: TextAnalyzer,
    /// Words, lowercased and ASCII-folded: the language-neutral field.
    folded: TextAnalyzer,
    /// The per-language field analyzers of the query side, in [`Language::ALL`] order.
    language_fields: Vec<TextAnalyzer>,
    /// The same for the index side: decompounding where the language compounds and there is a
    /// dictionary.
    language_index: Vec<TextAnalyzer>,
    /// Per language, what splits its compounds; `None` for the languages that do not compound or
    /// have no known words.
    compounds: Vec<Option<Compounds>>,
    /// The same without stop-word removal: normalises thesaurus terms and query words for matching,
    /// where "microscopie à force atomique" must keep its "à".
    language_stems: Vec<TextAnalyzer>,
    /// Lowercase plus the language's stop-word filter only: a word is a stop word when it vanishes.
    language_stop_words: Vec<TextAnalyzer>,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers::new()
    }
}

impl Analyzers {
    /// Without decompounding: what the thesaurus normalises its terms with.
    pub fn new() -> Analyzers {
        Analyzers::with_compounds(&BTreeMap::new())
    }

    /// Decompounds the fields of each compounding language with `words` of that language (each
    /// one word; words of other languages are ignored).
    pub fn with_compounds(words: &BTreeMap<Language, Vec<&str>>) -> Analyzers {
        let no_stop_words = || StopWordFilter::remove(Vec::new());
        let compounds: Vec<Option<Compounds>> = Language::ALL
            .iter()
            .map(|language| {
                let words = words.get(language).filter(|_| language.compounds())?;
                let compounds = Compounds::new(words.iter().copied(), language.unfolded_stem());
                (!compounds.is_empty()).then_some(compounds)
            })
            .collect();
        Analyzers {
            words: TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .build(),
            folded: words_builder().filter(AsciiFoldingFilter).build(),
            language_fields: Language::ALL
                .iter()
                .map(|language| language.analyzer(language.stop_words()))
                .collect(),
            language_index: Language::ALL
                .iter()
                .map(|language| match &compounds[language.index()] {
                    Some(compounds) => language.decompounding_analyzer(compounds.clone()),
                    None => language.analyzer(language.stop_words()),
                })
                .collect(),
            compounds,
            language_stems: Language::ALL
                .iter()
                .map(|language| language.analyzer(no_stop_words()))
                .collect(),
            language_stop_words: Language::ALL
                .iter()
                .map(|language| words_builder().filter(language.stop_words()).build())
                .collect(),
        }
    }

    /// Registers the index-side field analyzers under the names the schema refers to.
    pub fn register(&self, manager: &TokenizerManager) {
        manager.register(FOLDED_TOKENIZER, self.folded.clone());
        for language in Language::ALL {
            manager.register(language.tokenizer_name(), self.language_index[language.index()].clone());
        }
    }

    /// Identifies the decompounding dictionaries: an index built with others splits words
    /// differently and must be rebuilt.
    pub fn compounds_fingerprint(&self) -> u64 {
        self.compounds.iter().fold(0, |hash, compounds| {
            hash.rotate_left(7) ^ compounds.as_ref().map_or(0, Compounds::fingerprint)
        })
    }

    /// The outermost known words inside `word` (one word, any case) in `language`, as written in
    /// the thesaurus, lowercased; empty when the language does not compound or `word` is no
    /// compound of known words.
    pub fn compound_parts(&self, language: Language, word: &str) -> Vec<String> {
        match &self.compounds[language.index()] {
            Some(compounds) => compounds
                .outermost_parts(&word.to_lowercase())
                .into_iter()
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        }
    }

    /// What the index-side field of `language` holds for `text`, with the compounds' parts.
    pub fn language_index(&self, language: Language, text: &str) -> Vec<PositionedToken> {
        run(&self.language_index[language.index()], text)
    }

    /// The words of `text` as written (case kept), as a query or a term is split.
    pub fn words(&self, text: &str) -> Vec<String> {
        run(&self.words, text).into_iter().map(|(_, word)| word).collect()
    }

    /// What the language-neutral field holds for `text`.
    pub fn folded(&self, text: &str) -> Vec<PositionedToken> {
        run(&self.folded, text)
    }

    /// What the field of `language` holds for `text`, as a query searches it: the index side also
    /// holds the parts of compounds ([`Analyzers::language_index`]), which the planner searches as
    /// clauses of their own.
    pub fn language_field(&self, language: Language, text: &str) -> Vec<PositionedToken> {
        run(&self.language_fields[language.index()], text)
    }

    /// `text`'s words stemmed in `language` and folded, stop words kept.
    pub fn stems(&self, language: Language, text: &str) -> Vec<String> {
        run(&self.language_stems[language.index()], text)
            .into_iter()
            .map(|(_, stem)| stem)
            .collect()
    }

    /// `text`'s words light-stemmed in `language` (see [`light_stem`]) and folded, stop words kept;
    /// `None` for the languages without a light stemmer.
    pub fn light_stems(&self, language: Language, text: &str) -> Option<Vec<String>> {
        run(&self.folded, text)
            .into_iter()
            .map(|(_, word)| light_stem(language, &word))
            .collect()
    }

    /// Whether `word` (one word, any case) is a stop word in any supported language.
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.language_stop_words
            .iter()
            .any(|analyzer| run(analyzer, word).is_empty())
    }
}

/// Whether `words` are written like an acronym ("TEM", "BSL-3"): no lowercase letter, one uppercase
/// at least. Acronyms are neither stemmed nor matched to lowercase query words: "stem cells" is not
/// STEM microscopy, and the English stemmer turns "INS" into "in".
pub fn is_acronym<S: AsRef<str>>(words: &[S]) -> bool {
    let characters = || words.iter().flat_map(|word| word.as_ref().chars());
    characters().any(char::is_uppercase) && !characters().any(char::is_lowercase)
}

fn run(analyzer: &TextAnalyzer, text: &str) -> Vec<PositionedToken> {
    let mut analyzer = analyzer.clone();
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    stream.process(&mut |token| tokens.push((token.position, token.text.clone())));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(language: Language, text: &str) -> Vec<String> {
        Analyzers::new()
            .language_field(language, text)
            .into_iter()
            .map(|(_, token)| token)
            .collect()
    }

    #[test]
    fn english_field_drops_stop_words_and_stems_plurals() {
        assert_eq!(
            field(Language::English, "The Cleanrooms of the Lithography lines"),
            ["cleanroom", "lithographi", "line"]
        );
    }

    #[test]
    fn german_field_stems_plural_compound_and_folds_umlauts() {
        // The compound stays one token; its plural and its singular meet on one stem.
        assert_eq!(
            field(Language::German, "Reinräume"),
            field(Language::German, "Reinraum")
        );
        assert_eq!(field(Language::German, "die Reinräume"), ["reinraum"]);
        assert_eq!(
            field(Language::German, "Elektronenmikroskope"),
            field(Language::German, "Elektronenmikroskop")
        );
        assert!(field(Language::German, "Größe").iter().all(|token| token.is_ascii()));
    }

    #[test]
    fn french_field_stems_plurals_and_folds_accents() {
        assert_eq!(
            field(Language::French, "salles blanches"),
            field(Language::French, "salle blanche")
        );
        assert_eq!(
            field(Language::French, "la spectroscopie"),
            field(Language::French, "spectroscopies")
        );
        assert_eq!(
            field(Language::French, "Laboratoires"),
            field(Language::French, "laboratoire")
        );
        assert!(
            field(Language::French, "électronique")
                .iter()
                .all(|token| token.is_ascii())
        );
    }

    #[test]
    fn dutch_italian_and_spanish_fields_stem_plurals() {
        assert_eq!(
            field(Language::Dutch, "microscopen"),
            field(Language::Dutch, "microscoop")
        );
        assert_eq!(field(Language::Dutch, "de ruimtes"), field(Language::Dutch, "ruimte"));
        assert_eq!(
            field(Language::Italian, "microscopi"),
            field(Language::Italian, "microscopio")
        );
        assert_eq!(
            field(Language::Spanish, "los microscopios"),
            field(Language::Spanish, "microscopio")
        );
        assert_eq!(
            field(Language::Spanish, "salas blancas"),
            field(Language::Spanish, "sala blanca")
        );
    }

    #[test]
    fn polish_field_stems_inflected_forms_with_the_custom_filter() {
        let analyzers = Analyzers::new();
        let stem = |text: &str| analyzers.language_field(Language::Polish, text);
        // mikroskop: nominative, nominative plural, genitive plural, instrumental
        for form in ["mikroskopy", "mikroskopów", "mikroskopem"] {
            assert_eq!(stem(form), stem("mikroskop"), "{form}");
        }
        // pomieszczenie (room): nominative, genitive singular, genitive plural
        assert_eq!(stem("pomieszczenia"), stem("pomieszczenie"));
        assert_eq!(stem("pomieszczeń"), stem("pomieszczenie"));
        assert_eq!(stem("synchrotronu"), stem("synchrotron"));
        assert_eq!(
            field(Language::Polish, "w laboratorium i"),
            field(Language::Polish, "laboratorium")
        );
        assert!(
            field(Language::Polish, "źródło światła")
                .iter()
                .all(|token| token.is_ascii())
        );
    }

    #[test]
    fn german_and_dutch_index_fields_add_the_known_words_inside_compounds() {
        let words = BTreeMap::from([
            (
                Language::German,
                vec!["Kleinwinkelstreuung", "Einzelzelle", "Sequenzierung"],
            ),
            (Language::Dutch, vec!["enquête", "microscoop"]),
            // Ignored: French does not compound.
            (Language::French, vec!["diffusion"]),
        ]);
        let analyzers = Analyzers::with_compounds(&words);
        let index = |language, text| analyzers.language_index(language, text);
        let stem = |text| analyzers.language_field(Language::German, text)[0].1.clone();
        assert_eq!(
            index(Language::German, "Röntgenkleinwinkelstreuung an Proteinen"),
            [
                (0, stem("Röntgenkleinwinkelstreuung")),
                (0, stem("Kleinwinkelstreuung")),
                (2, stem("Proteinen")),
            ]
        );
        // A part found by its stem is stemmed as the word on its own: "Einzelzelle".
        let parts: Vec<String> = index(Language::German, "Einzelzellsequenzierung")
            .into_iter()
            .map(|(_, token)| token)
            .collect();
        assert_eq!(parts[1..], [stem("Einzelzelle"), stem("Sequenzierung")]);
        // Dutch plural inside a compound: "microscopen" holds the stem of "microscoop".
        assert_eq!(
            index(Language::Dutch, "elektronenmicroscopen").len(),
            2,
            "{:?}",
            index(Language::Dutch, "elektronenmicroscopen")
        );
        assert_eq!(index(Language::French, "rediffusion").len(), 1);
        // The query side keeps the compound whole; its parts become clauses of their own.
        assert_eq!(
            analyzers
                .language_field(Language::German, "Röntgenkleinwinkelstreuung")
                .len(),
            1
        );
        assert_eq!(
            analyzers.compound_parts(Language::German, "Einzelzellsequenzierung"),
            ["einzelzelle", "sequenzierung"]
        );
        assert_eq!(analyzers.compound_parts(Language::Dutch, "Enquêtedata"), ["enquête"]);
        assert!(analyzers.compound_parts(Language::French, "rediffusion").is_empty());
    }

    #[test]
    fn the_compounds_fingerprint_changes_with_the_words() {
        let one = BTreeMap::from([(Language::German, vec!["Sequenzierung"])]);
        let other = BTreeMap::from([(Language::German, vec!["Sequenzierung", "Einzelzelle"])]);
        let fingerprint = |words| Analyzers::with_compounds(words).compounds_fingerprint();
        assert_eq!(fingerprint(&one), fingerprint(&one));
        assert_ne!(fingerprint(&one), fingerprint(&other));
        assert_ne!(fingerprint(&one), Analyzers::new().compounds_fingerprint());
    }

    #[test]
    fn light_stems_exist_for_italian_and_spanish_only() {
        let analyzers = Analyzers::new();
        assert_eq!(
            analyzers.light_stems(Language::Italian, "Camere anecoiche"),
            analyzers.light_stems(Language::Italian, "camera anecoica")
        );
        assert_eq!(
            analyzers.light_stems(Language::Spanish, "libres de gérmenes"),
            Some(vec!["libr".to_owned(), "de".to_owned(), "germen".to_owned()])
        );
        assert_eq!(analyzers.light_stems(Language::English, "chambers"), None);
    }

    #[test]
    fn folded_analyzer_lowercases_and_folds_without_stemming() {
        let folded: Vec<String> = Analyzers::new()
            .folded("Reinräume für Élèves")
            .into_iter()
            .map(|(_, token)| token)
            .collect();
        assert_eq!(folded, ["reinraume", "fur", "eleves"]);
    }

    #[test]
    fn stop_words_of_every_language_are_recognised() {
        let analyzers = Analyzers::new();
        for word in ["the", "für", "les", "het", "della", "los", "się"] {
            assert!(analyzers.is_stop_word(word), "{word}");
        }
        for word in ["cleanroom", "reinraum", "laser"] {
            assert!(!analyzers.is_stop_word(word), "{word}");
        }
    }

    #[test]
    fn acronyms_are_words_in_capitals() {
        assert!(is_acronym(&["TEM"]));
        assert!(is_acronym(&["BSL", "3"]));
        assert!(!is_acronym(&["Tem"]));
        assert!(!is_acronym(&["stem"]));
        assert!(!is_acronym(&["3"]));
        assert!(!is_acronym(&["X", "ray"]));
    }

    #[test]
    fn language_codes_accept_regions_and_any_case() {
        assert_eq!(Language::from_code("DE-at"), Some(Language::German));
        assert_eq!(Language::from_code("pl"), Some(Language::Polish));
        assert_eq!(Language::from_code("pt"), None);
        assert_eq!(Language::from_code(""), None);
    }
}
