//! The index schema, its version, and how a [`Document`] becomes a tantivy document.
//!
//! Text goes to two groups of fields, so that names can be boosted over descriptions (tantivy
//! boosts per field, not per value):
//!
//! * title: `title_<lang>` for each of the seven languages, and `folded_title`;
//! * body: `body_<lang>`, and `folded_body`.
//!
//! The title holds what names the installation: its name and its infrastructure's. The body holds
//! what describes it: the descriptions, the techniques and the provider. The techniques are
//! descriptive, not names: an installation whose list mentions "CD-SEM" is not an electron
//! microscope the way one named "Scanning electron microscopy" is, and boosted as a name a long
//! technique list would outrank it.
//!
//! A description in language L goes to `body_L` and `folded_body`; one in another language to
//! `folded_body` only; the provider to `folded_body` only (an organisation's name: matched as written).
//!
//! The name, the infrastructure and the techniques have no language of their own, so they go to
//! every `title_<lang>` (the techniques: `body_<lang>`) field and to `folded_title` (`folded_body`).
//! Names are written in any language ("Centre de
//! nanosciences", "Reinraumzentrum"), and a query word or thesaurus term in language L is analysed
//! with L's stemmer, so the name must be there, stemmed the same way, for "nanoscience" or
//! "Reinräume" to meet it; indexing names in English and folded only would miss every inflected
//! non-English name. Titles are short, so seven copies cost little, and a query takes the best field
//! per clause (dis-max), so the copies do not add up in the score.

use std::collections::BTreeSet;

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analysis::{FOLDED_TOKENIZER, Language};
use crate::error::{SearchError, SearchResult};
use crate::model::{Document, FACET_FIELDS};

/// Stored in every commit's payload. Bump it whenever the schema or an analyzer changes (field,
/// tokenizer, filter, stop-word list, stemmer): an index with another version is wiped at `open`
/// and the registry rebuilds it from its store.
pub const SCHEMA_VERSION: u32 = 2;

/// The id field's name; also the fast field that breaks ranking ties.
pub const ID_FIELD: &str = "id";
/// The facet field: `/countries/DE`, `/unit_kinds/shift_8h`, …
pub const FACETS_FIELD: &str = "facets";

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    /// Per language, in [`Language::ALL`] order.
    pub title: [Field; 7],
    pub body: [Field; 7],
    pub folded_title: Field,
    pub folded_body: Field,
    pub facets: Field,
    /// Every level of the document's TRL range, so "contains level t" is one term.
    pub trl_levels: Field,
}

pub fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_text_field(ID_FIELD, STRING | FAST);
    let title = Language::ALL
        .map(|language| builder.add_text_field(&format!("title_{}", language.code()), text(language.tokenizer_name())));
    let body = Language::ALL
        .map(|language| builder.add_text_field(&format!("body_{}", language.code()), text(language.tokenizer_name())));
    let folded_title = builder.add_text_field("folded_title", text(FOLDED_TOKENIZER));
    let folded_body = builder.add_text_field("folded_body", text(FOLDED_TOKENIZER));
    let facets = builder.add_facet_field(FACETS_FIELD, FacetOptions::default());
    let trl_levels = builder.add_u64_field("trl_levels", INDEXED);
    let fields = Fields {
        id,
        title,
        body,
        folded_title,
        folded_body,
        facets,
        trl_levels,
    };
    (builder.build(), fields)
}

/// Positions are indexed: multi-word thesaurus terms are searched as phrases.
fn text(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// The facet of `value` under `field` (one of [`FACET_FIELDS`]).
pub fn facet(field: &str, value: &str) -> Facet {
    Facet::from_path([field, value])
}

pub fn to_tantivy(fields: &Fields, document: &Document) -> SearchResult<TantivyDocument> {
    let invalid = |reason: String| SearchError::InvalidDocument {
        id: document.id.clone(),
        reason,
    };
    if document.id.trim().is_empty() {
        return Err(invalid("the id is empty".to_owned()));
    }
    let mut indexed = TantivyDocument::default();
    indexed.add_text(fields.id, &document.id);

    let titles = [&document.name, &document.infrastructure]
        .into_iter()
        .filter(|text| !text.trim().is_empty());
    for technique in document.techniques.iter().filter(|text| !text.trim().is_empty()) {
        for field in fields.body {
            indexed.add_text(field, technique);
        }
        indexed.add_text(fields.folded_body, technique);
    }
    for title in titles {
        for field in fields.title {
            indexed.add_text(field, title);
        }
        indexed.add_text(fields.folded_title, title);
    }
    if !document.provider.trim().is_empty() {
        indexed.add_text(fields.folded_body, &document.provider);
    }
    for (language, description) in &document.descriptions {
        if let Some(language) = Language::from_code(language) {
            indexed.add_text(fields.body[language.index()], description);
        }
        indexed.add_text(fields.folded_body, description);
    }

    let facet_values: [&[String]; 6] = [
        &document.countries,
        &document.access_modes,
        &document.access_types,
        std::slice::from_ref(&document.unit_kind),
        &document.scientific_domains,
        &document.critical_technology_areas,
    ];
    for (field, values) in FACET_FIELDS.into_iter().zip(facet_values) {
        let distinct: BTreeSet<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|value| !value.is_empty())
            .collect();
        for value in distinct {
            // The facet encoding separates path steps with NUL.
            if value.contains('\0') {
                return Err(invalid(format!("{field} value {value:?} contains NUL")));
            }
            indexed.add_facet(fields.facets, facet(field, value));
        }
    }

    if let Some((lowest, highest)) = document.trl {
        if !(1..=9).contains(&lowest) || !(1..=9).contains(&highest) || lowest > highest {
            return Err(invalid(format!("TRL range {lowest}..={highest} is not within 1..=9")));
        }
        for level in lowest..=highest {
            indexed.add_u64(fields.trl_levels, u64::from(level));
        }
    }
    Ok(indexed)
}
