//! Turns a [`Query`] into a tantivy query: the user's words matched against the thesaurus, expanded
//! across languages and fields, plus score-neutral filters.
//!
//! Text: the words are matched to thesaurus terms longest span first (up to the longest term), in
//! their stemmed, light-stemmed (Italian and Spanish plurals) and folded forms; acronyms only when
//! written in capitals, and a lone stop word never. A matched span becomes one clause whose
//! alternatives are all terms, in all languages, of the concepts it matched; an alternative in
//! language L is searched in L's fields and the folded fields (an acronym in the folded fields
//! only), a multi-word one as a phrase (stop-word gaps kept) with up to [`PHRASE_SLOP`] words in
//! between or out of order ("small-angle scattering" is in "small-angle X-ray scattering", French
//! "diffusion aux petits angles" in "diffusion de neutrons aux petits angles"). Alternatives absent
//! from the index are left out. An unmatched word becomes a clause searched in every language's
//! fields and the folded fields; if it is a German or Dutch compound of known words
//! ("Einzelzellsequenzierung"), each outermost part matched to a concept adds a clause of that
//! concept. Words that are stop words in any supported language are dropped unless nothing else
//! remains. A query that finds nothing is retried with its multi-word spans' words one by one
//! ([`QueryPlanner::build_relaxed`]).
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

