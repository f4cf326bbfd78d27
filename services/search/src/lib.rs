//! The registry's multilingual catalogue index, on tantivy.
//!
//! An SME typing "cleanroom lithography", "Reinraum" or "salles blanches" finds the installations
//! in any country and language: descriptions are indexed per language with stemming (en, de, fr,
//! nl, it, es, pl) and in a language-neutral folded field; a query's words are expanded across
//! languages through a thesaurus ([`Thesaurus`]). The registry owns one [`SearchIndex`] (read side)
//! and one [`IndexWriter`], feeds it from its outbox, and stores the outbox [`Cursor`] with each
//! commit so that a restart resumes where it stopped.
#![forbid(unsafe_code)]

mod analysis;
mod error;
mod fused;
mod index;
mod model;
mod query;
mod schema;
mod search;
mod terms;
mod thesaurus;
mod vectors;

pub use error::{SearchError, SearchResult};
pub use fused::{MEANING_DEPTH, MIN_SIMILARITY, RANK_WINDOW};
pub use index::{IndexWriter, SearchIndex};
pub use model::{Cursor, Document, FACET_FIELDS, Facet, FacetCount, Hit, Matched, Query, Results};
pub use schema::SCHEMA_VERSION;
pub use terms::content_terms;
pub use thesaurus::{Thesaurus, ThesaurusError};
