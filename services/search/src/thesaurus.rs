//! The multilingual thesaurus: concepts whose terms, in all seven languages, a query expands to.
//!
//! File format, one concept a line: `id | en | de | fr | nl | it | es | pl`. A cell lists the
//! concept's synonyms in that language separated by `;`, and may be empty. `#` starts a comment
//! running to the end of the line; blank lines are skipped, and so is a header line naming the
//! columns.
//!
//! Terms are matched against query words in normalised forms that survive inflection: each word
//! stemmed with the term's language's stemmer and folded ("Reinräume" and "Reinraum" both give
//! "reinraum"), light-stemmed where the language has a light stemmer (Italian "camere anecoiche"
//! and "camera anecoica", which Snowball stems apart, both give "camer anecoic"), and each word only
//! lowercased and folded. A term written in capitals ("TEM", "BSL-3") is an acronym: it matches
//! only query words also written in capitals, unstemmed.
//!
//! The thesaurus's single-word German and Dutch terms are also the dictionary the index splits
//! compounds with ([`Thesaurus::single_word_terms`]); the index stores a fingerprint of that
//! dictionary and is rebuilt when it changes. Other changes need no reindexing.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use crate::analysis::{Analyzers, Language, is_acronym};

/// The column headers of the file, in order.
const COLUMNS: [&str; 8] = ["id", "en", "de", "fr", "nl", "it", "es", "pl"];

/// Compiled in from `data/thesaurus.txt`.
const BUILTIN_TEXT: &str = include_str!("../data/thesaurus.txt");

static BUILTIN: OnceLock<Arc<Thesaurus>> = OnceLock::new();

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThesaurusError {
    #[error("thesaurus line {line}: expected 8 cells `id | en | de | fr | nl | it | es | pl`, found {found}")]
    CellCount { line: usize, found: usize },
    #[error("thesaurus line {line}: the concept id is empty")]
    EmptyId { line: usize },
    #[error("thesaurus line {line}: concept {id:?} is already defined on line {first_line}")]
    DuplicateId { line: usize, id: String, first_line: usize },
    #[error("thesaurus line {line}: the {language} term {term:?} has no words")]
    TermWithoutWords {
        line: usize,
        language: &'static str,
        term: String,
    },
    #[error("thesaurus line {line}: concept {id:?} has no terms")]
    ConceptWithoutTerms { line: usize, id: String },
}

impl ThesaurusError {
    /// The 1-based line of the file the error is on.
    pub fn line(&self) -> usize {
        match self {
            ThesaurusError::CellCount { line, .. }
            | ThesaurusError::EmptyId { line }
            | ThesaurusError::DuplicateId { line, .. }
            | ThesaurusError::TermWithoutWords { line, .. }
            | ThesaurusError::ConceptWithoutTerms { line, .. } => *line,
        }
    }
}

/// One concept: its id and every term, in every language, that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Concept {
    pub id: String,
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub language: Language,
    pub text: String,
    /// Written in capitals: searched as written (folded fields only), never stemmed.
    pub acronym: bool,
    /// One word (no space, hyphen or other separator).
    pub single_word: bool,
}

/// Which normalised form a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeyForm {
    /// Words stemmed in this language, then folded.
    Stemmed(Language),
    /// Words light-stemmed in this language, folded (Italian and Spanish).
    Light(Language),
    /// Words lowercased and folded.
    Folded,
    /// An acronym's words, lowercased and folded; matched only by query words in capitals.
    Acronym,
}

#[derive(Debug, Clone)]
pub struct Thesaurus {
    concepts: Vec<Concept>,
    /// Normalised term (words joined by a space) → indexes into `concepts`.
    keys: HashMap<(KeyForm, String), Vec<usize>>,
    longest_term_words: usize,
}

