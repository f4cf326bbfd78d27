//! The values the registry exchanges with the index: what it indexes, what it asks, what it gets back.

/// One published installation as the index sees it. Enum-like values are the registry's stable
/// stored names (e.g. access mode "market", unit kind "shift_8h", domain "health_food",
/// critical technology area "semiconductors", access type "remote"); countries ISO alpha-2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// UUID v7 text; the key `upsert` replaces by and the tie-breaker of the ranking.
    pub id: String,
    pub name: String,
    /// Infrastructure name and acronym, e.g. "Aurora Synchrotron ASX".
    pub infrastructure: String,
    pub provider: String,
    pub countries: Vec<String>,
    pub access_types: Vec<String>,
    pub access_modes: Vec<String>,
    pub unit_kind: String,
    pub scientific_domains: Vec<String>,
    pub critical_technology_areas: Vec<String>,
    /// Inclusive technology readiness level range within 1..=9.
    pub trl: Option<(u8, u8)>,
    /// English phrases.
    pub techniques: Vec<String>,
    /// (ISO 639-1 language, text). en de fr nl it es pl are stemmed; other languages are indexed
    /// in the language-neutral folded field only.
    pub descriptions: Vec<(String, String)>,
}

/// A search. Each non-empty filter keeps the hits that have any of its values; all set filters
/// must hold. Filters never change scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The user's words, in any language; empty matches every document (filters only), ordered by id.
    pub text: String,
    pub countries: Vec<String>,
    pub access_modes: Vec<String>,
    pub access_types: Vec<String>,
    pub unit_kinds: Vec<String>,
    pub scientific_domains: Vec<String>,
    pub critical_technology_areas: Vec<String>,
    /// Keeps the hits whose TRL range contains this level.
    pub trl: Option<u8>,
    /// Keeps only these document ids (the registry's "free within N days" filter).
    pub restrict_to: Option<Vec<String>>,
    /// The embedding of `text` (a unit vector of the stored vectors' dimension). When set, the
    /// documents nearest in meaning are found beside the ones matching the words, and the two
    /// rankings are fused; when `None`, or when `text` has no words, the search is by words only.
    pub meaning: Option<Vec<f32>>,
    pub offset: usize,
    /// Page size; 0 returns only `total` and the facets.
    pub limit: usize,
}

impl Default for Query {
    /// Matches everything; first page of 20.
    fn default() -> Self {
        Query {
            text: String::new(),
            countries: Vec::new(),
            access_modes: Vec::new(),
            access_types: Vec::new(),
            unit_kinds: Vec::new(),
            scientific_domains: Vec::new(),
            critical_technology_areas: Vec::new(),
            trl: None,
            restrict_to: None,
            meaning: None,
            offset: 0,
            limit: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub matched: Matched,
}

/// Why a document is a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// The query's words (stemmed, expanded through the thesaurus) are in it.
    Words,
    /// Its embedding is among the nearest to the query's, though none of the words matched.
    Meaning,
    /// Both.
    WordsAndMeaning,
}

impl Matched {
    pub fn new(words: bool, meaning: bool) -> Matched {
        match (words, meaning) {
            (true, true) => Matched::WordsAndMeaning,
            (false, true) => Matched::Meaning,
            _ => Matched::Words,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Counts for one filterable field, most frequent first, ties by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    pub field: &'static str,
    pub counts: Vec<FacetCount>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Results {
    /// The requested page, best first; equal scores in id order.
    pub hits: Vec<Hit>,
    /// Every hit of the query and filters, not only this page.
    pub total: u64,
    /// One per entry of [`FACET_FIELDS`], in that order, counted over all hits.
    pub facets: Vec<Facet>,
}

/// The facet fields of [`Results::facets`], in order.
pub const FACET_FIELDS: [&str; 6] = [
    "countries",
    "access_modes",
    "access_types",
    "unit_kinds",
    "scientific_domains",
    "critical_technology_areas",
];

/// Where the index stands in the registry's outbox: the last applied event's sequence and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sequence: i64,
    pub event_id: String,
}
