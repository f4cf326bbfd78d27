//! Search by words and by meaning at once. Two rankings are fused by weighted reciprocal rank
//! fusion (Cormack, Clarke and Büttcher, SIGIR 2009): a document scores `1 / (k + rank)` for its
//! place among the words' hits (the full-text query, filters included) plus
//! `MEANING_WEIGHT / (k + rank)` for its place in the whole catalogue ranked by the cosine of its
//! embedding with the query's. Fusing ranks, not scores, needs no calibration between BM25 and
//! cosine; ranking every document by meaning, not only the nearest few, lets the meaning confirm
//! or demote a document found by one incidental word.
//!
//! The hits are every document the words match, and the [`MEANING_DEPTH`] nearest in meaning
//! (cosine at least [`MIN_SIMILARITY`]) that pass the filters: `total` and the facets count
//! exactly that union, and each hit says which of the two found it. The words' ranking is fused
//! to a depth of [`RANK_WINDOW`] or the end of the requested page, if that is deeper (as
//! Elasticsearch's `rank_window_size`); hits beyond it come after, by their fused score.
//!
//! The constants were chosen on the two relevance sets of `tests/relevance/` (the sweep and its
//! figures are in `docs/benchmarks.md`): with them, no query of the first set loses an expected
//! installation from its first five.

use std::collections::{BTreeSet, HashMap};

use tantivy::collector::sort_key::{SortBySimilarityScore, SortByString};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query as TantivyQuery, TermSetQuery};
use tantivy::schema::Facet as TantivyFacet;
use tantivy::{DocAddress, Order, Searcher, Term};

use crate::error::{SearchError, SearchResult};
use crate::index::SearchIndex;
use crate::model::{FACET_FIELDS, Hit, Matched, Query, Results};
use crate::schema::{FACETS_FIELD, ID_FIELD};
use crate::search::facets;

/// The rank constant of both rankings: small, so that the first places weigh most.
const FUSION_K: f32 = 2.0;
/// What the meaning's ranking weighs against the words' (1.0).
const MEANING_WEIGHT: f32 = 0.75;
/// How deep the words' ranking is fused at least.
pub const RANK_WINDOW: usize = 100;
/// How many of the nearest documents are hits by meaning.
pub const MEANING_DEPTH: usize = 10;
/// The least cosine at which a document counts as near in meaning at all.
pub const MIN_SIMILARITY: f32 = 0.15;

