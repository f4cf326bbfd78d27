//! Turns a [`Query`] into a tantivy query: the user's words matched against the thesaurus, expanded
//! across languages and fields, plus score-neutral filters.
//!
//! Text: the words are matched to thesaurus terms longest span first (up to the longest term);
//! acronyms only when written in capitals, and a lone stop word never. A matched span becomes one
//! clause whose alternatives are all terms, in all languages, of the concepts it matched; an
//! alternative in language L is searched in L's fields and the folded fields (an acronym in the
//! folded fields only), a multi-word one as a phrase (stop-word gaps kept). An unmatched word
//! becomes a clause searched in every language's fields and the folded fields. Words that are stop
//! words in any supported language are dropped unless nothing else remains.
//!
//! Scoring: inside a clause, the title fields and the body fields each take their best alternative
//! (dis-max), the title one boosted; a clause scores their sum, so a word in both the name and the
//! description counts more than in one, while a concept with many synonyms counts no more than a
//! plain word. Every alternative of a clause is scored with the clause's smallest IDF, that of its
//! most common form (as Lucene's synonym query does): otherwise a rare synonym (a Polish term in a
//! mostly English catalogue) would outscore the common one, ranking documents by the language they
//! are written in, and one concept matched through a rare synonym would outweigh two matched words.
//! Clauses are optional (`Should`), so a document missing a word is still found and one matching
//! more clauses ranks higher. Filters are `Must` clauses with a constant score of 0.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    Occur, PhraseQuery, Query as TantivyQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use crate::analysis::{Analyzers, Language, PositionedToken, is_acronym};
use crate::error::SearchResult;
use crate::model::{FACET_FIELDS, Query};
use crate::schema::{Fields, facet};
use crate::thesaurus::{KeyForm, Thesaurus};

/// How much more a match in the name, infrastructure or techniques counts than one in a description.
const TITLE_BOOST: f32 = 2.0;

/// One optional clause of the text query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// Query words `words` matched these concepts (indexes into the thesaurus).
    Concepts { words: Range<usize>, concepts: Vec<usize> },
    /// A word no term matched.
    Word(String),
}

/// A query word in every form the thesaurus is keyed by.
struct QueryWord {
    /// Lowercased.
    text: String,
    /// Written in capitals.
    acronym: bool,
    stop_word: bool,
    folded: String,
    /// Stemmed and folded, per language in [`Language::ALL`] order.
    stems: Vec<String>,
}

pub struct QueryPlanner {
    analyzers: Analyzers,
    thesaurus: Arc<Thesaurus>,
    fields: Fields,
}

impl QueryPlanner {
    pub fn new(analyzers: Analyzers, thesaurus: Arc<Thesaurus>, fields: Fields) -> QueryPlanner {
        QueryPlanner {
            analyzers,
            thesaurus,
            fields,
        }
    }