impl Thesaurus {
    /// Parses the file format described in the module documentation.
    pub fn parse(text: &str) -> Result<Thesaurus, ThesaurusError> {
        let analyzers = Analyzers::new();
        let mut thesaurus = Thesaurus {
            concepts: Vec::new(),
            keys: HashMap::new(),
            longest_term_words: 0,
        };
        let mut lines_by_id: HashMap<String, usize> = HashMap::new();
        for (line_index, raw_line) in text.lines().enumerate() {
            let line = line_index + 1;
            let content = raw_line.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let cells: Vec<&str> = content.split('|').map(str::trim).collect();
            if cells.len() != COLUMNS.len() {
                return Err(ThesaurusError::CellCount {
                    line,
                    found: cells.len(),
                });
            }
            if cells
                .iter()
                .zip(COLUMNS)
                .all(|(cell, column)| cell.eq_ignore_ascii_case(column))
            {
                continue;
            }
            let id = cells[0];
            if id.is_empty() {
                return Err(ThesaurusError::EmptyId { line });
            }
            match lines_by_id.entry(id.to_owned()) {
                Entry::Occupied(first) => {
                    return Err(ThesaurusError::DuplicateId {
                        line,
                        id: id.to_owned(),
                        first_line: *first.get(),
                    });
                }
                Entry::Vacant(vacant) => {
                    vacant.insert(line);
                }
            }
            let concept = parse_concept(&analyzers, line, id, &cells[1..])?;
            thesaurus.add(&analyzers, line, concept)?;
        }
        Ok(thesaurus)
    }

    /// The thesaurus compiled in from `services/search/data/thesaurus.txt`, parsed once.
    pub fn builtin() -> &'static Thesaurus {
        builtin_arc()
    }

    /// The built-in thesaurus as a shared handle, for [`crate::SearchIndex::open`].
    pub(crate) fn builtin_shared() -> Arc<Thesaurus> {
        Arc::clone(builtin_arc())
    }

    pub fn concept_count(&self) -> usize {
        self.concepts.len()
    }

    #[cfg(test)]
    pub(crate) fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    pub(crate) fn concept(&self, index: usize) -> &Concept {
        &self.concepts[index]
    }

    /// The most words any term has: the longest span of query words worth trying.
    pub(crate) fn longest_term_words(&self) -> usize {
        self.longest_term_words
    }

    /// Per language, the terms (not acronyms) that are one word, as written: the known words
    /// compounds are split into.
    pub(crate) fn single_word_terms(&self) -> BTreeMap<Language, Vec<&str>> {
        let mut terms: BTreeMap<Language, Vec<&str>> = BTreeMap::new();
        for term in self.concepts.iter().flat_map(|concept| &concept.terms) {
            if term.single_word && !term.acronym {
                terms.entry(term.language).or_default().push(&term.text);
            }
        }
        terms
    }

    /// Concepts with a term whose words, in `form`, are `words`.
    pub(crate) fn lookup(&self, form: KeyForm, words: &[String]) -> &[usize] {
        self.keys
            .get(&(form, words.join(" ")))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn add(&mut self, analyzers: &Analyzers, line: usize, concept: Concept) -> Result<(), ThesaurusError> {
        let concept_index = self.concepts.len();
        for term in &concept.terms {
            let stems = analyzers.stems(term.language, &term.text);
            let folded: Vec<String> = analyzers.folded(&term.text).into_iter().map(|(_, word)| word).collect();
            if stems.is_empty() || folded.is_empty() {
                return Err(ThesaurusError::TermWithoutWords {
                    line,
                    language: term.language.code(),
                    term: term.text.clone(),
                });
            }
            self.longest_term_words = self.longest_term_words.max(stems.len()).max(folded.len());
            let keys = if term.acronym {
                vec![(KeyForm::Acronym, folded.join(" "))]
            } else {
                let mut keys = vec![
                    (KeyForm::Stemmed(term.language), stems.join(" ")),
                    (KeyForm::Folded, folded.join(" ")),
                ];
                if let Some(light) = analyzers.light_stems(term.language, &term.text) {
                    keys.push((KeyForm::Light(term.language), light.join(" ")));
                }
                keys
            };
            for key in keys {
                let concepts = self.keys.entry(key).or_default();
                if !concepts.contains(&concept_index) {
                    concepts.push(concept_index);
                }
            }
        }
        self.concepts.push(concept);
        Ok(())
    }
}

