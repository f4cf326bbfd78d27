//! The terms through which the index could match a text: what "shares no word with" means for a
//! relevance set whose queries the lexical search must not be able to pass on its own.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::analysis::{Analyzers, Language, light_stem};
use crate::thesaurus::Thesaurus;

/// Every normalised form under which a content word of `text` could meet a document's word in
/// the index: its stem in each of the seven languages' fields (German and Dutch compounds with
/// their known parts, as the index splits them), its light stems (Italian and Spanish plurals),
/// and its folded form. Stop words of any supported language are left out: the query planner
/// drops them too. Two texts whose terms are disjoint share no word the search could match on,
/// whatever language either is in (thesaurus expansion aside).
pub fn content_terms(text: &str) -> BTreeSet<String> {
    static ANALYZERS: OnceLock<Analyzers> = OnceLock::new();
    let analyzers = ANALYZERS.get_or_init(|| Analyzers::with_compounds(&Thesaurus::builtin().single_word_terms()));
    let mut terms = BTreeSet::new();
    for word in analyzers.words(text) {
        if analyzers.is_stop_word(&word) {
            continue;
        }
        for language in Language::ALL {
            terms.extend(
                analyzers
                    .language_index(language, &word)
                    .into_iter()
                    .map(|(_, term)| term),
            );
        }
        for (_, folded) in analyzers.folded(&word) {
            terms.extend(
                Language::ALL
                    .into_iter()
                    .filter_map(|language| light_stem(language, &folded)),
            );
            terms.insert(folded);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(left: &str, right: &str) -> Vec<String> {
        content_terms(left)
            .intersection(&content_terms(right))
            .cloned()
            .collect()
    }

    #[test]
    fn inflections_and_accents_of_one_word_share_a_term() {
        assert!(!shared("Lithographies", "lithography").is_empty());
        assert!(!shared("cleanrooms", "the cleanroom").is_empty());
        assert!(!shared("Röntgen", "rontgen").is_empty());
        assert!(!shared("mikroskopów", "mikroskop").is_empty());
    }

    #[test]
    fn a_german_compound_shares_the_terms_of_its_known_parts() {
        assert!(!shared("Reinraumlithografie", "Reinraum").is_empty());
    }

    #[test]
    fn stop_words_and_other_words_share_nothing() {
        assert_eq!(
            shared(
                "make tiny patterns on silicon chips",
                "the cleanroom of a lithography bay"
            ),
            Vec::<String>::new()
        );
        assert!(content_terms("the of für les het della los się").is_empty());
    }
}