    /// The whole query: text clauses (or all documents) and filters. `searcher` provides the
    /// document frequencies the clauses' IDFs are blended with.
    pub fn build(&self, query: &Query, searcher: &Searcher) -> SearchResult<Box<dyn TantivyQuery>> {
        let text = self
            .text_query(&query.text, searcher)?
            .unwrap_or_else(|| Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)));
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = vec![(Occur::Must, text)];
        let facet_filters: [&[String]; 6] = [
            &query.countries,
            &query.access_modes,
            &query.access_types,
            &query.unit_kinds,
            &query.scientific_domains,
            &query.critical_technology_areas,
        ];
        for (field, values) in FACET_FIELDS.into_iter().zip(facet_filters) {
            if !values.is_empty() {
                let terms = values
                    .iter()
                    .map(|value| Term::from_facet(self.fields.facets, &facet(field, value)));
                clauses.push(filter(TermSetQuery::new(terms)));
            }
        }
        if let Some(level) = query.trl {
            let term = Term::from_field_u64(self.fields.trl_levels, u64::from(level));
            clauses.push(filter(TermQuery::new(term, IndexRecordOption::Basic)));
        }
        match &query.restrict_to {
            Some(ids) if ids.is_empty() => clauses.push(filter(EmptyQuery)),
            Some(ids) => {
                let terms = ids.iter().map(|id| Term::from_field_text(self.fields.id, id));
                clauses.push(filter(TermSetQuery::new(terms)));
            }
            None => {}
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// `None` when the text has no words: every document matches.
    fn text_query(&self, text: &str, searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        let mut clauses: Vec<Box<dyn TantivyQuery>> = Vec::new();
        for clause in self.plan(text) {
            clauses.extend(self.clause_query(&clause, searcher)?);
        }
        Ok(match clauses.len() {
            0 => None,
            _ => Some(Box::new(BooleanQuery::union(clauses))),
        })
    }

    /// Splits `text` into clauses: thesaurus spans (longest first) and leftover words.
    pub fn plan(&self, text: &str) -> Vec<Clause> {
        let words: Vec<QueryWord> = self
            .analyzers
            .words(text)
            .into_iter()
            .map(|text| self.query_word(text))
            .collect();
        let mut clauses = Vec::new();
        let mut start = 0;
        while start < words.len() {
            let longest = self.thesaurus.longest_term_words().min(words.len() - start);
            let matched = (1..=longest).rev().find_map(|length| {
                let span = &words[start..start + length];
                let concepts = self.concepts_matching(span);
                (!concepts.is_empty()).then_some((length, concepts))
            });
            match matched {
                Some((length, concepts)) => {
                    clauses.push(Clause::Concepts {
                        words: start..start + length,
                        concepts,
                    });
                    start += length;
                }
                None => {
                    clauses.push(Clause::Word(words[start].text.clone()));
                    start += 1;
                }
            }
        }
        let without_stop_words: Vec<Clause> = clauses
            .iter()
            .filter(|clause| !matches!(clause, Clause::Word(word) if self.analyzers.is_stop_word(word)))
            .cloned()
            .collect();
        if without_stop_words.is_empty() {
            clauses
        } else {
            without_stop_words
        }
    }

    fn query_word(&self, written: String) -> QueryWord {
        let text = written.to_lowercase();
        let first_or_word = |tokens: Vec<String>| tokens.into_iter().next().unwrap_or_else(|| text.clone());
        QueryWord {
            acronym: is_acronym(&[&written]),
            stop_word: self.analyzers.is_stop_word(&text),
            folded: first_or_word(
                self.analyzers
                    .folded(&text)
                    .into_iter()
                    .map(|(_, token)| token)
                    .collect(),
            ),
            stems: Language::ALL
                .iter()
                .map(|language| first_or_word(self.analyzers.stems(*language, &text)))
                .collect(),
            text,
        }
    }

    /// Concepts with a term equal to `words` in one language's stems or in the plain folded form,
    /// or with an acronym equal to them when they are written in capitals. A lone stop word matches
    /// no term but an acronym: "in" is not "INS" stemmed.
    fn concepts_matching(&self, words: &[QueryWord]) -> Vec<usize> {
        let mut concepts: Vec<usize> = Vec::new();
        let folded: Vec<String> = words.iter().map(|word| word.folded.clone()).collect();
        if words
            .iter()
            .all(|word| word.acronym || word.text.chars().all(|c| !c.is_alphabetic()))
            && words.iter().any(|word| word.acronym)
        {
            concepts.extend(self.thesaurus.lookup(KeyForm::Acronym, &folded));
        }
        if !(words.len() == 1 && words[0].stop_word) {
            concepts.extend(self.thesaurus.lookup(KeyForm::Folded, &folded));
            for language in Language::ALL {
                let stems: Vec<String> = words.iter().map(|word| word.stems[language.index()].clone()).collect();
                concepts.extend(self.thesaurus.lookup(KeyForm::Stemmed(language), &stems));
            }
        }
        concepts.sort_unstable();
        concepts.dedup();
        concepts
    }

    fn clause_query(&self, clause: &Clause, searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        let mut alternatives = Alternatives::new(searcher)?;
        match clause {
            Clause::Concepts { concepts, .. } => {
                for concept in concepts {
                    for term in &self.thesaurus.concept(*concept).terms {
                        // An acronym is the same in every language and must not be stemmed.
                        if !term.acronym {
                            self.add_in_language(&mut alternatives, term.language, &term.text)?;
                        }
                        self.add_folded(&mut alternatives, &term.text)?;
                    }
                }
            }
            Clause::Word(word) => {
                for language in Language::ALL {
                    self.add_in_language(&mut alternatives, language, word)?;
                }
                self.add_folded(&mut alternatives, word)?;
            }
        }
        Ok(alternatives.into_query())
    }

    fn add_in_language(&self, alternatives: &mut Alternatives, language: Language, text: &str) -> SearchResult<()> {
        let tokens = self.analyzers.language_field(language, text);
        alternatives.add(Group::Title, self.fields.title[language.index()], &tokens)?;
        alternatives.add(Group::Body, self.fields.body[language.index()], &tokens)
    }

    fn add_folded(&self, alternatives: &mut Alternatives, text: &str) -> SearchResult<()> {
        let tokens = self.analyzers.folded(text);
        alternatives.add(Group::Title, self.fields.folded_title, &tokens)?;
        alternatives.add(Group::Body, self.fields.folded_body, &tokens)
    }
}

