//! Text analysis: the supported languages, the analyzers the index and the query planner share, and
//! the word normalisations the thesaurus matches on.
//!
//! Every analyzer splits with tantivy's `SimpleTokenizer` (runs of alphanumeric characters), so a
//! word seen by one analyzer is a word for all of them and positions line up across fields.

mod polish;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenizerManager,
};

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
    /// The per-language field analyzers (index and query side), in [`Language::ALL`] order.
    language_fields: Vec<TextAnalyzer>,
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
    pub fn new() -> Analyzers {
        let no_stop_words = || StopWordFilter::remove(Vec::new());
        Analyzers {
            words: TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .build(),
            folded: words_builder().filter(AsciiFoldingFilter).build(),
            language_fields: Language::ALL
                .iter()
                .map(|language| language.analyzer(language.stop_words()))
                .collect(),
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

    /// Registers the field analyzers under the names the schema refers to.
    pub fn register(&self, manager: &TokenizerManager) {
        manager.register(FOLDED_TOKENIZER, self.folded.clone());
        for language in Language::ALL {
            manager.register(
                language.tokenizer_name(),
                self.language_fields[language.index()].clone(),
            );
        }
    }

    /// The words of `text` as written (case kept), as a query or a term is split.
    pub fn words(&self, text: &str) -> Vec<String> {
        run(&self.words, text).into_iter().map(|(_, word)| word).collect()
    }

    /// What the language-neutral field holds for `text`.
    pub fn folded(&self, text: &str) -> Vec<PositionedToken> {
        run(&self.folded, text)
    }

    /// What the field of `language` holds for `text`.
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
