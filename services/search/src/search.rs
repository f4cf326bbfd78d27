//! Running a query: one pass collects the page, the total and the facet counts over all hits. A
//! query that finds nothing runs once more relaxed ([`QueryPlanner::build_relaxed`]: the words of
//! its thesaurus phrases one by one), so that a query some of whose words match never comes back
//! empty; that costs a second pass only when the first found nothing.
//!
//! Ranking is by score, then by id ascending (the `id` fast field), so equal scores come in a
//! stable order and offset pages of an unchanged index neither repeat nor skip a document.

use tantivy::collector::sort_key::{SortBySimilarityScore, SortByString};
use tantivy::collector::{Count, FacetCollector, FacetCounts, TopDocs};
use tantivy::schema::Facet as TantivyFacet;
use tantivy::{Order, Searcher};

use crate::error::{SearchError, SearchResult};
use crate::index::SearchIndex;
use crate::model::{FACET_FIELDS, Facet, FacetCount, Hit, Matched, Query, Results};
#[cfg(doc)]
use crate::query::QueryPlanner;
use crate::schema::{FACETS_FIELD, ID_FIELD};

impl SearchIndex {
    pub fn search(&self, query: &Query) -> SearchResult<Results> {
        let searcher = self.reader.searcher();
        if let Some(meaning) = &query.meaning
            && let Some(results) = self.search_fused(query, meaning, &searcher)?
        {
            return Ok(results);
        }
        let results = self.run(query, &*self.planner.build(query, &searcher)?, &searcher)?;
        if results.total > 0 {
            return Ok(results);
        }
        match self.planner.build_relaxed(query, &searcher)? {
            Some(relaxed) => self.run(query, &*relaxed, &searcher),
            None => Ok(results),
        }
    }

    pub(crate) fn run(
        &self,
        query: &Query,
        tantivy_query: &dyn tantivy::query::Query,
        searcher: &Searcher,
    ) -> SearchResult<Results> {
        let mut facet_collector = FacetCollector::for_field(FACETS_FIELD);
        for field in FACET_FIELDS {
            facet_collector.add_facet(TantivyFacet::from_path([field]));
        }
        // Never ask the collector for more than exists: it allocates for the whole page up front.
        let document_count = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let page_size = query.limit.min(document_count.saturating_sub(query.offset));
        if page_size == 0 {
            let (total, facet_counts) = searcher.search(tantivy_query, &(Count, facet_collector))?;
            return Ok(Results {
                hits: Vec::new(),
                total: total as u64,
                facets: facets(&facet_counts),
            });
        }
        let page = TopDocs::with_limit(page_size).and_offset(query.offset).order_by((
            (SortBySimilarityScore, Order::Desc),
            (SortByString::for_field(ID_FIELD), Order::Asc),
        ));
        let (top, total, facet_counts) = searcher.search(tantivy_query, &(page, Count, facet_collector))?;
        let hits = top
            .into_iter()
            .map(|((score, id), _)| {
                Ok(Hit {
                    id: id.ok_or(SearchError::MissingDocumentId)?,
                    score,
                    matched: Matched::Words,
                })
            })
            .collect::<SearchResult<Vec<Hit>>>()?;
        Ok(Results {
            hits,
            total: total as u64,
            facets: facets(&facet_counts),
        })
    }
}

pub(crate) fn facets(facet_counts: &FacetCounts) -> Vec<Facet> {
    FACET_FIELDS
        .into_iter()
        .map(|field| {
            let mut counts: Vec<FacetCount> = facet_counts
                .get(TantivyFacet::from_path([field]))
                .filter_map(|(facet, count)| {
                    let value = facet.to_path().last()?.to_string();
                    Some(FacetCount { value, count })
                })
                .collect();
            counts.sort_by(|left, right| right.count.cmp(&left.count).then_with(|| left.value.cmp(&right.value)));
            Facet { field, counts }
        })
        .collect()
}