fn filter(query: impl TantivyQuery) -> (Occur, Box<dyn TantivyQuery>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(query), 0.0)))
}

#[derive(Clone, Copy)]
enum Group {
    Title,
    Body,
}

/// The alternatives of one clause, by field group, without duplicates (the same folded term comes
/// from several languages, the same stem from several synonyms), each with its BM25 IDF.
struct Alternatives<'a> {
    searcher: &'a Searcher,
    /// As tantivy's BM25 counts it: every document slot, deleted or not.
    document_count: u64,
    alternatives: Vec<(Group, Box<dyn TantivyQuery>, f32)>,
    seen: HashSet<(Field, Vec<PositionedToken>)>,
}

impl<'a> Alternatives<'a> {
    fn new(searcher: &'a Searcher) -> SearchResult<Alternatives<'a>> {
        Ok(Alternatives {
            searcher,
            document_count: searcher.total_num_docs()?,
            alternatives: Vec::new(),
            seen: HashSet::new(),
        })
    }

    fn add(&mut self, group: Group, field: Field, tokens: &[PositionedToken]) -> SearchResult<()> {
        let Some((first_position, _)) = tokens.first() else {
            return Ok(());
        };
        let relative: Vec<PositionedToken> = tokens
            .iter()
            .map(|(position, text)| (position - first_position, text.clone()))
            .collect();
        if !self.seen.insert((field, relative.clone())) {
            return Ok(());
        }
        let mut idf = 0.0;
        let mut terms: Vec<(usize, Term)> = Vec::with_capacity(relative.len());
        for (position, text) in relative {
            let term = Term::from_field_text(field, &text);
            idf += bm25_idf(self.searcher.doc_freq(&term)?, self.document_count);
            terms.push((position, term));
        }
        let query: Box<dyn TantivyQuery> = match terms.len() {
            1 => {
                let (_, term) = terms.remove(0);
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
            }
            _ => Box::new(PhraseQuery::new_with_offset(terms)),
        };
        self.alternatives.push((group, query, idf));
        Ok(())
    }

    fn into_query(self) -> Option<Box<dyn TantivyQuery>> {
        // The IDF of the clause's most common form; phrases' IDFs are their words' sum, as in tantivy.
        let clause_idf = self
            .alternatives
            .iter()
            .map(|(_, _, idf)| *idf)
            .fold(f32::INFINITY, f32::min);
        let mut title: Vec<Box<dyn TantivyQuery>> = Vec::new();
        let mut body: Vec<Box<dyn TantivyQuery>> = Vec::new();
        for (group, query, idf) in self.alternatives {
            let query: Box<dyn TantivyQuery> = if idf > clause_idf {
                Box::new(BoostQuery::new(query, clause_idf / idf))
            } else {
                query
            };
            match group {
                Group::Title => title.push(query),
                Group::Body => body.push(query),
            }
        }
        let mut groups: Vec<Box<dyn TantivyQuery>> = Vec::new();
        if !title.is_empty() {
            let best_title = Box::new(DisjunctionMaxQuery::new(title));
            groups.push(Box::new(BoostQuery::new(best_title, TITLE_BOOST)));
        }
        if !body.is_empty() {
            groups.push(Box::new(DisjunctionMaxQuery::new(body)));
        }
        match groups.len() {
            0 => None,
            1 => groups.pop(),
            _ => Some(Box::new(BooleanQuery::union(groups))),
        }
    }
}

/// tantivy's BM25 IDF (its own function is private).
fn bm25_idf(document_frequency: u64, document_count: u64) -> f32 {
    let others = document_count.saturating_sub(document_frequency) as f32;
    (1.0 + (others + 0.5) / (document_frequency as f32 + 0.5)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::build_schema;

    const THESAURUS: &str = "\
cleanroom | cleanroom; clean room | Reinraum | salle blanche | | camera bianca | sala blanca | pomieszczenie czyste
lithography | lithography | Lithografie | lithographie | lithografie | litografia | litografía | litografia
afm | atomic force microscopy | Rasterkraftmikroskopie | microscopie à force atomique | | | |
stem | scanning transmission electron microscopy; STEM | | | | | |
ins | inelastic neutron scattering; INS | | | | | |
bsl3 | biosafety level 3; BSL-3 | | | | | |
";

    fn planner() -> QueryPlanner {
        let thesaurus = Arc::new(Thesaurus::parse(THESAURUS).expect("valid thesaurus"));
        QueryPlanner::new(Analyzers::new(), thesaurus, build_schema().1)
    }

    fn concept_ids(planner: &QueryPlanner, text: &str) -> Vec<Vec<String>> {
        planner
            .plan(text)
            .into_iter()
            .map(|clause| match clause {
                Clause::Concepts { concepts, .. } => concepts
                    .into_iter()
                    .map(|concept| planner.thesaurus.concept(concept).id.clone())
                    .collect(),
                Clause::Word(word) => vec![format!("word:{word}")],
            })
            .collect()
    }

    #[test]
    fn matches_inflected_terms_of_any_language_to_their_concept() {
        let planner = planner();
        for text in [
            "Reinräume",
            "salles blanches",
            "cleanrooms",
            "clean rooms",
            "Lithografie",
            "litografii",
        ] {
            assert_eq!(concept_ids(&planner, text).len(), 1, "{text}");
        }
        assert_eq!(concept_ids(&planner, "Reinräume"), [["cleanroom"]]);
        assert_eq!(concept_ids(&planner, "salles blanches"), [["cleanroom"]]);
        assert_eq!(concept_ids(&planner, "litografii"), [["lithography"]]);
    }

    #[test]
    fn prefers_the_longest_span_and_keeps_stop_words_inside_terms() {
        assert_eq!(
            concept_ids(&planner(), "microscopie à force atomique salle blanche"),
            [["afm"], ["cleanroom"]]
        );
    }

    #[test]
    fn leftover_words_become_word_clauses_and_stop_words_are_dropped() {
        assert_eq!(
            concept_ids(&planner(), "the cleanroom for wafers"),
            [vec!["cleanroom".to_owned()], vec!["word:wafers".to_owned()]]
        );
        assert_eq!(concept_ids(&planner(), "für die Wafer"), [["word:wafer"]]);
    }

    #[test]
    fn acronyms_match_only_words_written_in_capitals() {
        let planner = planner();
        assert_eq!(concept_ids(&planner, "STEM"), [["stem"]]);
        assert_eq!(concept_ids(&planner, "stem cells"), [["word:stem"], ["word:cells"]]);
        assert_eq!(concept_ids(&planner, "BSL-3 lab"), [["bsl3"], ["word:lab"]]);
        assert_eq!(concept_ids(&planner, "INS"), [["ins"]]);
    }

    #[test]
    fn a_lone_stop_word_matches_no_concept() {
        // The English stem of the (made-up) term "ands" is "and", as is the stop word's.
        let thesaurus = "ands | ands | | | | | |\n";
        let planner = QueryPlanner::new(
            Analyzers::new(),
            Arc::new(Thesaurus::parse(thesaurus).expect("valid thesaurus")),
            build_schema().1,
        );
        assert_eq!(concept_ids(&planner, "and neutrons"), [["word:neutrons"]]);
        assert_eq!(concept_ids(&planner, "ands"), [["ands"]]);
    }

    #[test]
    fn keeps_stop_words_when_nothing_else_remains() {
        assert_eq!(concept_ids(&planner(), "the die"), [["word:the"], ["word:die"]]);
    }

    #[test]
    fn text_without_words_matches_everything() {
        let planner = planner();
        assert!(planner.plan(" -- !").is_empty());
        assert!(planner.plan("").is_empty());
    }
}