impl SearchIndex {
    /// The fused search, or `None` when there is nothing to fuse (no words in the text, or no
    /// stored vectors): the caller then searches by words alone.
    pub(crate) fn search_fused(
        &self,
        query: &Query,
        meaning: &[f32],
        searcher: &Searcher,
    ) -> SearchResult<Option<Results>> {
        let Some(mut words) = self.planner.words(&query.text, searcher)? else {
            return Ok(None);
        };
        let vectors = self.vectors.read().map_err(|_| SearchError::VectorsPoisoned)?;
        if vectors.is_empty() {
            return Ok(None);
        }
        let nearest = vectors.nearest(meaning, MIN_SIMILARITY)?;
        let window = RANK_WINDOW.max(query.offset.saturating_add(query.limit));

        let mut by_words = self.ranked_ids(
            &*self.planner.with_filters(Some(words.box_clone()), query),
            searcher,
            window,
        )?;
        if by_words.is_empty()
            && let Some(relaxed) = self.planner.relaxed_words(&query.text, searcher)?
        {
            words = relaxed;
            by_words = self.ranked_ids(
                &*self.planner.with_filters(Some(words.box_clone()), query),
                searcher,
                window,
            )?;
        }
        let by_meaning = self.nearest_under_filters(query, &nearest, searcher)?;
        let meaning_ids: Vec<String> = by_meaning.iter().map(|(id, _)| id.clone()).collect();
        // Near in meaning and matching the words, though beyond the words' window.
        let also_words: BTreeSet<String> = self
            .ids_matching(
                &*self.planner.with_filters(Some(words.box_clone()), query),
                &meaning_ids,
                searcher,
            )?
            .into_iter()
            .collect();

        let union = BooleanQuery::union(vec![words, self.id_set(&meaning_ids)]);
        let union = self.planner.with_filters(Some(Box::new(union)), query);
        let mut facet_collector = FacetCollector::for_field(FACETS_FIELD);
        for field in FACET_FIELDS {
            facet_collector.add_facet(TantivyFacet::from_path([field]));
        }
        let (total, facet_counts) = searcher.search(&*union, &(Count, facet_collector))?;

        // (score, matched by words, matched by meaning) of each candidate.
        let mut fused: HashMap<String, (f32, bool, bool)> = HashMap::new();
        for (rank, id) in by_words.into_iter().enumerate() {
            fused.insert(id, (reciprocal_rank(rank), true, false));
        }
        for id in meaning_ids {
            let words = also_words.contains(&id);
            fused.entry(id).or_insert((0.0, words, false)).2 = true;
        }
        for (rank, (id, _)) in nearest.iter().enumerate() {
            if let Some(entry) = fused.get_mut(*id) {
                entry.0 += MEANING_WEIGHT * reciprocal_rank(rank);
            }
        }
        drop(vectors);
        let mut ranked: Vec<(String, (f32, bool, bool))> = fused.into_iter().collect();
        ranked.sort_by(|(left_id, left), (right_id, right)| {
            right.0.total_cmp(&left.0).then_with(|| left_id.cmp(right_id))
        });
        let hits = ranked
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(id, (score, words, meaning))| Hit {
                id,
                score,
                matched: Matched::new(words, meaning),
            })
            .collect();
        Ok(Some(Results {
            hits,
            total: total as u64,
            facets: facets(&facet_counts),
        }))
    }

    /// The meaning's hits alone, as the fused search takes them: the documents nearest to
    /// `meaning` that the query's filters keep, at most [`MEANING_DEPTH`], scored by cosine. What
    /// search by meaning finds without the words (measurements compare the two).
    pub fn search_by_meaning(&self, query: &Query, meaning: &[f32]) -> SearchResult<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let vectors = self.vectors.read().map_err(|_| SearchError::VectorsPoisoned)?;
        let nearest = vectors.nearest(meaning, MIN_SIMILARITY)?;
        Ok(self
            .nearest_under_filters(query, &nearest, &searcher)?
            .into_iter()
            .map(|(id, similarity)| Hit {
                id,
                score: similarity,
                matched: Matched::Meaning,
            })
            .collect())
    }

    /// The ids of the best `limit` documents of `query`, by score then id.
    fn ranked_ids(&self, query: &dyn TantivyQuery, searcher: &Searcher, limit: usize) -> SearchResult<Vec<String>> {
        let top = TopDocs::with_limit(limit.max(1)).order_by((
            (SortBySimilarityScore, Order::Desc),
            (SortByString::for_field(ID_FIELD), Order::Asc),
        ));
        searcher
            .search(query, &top)?
            .into_iter()
            .map(|((_, id), _): ((f32, Option<String>), DocAddress)| id.ok_or(SearchError::MissingDocumentId))
            .collect()
    }

    /// Those of `ids` that `query` matches.
    fn ids_matching(&self, query: &dyn TantivyQuery, ids: &[String], searcher: &Searcher) -> SearchResult<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let both = BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Must, self.id_set(ids))]);
        let top = TopDocs::with_limit(ids.len()).order_by_string_fast_field(ID_FIELD, Order::Asc);
        searcher
            .search(&both, &top)?
            .into_iter()
            .map(|(id, _): (Option<String>, DocAddress)| id.ok_or(SearchError::MissingDocumentId))
            .collect()
    }

    /// The first [`MEANING_DEPTH`] of `nearest` that the query's filters keep, in order.
    fn nearest_under_filters(
        &self,
        query: &Query,
        nearest: &[(&str, f32)],
        searcher: &Searcher,
    ) -> SearchResult<Vec<(String, f32)>> {
        let filters = self.planner.with_filters(None, query);
        let mut kept = Vec::with_capacity(MEANING_DEPTH);
        // Candidates are checked a few depths at a time: with no or loose filters, once.
        for chunk in nearest.chunks(MEANING_DEPTH * 4) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| (*id).to_owned()).collect();
            let passing: BTreeSet<String> = self.ids_matching(&*filters, &ids, searcher)?.into_iter().collect();
            kept.extend(
                chunk
                    .iter()
                    .filter(|(id, _)| passing.contains(*id))
                    .map(|(id, similarity)| ((*id).to_owned(), *similarity)),
            );
            if kept.len() >= MEANING_DEPTH {
                kept.truncate(MEANING_DEPTH);
                break;
            }
        }
        Ok(kept)
    }

    fn id_set(&self, ids: &[String]) -> Box<dyn TantivyQuery> {
        let field = self.planner.id_field();
        Box::new(TermSetQuery::new(ids.iter().map(|id| Term::from_field_text(field, id))))
    }
}

fn reciprocal_rank(rank: usize) -> f32 {
    1.0 / (FUSION_K + rank as f32 + 1.0)
}
