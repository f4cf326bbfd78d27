//! Shared fixtures: a small inline thesaurus, documents, and an index in RAM.

use std::path::Path;
use std::sync::Arc;

use rti_search::{Cursor, Document, IndexWriter, Query, Results, SearchIndex, Thesaurus};

/// A few concepts, so the tests do not depend on the shared data file's content.
pub const THESAURUS: &str = "\
# id | en | de | fr | nl | it | es | pl
cleanroom | cleanroom; clean room | Reinraum | salle blanche | cleanroom; stofvrije ruimte | camera bianca | sala blanca | pomieszczenie czyste
lithography | lithography | Lithografie | lithographie | lithografie | litografia | litografía | litografia
electron-microscopy | electron microscopy; electron microscope | Elektronenmikroskopie; Elektronenmikroskop | microscopie électronique | elektronenmicroscopie | microscopia elettronica | microscopía electrónica | mikroskopia elektronowa
small-angle-scattering | small-angle scattering | Kleinwinkelstreuung | diffusion aux petits angles | kleine-hoekverstrooiing | diffusione a basso angolo | dispersión a bajo ángulo | rozpraszanie niskokątowe
sequencing | sequencing | Sequenzierung | séquençage | sequencing | sequenziamento | secuenciación | sekwencjonowanie
single-cell | single-cell | Einzelzelle | cellule unique | single-cell | singola cellula | célula única | pojedyncza komórka
survey | survey | Umfrage | enquête | enquête | indagine | encuesta | ankieta
anechoic-chamber | anechoic chamber | reflexionsarmer Raum | chambre anéchoïque | echovrije kamer | camera anecoica | cámara anecoica | komora bezechowa
";

pub fn thesaurus() -> Arc<Thesaurus> {
    Arc::new(Thesaurus::parse(THESAURUS).expect("the test thesaurus parses"))
}

pub fn open(dir: Option<&Path>) -> (SearchIndex, IndexWriter, Option<Cursor>) {
    SearchIndex::open_with_thesaurus(dir, thesaurus()).expect("index opens")
}

/// An index in RAM holding `documents`, committed.
pub fn index_with(documents: &[Document]) -> SearchIndex {
    let (index, mut writer, _) = open(None);
    for document in documents {
        writer.upsert(document).expect("document indexed");
    }
    writer.commit(&cursor(1)).expect("commit");
    index
}

pub fn cursor(sequence: i64) -> Cursor {
    Cursor {
        sequence,
        event_id: format!("0190f000-0000-7000-8000-{sequence:012}"),
    }
}

/// A UUID v7-shaped id; ids sort by `n`.
pub fn id(n: u32) -> String {
    format!("0190f000-0000-7000-8000-{n:012}")
}

/// A document with a name and an English description, and nothing else.
pub fn document(n: u32, name: &str, english_description: &str) -> Document {
    Document {
        id: id(n),
        name: name.to_owned(),
        descriptions: vec![("en".to_owned(), english_description.to_owned())],
        ..Document::default()
    }
}

/// A document described only in `language`.
pub fn described(n: u32, name: &str, language: &str, description: &str) -> Document {
    Document {
        id: id(n),
        name: name.to_owned(),
        descriptions: vec![(language.to_owned(), description.to_owned())],
        ..Document::default()
    }
}

pub fn text(text: &str) -> Query {
    Query {
        text: text.to_owned(),
        ..Query::default()
    }
}

pub fn hit_ids(results: &Results) -> Vec<String> {
    results.hits.iter().map(|hit| hit.id.clone()).collect()
}

/// The ids `text` finds, best first.
pub fn search(index: &SearchIndex, query_text: &str) -> Vec<String> {
    hit_ids(&index.search(&text(query_text)).expect("search runs"))
}