/// How much more a match in the name or the infrastructure counts than one in a description or
/// the techniques.
const TITLE_BOOST: f32 = 2.0;
/// How far the words of a multi-word alternative may move from their places in total (tantivy's
/// slop: each word in between costs one, two swapped words two). Exact and sloppy matches score
/// alike: telling them apart would take a second phrase query per alternative, which costs more
/// query time than it gains.
const PHRASE_SLOP: u32 = 2;

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
    /// Light-stemmed and folded, per language; `None` where the language has no light stemmer.
    light_stems: Vec<Option<String>>,
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
        let text = self.text_query(&self.plan(&query.text), searcher)?;
        Ok(self.with_filters(text, query))
    }

    /// The fallback for a query [`QueryPlanner::build`] finds nothing with: the words of each
    /// multi-word span searched one by one, each as its own concept or word, so that a document
    /// with the words but not the phrase ("scattering at small angles" for "small-angle
    /// scattering") is still found. `None` when the query has no multi-word span, so that the
    /// fallback would find nothing more.
    pub fn build_relaxed(&self, query: &Query, searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        let Some(plan) = self.relaxed_plan(&query.text) else {
            return Ok(None);
        };
        let text = self.text_query(&plan, searcher)?;
        Ok(Some(self.with_filters(text, query)))
    }

    /// The field of document ids.
    pub fn id_field(&self) -> Field {
        self.fields.id
    }

    /// The text part of [`QueryPlanner::build`] alone: `None` when `text` has no words.
    pub fn words(&self, text: &str, searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        self.text_query(&self.plan(text), searcher)
    }

    /// The text part of [`QueryPlanner::build_relaxed`] alone: `None` when there is no fallback.
    pub fn relaxed_words(&self, text: &str, searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        match self.relaxed_plan(text) {
            Some(plan) => self.text_query(&plan, searcher),
            None => Ok(None),
        }
    }

    /// `text` (all documents when `None`) and the query's filters.
    pub fn with_filters(&self, text: Option<Box<dyn TantivyQuery>>, query: &Query) -> Box<dyn TantivyQuery> {
        let text = text.unwrap_or_else(|| Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)));
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
        Box::new(BooleanQuery::new(clauses))
    }

    /// `None` when the plan has no clauses (the text has no words): every document matches. A
    /// plan whose clauses are all absent from the index matches none.
    fn text_query(&self, plan: &[Clause], searcher: &Searcher) -> SearchResult<Option<Box<dyn TantivyQuery>>> {
        if plan.is_empty() {
            return Ok(None);
        }
        let mut clauses: Vec<Box<dyn TantivyQuery>> = Vec::new();
        for clause in plan {
            clauses.extend(self.clause_query(clause, searcher)?);
        }
        Ok(Some(match clauses.len() {
            0 => Box::new(EmptyQuery),
            _ => Box::new(BooleanQuery::union(clauses)),
        }))
    }

    /// Splits `text` into clauses: thesaurus spans (longest first) and leftover words.
    pub fn plan(&self, text: &str) -> Vec<Clause> {
        let words = self.query_words(text);
        self.without_stop_words(self.match_spans(&words, 0..words.len()))
    }

    /// [`QueryPlanner::plan`] with each multi-word span replaced by the plans of its words; `None`
    /// when there is no multi-word span.
    fn relaxed_plan(&self, text: &str) -> Option<Vec<Clause>> {
        let words = self.query_words(text);
        let clauses = self.match_spans(&words, 0..words.len());
        let is_multi_word = |clause: &Clause| matches!(clause, Clause::Concepts { words, .. } if words.len() > 1);
        if !clauses.iter().any(is_multi_word) {
            return None;
        }
        let relaxed = clauses
            .into_iter()
            .flat_map(|clause| match clause {
                Clause::Concepts { words: span, .. } if span.len() > 1 => {
                    span.flat_map(|word| self.match_spans(&words, word..word + 1)).collect()
                }
                clause => vec![clause],
            })
            .collect();
        Some(self.without_stop_words(relaxed))
    }

    fn query_words(&self, text: &str) -> Vec<QueryWord> {
        self.analyzers
            .words(text)
            .into_iter()
            .map(|text| self.query_word(text))
            .collect()
    }

    /// The clauses of `words[range]`: thesaurus spans, longest first, and leftover words with
    /// their compound parts' concepts. Word ranges are indexes into `words`.
    fn match_spans(&self, words: &[QueryWord], range: Range<usize>) -> Vec<Clause> {
        let mut clauses = Vec::new();
        let mut start = range.start;
        while start < range.end {
            let longest = self.thesaurus.longest_term_words().min(range.end - start);
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
                    for concepts in self.compound_concepts(&words[start].text) {
                        clauses.push(Clause::Concepts {
                            words: start..start + 1,
                            concepts,
                        });
                    }
                    start += 1;
                }
            }
        }
        clauses
    }

    /// `clauses` without the words that are stop words in any supported language, unless nothing
    /// else remains.
    fn without_stop_words(&self, clauses: Vec<Clause>) -> Vec<Clause> {
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

    /// The concepts of the outermost known words inside `word`, if it is a compound in a
    /// compounding language: one list per part, without repeats.
    fn compound_concepts(&self, word: &str) -> Vec<Vec<usize>> {
        let mut found: Vec<Vec<usize>> = Vec::new();
        for language in Language::ALL.into_iter().filter(|language| language.compounds()) {
            for part in self.analyzers.compound_parts(language, word) {
                let stems = self.analyzers.stems(language, &part);
                let concepts = self.thesaurus.lookup(KeyForm::Stemmed(language), &stems);
                if !concepts.is_empty() && !found.iter().any(|known| known == concepts) {
                    found.push(concepts.to_vec());
                }
            }
        }
        found
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
            light_stems: Language::ALL
                .iter()
                .map(|language| self.analyzers.light_stems(*language, &text).map(first_or_word))
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
                let light_stems: Option<Vec<String>> = words
                    .iter()
                    .map(|word| word.light_stems[language.index()].clone())
                    .collect();
                if let Some(light_stems) = light_stems {
                    concepts.extend(self.thesaurus.lookup(KeyForm::Light(language), &light_stems));
                }
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
            let document_frequency = self.searcher.doc_freq(&term)?;
            if document_frequency == 0 {
                // Matches nothing: most of a concept's terms are absent from most fields, and a
                // scorer each would cost every query time for nothing.
                return Ok(());
            }
            idf += bm25_idf(document_frequency, self.document_count);
            terms.push((position, term));
        }
        let query: Box<dyn TantivyQuery> = if terms.len() == 1 {
            let (_, term) = terms.remove(0);
            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
        } else {
            let mut phrase = PhraseQuery::new_with_offset(terms);
            phrase.set_slop(PHRASE_SLOP);
            Box::new(phrase)
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
mod tests;