fn builtin_arc() -> &'static Arc<Thesaurus> {
    BUILTIN.get_or_init(|| {
        Arc::new(
            Thesaurus::parse(BUILTIN_TEXT)
                .expect("the compiled-in thesaurus parses: `builtin_thesaurus_parses_with_all_languages` checks it"),
        )
    })
}

fn parse_concept(
    analyzers: &Analyzers,
    line: usize,
    id: &str,
    language_cells: &[&str],
) -> Result<Concept, ThesaurusError> {
    let mut terms = Vec::new();
    for (language, cell) in Language::ALL.into_iter().zip(language_cells) {
        // Empty items (a trailing `;`, `a;;b`) carry nothing and are skipped.
        terms.extend(
            cell.split(';')
                .map(str::trim)
                .filter(|term| !term.is_empty())
                .map(|term| {
                    let words = analyzers.words(term);
                    Term {
                        language,
                        text: term.to_owned(),
                        acronym: is_acronym(&words),
                        single_word: words.len() == 1,
                    }
                }),
        );
    }
    if terms.is_empty() {
        return Err(ThesaurusError::ConceptWithoutTerms {
            line,
            id: id.to_owned(),
        });
    }
    Ok(Concept {
        id: id.to_owned(),
        terms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
# id | en | de | fr | nl | it | es | pl
id | en | de | fr | nl | it | es | pl
cleanroom | cleanroom; clean room | Reinraum | salle blanche | cleanroom; stofvrije ruimte | camera bianca | sala blanca | pomieszczenie czyste # ISO 14644

afm | atomic force microscopy; AFM | Rasterkraftmikroskopie | microscopie à force atomique | | | | mikroskopia sił atomowych
ins | inelastic neutron scattering; INS | | | | | |
";

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn parses_concepts_skipping_comments_blank_lines_header_and_empty_cells() {
        let thesaurus = Thesaurus::parse(SMALL).expect("valid thesaurus");
        assert_eq!(thesaurus.concept_count(), 3);
        let cleanroom = thesaurus.concept(0);
        assert_eq!(cleanroom.id, "cleanroom");
        assert_eq!(cleanroom.terms.len(), 9);
        assert!(
            cleanroom
                .terms
                .iter()
                .any(|term| term.language == Language::Polish && term.text == "pomieszczenie czyste")
        );
        assert_eq!(thesaurus.concept(1).terms.len(), 5);
        assert_eq!(thesaurus.longest_term_words(), 4);
    }

    #[test]
    fn matches_inflected_and_unaccented_forms() {
        let thesaurus = Thesaurus::parse(SMALL).expect("valid thesaurus");
        let analyzers = Analyzers::new();
        let stems = |language, text| analyzers.stems(language, text);
        let german = KeyForm::Stemmed(Language::German);
        let french = KeyForm::Stemmed(Language::French);
        let english = KeyForm::Stemmed(Language::English);
        assert_eq!(thesaurus.lookup(german, &stems(Language::German, "Reinräume")), [0]);
        assert_eq!(
            thesaurus.lookup(french, &stems(Language::French, "salles blanches")),
            [0]
        );
        assert_eq!(thesaurus.lookup(english, &stems(Language::English, "cleanrooms")), [0]);
        assert_eq!(
            thesaurus.lookup(KeyForm::Folded, &words("microscopie a force atomique")),
            [1]
        );
        assert!(thesaurus.lookup(KeyForm::Folded, &words("salle")).is_empty());
    }

    #[test]
    fn italian_and_spanish_plurals_match_in_their_light_form() {
        let text = "anechoic | anechoic chamber | | | | camera anecoica | cámara anecoica |\n";
        let thesaurus = Thesaurus::parse(text).expect("valid thesaurus");
        let analyzers = Analyzers::new();
        let light = |language, text| analyzers.light_stems(language, text).expect("a light stemmer");
        // Snowball stems "camere" and "camera" apart; the light stems agree.
        assert_ne!(
            analyzers.stems(Language::Italian, "camere"),
            analyzers.stems(Language::Italian, "camera")
        );
        assert_eq!(
            thesaurus.lookup(
                KeyForm::Light(Language::Italian),
                &light(Language::Italian, "camere anecoiche")
            ),
            [0]
        );
        assert_eq!(
            thesaurus.lookup(
                KeyForm::Light(Language::Spanish),
                &light(Language::Spanish, "cámaras anecoicas")
            ),
            [0]
        );
    }

    #[test]
    fn single_word_terms_are_the_compound_vocabulary() {
        let thesaurus = Thesaurus::parse(SMALL).expect("valid thesaurus");
        let terms = thesaurus.single_word_terms();
        assert_eq!(terms[&Language::German], ["Reinraum", "Rasterkraftmikroskopie"]);
        // Multi-word terms and acronyms are not words to split compounds into.
        assert_eq!(terms[&Language::English], ["cleanroom"]);
        assert_eq!(terms[&Language::Dutch], ["cleanroom"]);
    }

    #[test]
    fn acronyms_match_only_as_acronyms_and_are_not_stemmed() {
        let thesaurus = Thesaurus::parse(SMALL).expect("valid thesaurus");
        assert_eq!(thesaurus.lookup(KeyForm::Acronym, &words("afm")), [1]);
        assert!(thesaurus.lookup(KeyForm::Folded, &words("afm")).is_empty());
        // The English stem of "INS" is "in".
        assert!(
            thesaurus
                .lookup(KeyForm::Stemmed(Language::English), &words("in"))
                .is_empty()
        );
        assert!(
            thesaurus
                .concept(2)
                .terms
                .iter()
                .any(|term| term.acronym && term.text == "INS")
        );
    }

    #[test]
    fn rejects_a_row_with_missing_cells_naming_its_line() {
        let error = Thesaurus::parse("# comment\n\nlaser | laser | Laser | laser\n").expect_err("too few cells");
        assert_eq!(error, ThesaurusError::CellCount { line: 3, found: 4 });
        assert!(error.to_string().contains("line 3"), "{error}");
    }

    #[test]
    fn rejects_a_duplicate_id_naming_both_lines() {
        let text = "laser | laser | Laser | laser | laser | laser | láser | laser\n\
                    laser | lasers | | | | | |\n";
        let error = Thesaurus::parse(text).expect_err("duplicate id");
        assert_eq!(error.line(), 2);
        assert!(
            error.to_string().contains("line 2") && error.to_string().contains("line 1"),
            "{error}"
        );
    }

    #[test]
    fn rejects_an_empty_id_a_concept_without_terms_and_a_term_without_words() {
        let empty_id = Thesaurus::parse(" | laser | | | | | | \n").expect_err("empty id");
        assert_eq!(empty_id, ThesaurusError::EmptyId { line: 1 });
        let no_terms = Thesaurus::parse("\nnothing | | | | | | | \n").expect_err("no terms");
        assert_eq!(no_terms.line(), 2);
        let no_words = Thesaurus::parse("\n\ndash | - | | | | | | \n").expect_err("term without words");
        assert_eq!(no_words.line(), 3);
        assert!(no_words.to_string().contains("line 3"), "{no_words}");
    }

    #[test]
    fn builtin_thesaurus_parses_with_all_languages() {
        // Fails until the shared data file (services/registry/data/thesaurus.txt) is complete.
        let thesaurus = Thesaurus::builtin();
        let complete = thesaurus
            .concepts()
            .iter()
            .filter(|concept| {
                Language::ALL
                    .iter()
                    .all(|language| concept.terms.iter().any(|term| term.language == *language))
            })
            .count();
        assert!(
            complete >= 150,
            "{complete} of {} concepts have terms in all 7 languages; 150 expected",
            thesaurus.concept_count()
        );
    }
}
