//! Opening the index (on disk or in RAM), its single writer, and the commit cursor.
//!
//! Each commit stores a payload with [`SCHEMA_VERSION`], the fingerprint of the decompounding
//! dictionaries (taken from the thesaurus, so a thesaurus edit can change how words are indexed) and
//! the registry's outbox cursor. An index whose payload is missing, unreadable, of another version
//! or of other dictionaries, or whose schema differs, is wiped at `open` and reported as new (`None`
//! cursor): the registry then rebuilds it from its store.

use std::fs;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::query::AllQuery;
use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::analysis::Analyzers;
use crate::error::{SearchError, SearchResult};
use crate::model::{Cursor, Document};
use crate::query::QueryPlanner;
use crate::schema::{Fields, SCHEMA_VERSION, build_schema, to_tantivy};
use crate::thesaurus::Thesaurus;
use crate::vectors::Vectors;

/// tantivy's minimum per indexing thread; ample for a catalogue of some ten thousand entries.
const WRITER_MEMORY_BUDGET_BYTES: usize = 15_000_000;
/// One indexing thread: the service machines have two cores, and the registry's writes are small.
const WRITER_THREADS: usize = 1;

/// The read side. Cheap to clone; sees what the last [`IndexWriter::commit`] made visible, and
/// the embeddings as they are set (they live in memory only: the registry stores them).
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) reader: IndexReader,
    pub(crate) planner: Arc<QueryPlanner>,
    pub(crate) vectors: Arc<RwLock<Vectors>>,
}

/// The single write side. Changes are invisible to [`SearchIndex::search`] until `commit`.
pub struct IndexWriter {
    writer: tantivy::IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: Fields,
    compounds_fingerprint: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    schema_version: u32,
    /// [`Analyzers::compounds_fingerprint`]; absent in payloads of older versions.
    #[serde(default)]
    compounds_fingerprint: u64,
    sequence: i64,
    event_id: String,
}

impl SearchIndex {
    /// Opens the index in `dir` (created if missing), or in RAM when `None`. Returns the cursor
    /// stored by the last commit; `None` when the index is new, or was built by another schema
    /// version (then it is wiped and the caller rebuilds it from the store).
    ///
    /// `dir` belongs to the index: a wipe removes tantivy's files there (and only those).
    pub fn open(dir: Option<&Path>) -> SearchResult<(SearchIndex, IndexWriter, Option<Cursor>)> {
        SearchIndex::open_with_thesaurus(dir, Thesaurus::builtin_shared())
    }

    /// [`SearchIndex::open`] with another thesaurus than the built-in one (tests, experiments).
    pub fn open_with_thesaurus(
        dir: Option<&Path>,
        thesaurus: Arc<Thesaurus>,
    ) -> SearchResult<(SearchIndex, IndexWriter, Option<Cursor>)> {
        let (schema, fields) = build_schema();
        let analyzers = Analyzers::with_compounds(&thesaurus.single_word_terms());
        let compounds_fingerprint = analyzers.compounds_fingerprint();
        let (index, cursor) = match dir {
            Some(dir) => open_in_dir(dir, &schema, compounds_fingerprint)?,
            None => (Index::create_in_ram(schema), None),
        };
        analyzers.register(index.tokenizers());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BUDGET_BYTES)?;
        let search_index = SearchIndex {
            reader: reader.clone(),
            planner: Arc::new(QueryPlanner::new(analyzers, thesaurus, fields)),
            vectors: Arc::default(),
        };
        let index_writer = IndexWriter {
            writer,
            reader,
            fields,
            compounds_fingerprint,
        };
        Ok((search_index, index_writer, cursor))
    }

    /// Documents visible to `search`.
    pub fn document_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Sets the embedding of document `id` (a unit vector; every one of the same dimension),
    /// used by searches with [`Query::meaning`](crate::Query::meaning) from now on. A vector of
    /// an id the index does not hold is kept but never found.
    pub fn set_vector(&self, id: &str, vector: &[f32]) -> SearchResult<()> {
        self.vectors
            .write()
            .map_err(|_| SearchError::VectorsPoisoned)?
            .set(id, vector)
    }

    pub fn remove_vector(&self, id: &str) -> SearchResult<()> {
        self.vectors
            .write()
            .map_err(|_| SearchError::VectorsPoisoned)?
            .remove(id);
        Ok(())
    }

    /// Removes every embedding.
    pub fn clear_vectors(&self) -> SearchResult<()> {
        self.vectors.write().map_err(|_| SearchError::VectorsPoisoned)?.clear();
        Ok(())
    }

    /// Embeddings held.
    pub fn vector_count(&self) -> usize {
        self.vectors.read().map_or(0, |vectors| vectors.len())
    }
}

impl IndexWriter {
    /// Adds `document`, replacing any document with its id.
    pub fn upsert(&mut self, document: &Document) -> SearchResult<()> {
        let indexed = to_tantivy(&self.fields, document)?;
        // Deletes apply to what was added before them, so the new version survives this one.
        self.writer.delete_term(self.id_term(&document.id));
        self.writer.add_document(indexed)?;
        Ok(())
    }

    pub fn remove(&mut self, id: &str) -> SearchResult<()> {
        self.writer.delete_term(self.id_term(id));
        Ok(())
    }

    /// Removes every document, committed or not; later upserts are kept.
    pub fn clear(&mut self) -> SearchResult<()> {
        // Not `delete_all_documents`, which drops pending segments out of order with the other
        // operations: a delete-all query is ordered like every other change.
        self.writer.delete_query(Box::new(AllQuery))?;
        Ok(())
    }

    /// Makes every change since the last commit durable and visible to `search`, with the cursor.
    pub fn commit(&mut self, cursor: &Cursor) -> SearchResult<()> {
        let payload = serde_json::to_string(&CommitPayload {
            schema_version: SCHEMA_VERSION,
            compounds_fingerprint: self.compounds_fingerprint,
            sequence: cursor.sequence,
            event_id: cursor.event_id.clone(),
        })
        .map_err(SearchError::CursorPayload)?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.fields.id, id)
    }
}

/// Opens the index in `dir` if it is current, otherwise wipes it and creates a new one.
fn open_in_dir(dir: &Path, schema: &Schema, compounds_fingerprint: u64) -> SearchResult<(Index, Option<Cursor>)> {
    let io_error = |source| SearchError::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let directory = MmapDirectory::open(dir).map_err(|source| SearchError::OpenDirectory {
        path: dir.to_path_buf(),
        source,
    })?;
    if Index::exists(&directory).map_err(TantivyError::from)? {
        match Index::open(directory) {
            Ok(index) => {
                if let Some(cursor) = current_cursor(&index, schema, compounds_fingerprint)? {
                    return Ok((index, Some(cursor)));
                }
            }
            // Written by a tantivy this one cannot read: as stale as another schema version.
            Err(TantivyError::IncompatibleIndex(_)) => {}
            Err(error) => return Err(error.into()),
        }
        wipe(dir).map_err(io_error)?;
    }
    Ok((Index::create_in_dir(dir, schema.clone())?, None))
}

/// The cursor of the last commit, if it was made by this schema version with this schema and
/// these decompounding dictionaries.
fn current_cursor(index: &Index, schema: &Schema, compounds_fingerprint: u64) -> SearchResult<Option<Cursor>> {
    if index.schema() != *schema {
        return Ok(None);
    }
    let Some(payload) = index.load_metas()?.payload else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<CommitPayload>(&payload)
        .ok()
        .filter(|payload| {
            payload.schema_version == SCHEMA_VERSION && payload.compounds_fingerprint == compounds_fingerprint
        })
        .map(|payload| Cursor {
            sequence: payload.sequence,
            event_id: payload.event_id,
        }))
}

/// Removes tantivy's files from `dir`: `meta.json`, `.managed.json` and the segment files (named
/// by a 32-hex-digit segment id). Anything else someone put there is left alone.
fn wipe(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_segment_file =
            name.len() > 33 && name.as_bytes()[32] == b'.' && name.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit);
        if (name == "meta.json" || name == ".managed.json" || is_segment_file) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tantivy::schema::TEXT;

    use super::*;

    const LASER: &str = "laser | laser | Laser | laser | laser | laser | láser | laser";

    fn open_dir(dir: &Path) -> (SearchIndex, IndexWriter, Option<Cursor>) {
        open_dir_with(dir, LASER)
    }

    fn open_dir_with(dir: &Path, thesaurus: &str) -> (SearchIndex, IndexWriter, Option<Cursor>) {
        let thesaurus = Thesaurus::parse(thesaurus).expect("valid thesaurus");
        SearchIndex::open_with_thesaurus(Some(dir), Arc::new(thesaurus)).expect("index opens")
    }

    fn laser_document() -> Document {
        Document {
            id: "0190f000-0000-7000-8000-000000000001".to_owned(),
            name: "Laser Lab".to_owned(),
            ..Document::default()
        }
    }

    fn cursor() -> Cursor {
        Cursor {
            sequence: 41,
            event_id: "0190f000-0000-7000-8000-000000000041".to_owned(),
        }
    }

    /// Commits pending changes with a payload `commit` would not write.
    fn commit_with_payload(writer: &mut IndexWriter, payload: &str) {
        let mut prepared = writer.writer.prepare_commit().expect("commit prepared");
        prepared.set_payload(payload);
        prepared.commit().expect("committed");
    }

    #[test]
    fn an_index_of_another_schema_version_is_wiped_and_reported_new() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let foreign_file = dir.path().join("notes.txt");
        fs::write(&foreign_file, "not the index's").expect("file written");
        {
            let (_, mut writer, _) = open_dir(dir.path());
            writer.upsert(&laser_document()).expect("indexed");
            let older = format!(
                r#"{{"schema_version":{},"sequence":41,"event_id":"e"}}"#,
                SCHEMA_VERSION - 1
            );
            commit_with_payload(&mut writer, &older);
        }
        let (index, mut writer, cursor_at_open) = open_dir(dir.path());
        assert_eq!(cursor_at_open, None);
        assert_eq!(index.document_count(), 0);
        assert!(foreign_file.exists(), "the wipe removes tantivy's files only");

        // The rebuilt index then works as a new one.
        writer.upsert(&laser_document()).expect("indexed");
        writer.commit(&cursor()).expect("committed");
        drop((index, writer));
        let (index, _writer, cursor_at_open) = open_dir(dir.path());
        assert_eq!(cursor_at_open, Some(cursor()));
        assert_eq!(index.document_count(), 1);
    }

    #[test]
    fn an_index_split_with_other_compound_words_is_wiped() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let (_, mut writer, _) = open_dir(dir.path());
            writer.upsert(&laser_document()).expect("indexed");
            writer.commit(&cursor()).expect("committed");
        }
        // Same thesaurus: kept.
        let (index, writer, cursor_at_open) = open_dir(dir.path());
        assert_eq!(cursor_at_open, Some(cursor()));
        assert_eq!(index.document_count(), 1);
        drop((index, writer));
        // A German single-word term more: German text would be split differently.
        let more_words = format!("{LASER}\nwafer | wafer | Wafer | plaquette | | | |");
        let (index, _writer, cursor_at_open) = open_dir_with(dir.path(), &more_words);
        assert_eq!(cursor_at_open, None);
        assert_eq!(index.document_count(), 0);
    }

    #[test]
    fn an_index_without_a_readable_payload_is_wiped() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let (_, mut writer, _) = open_dir(dir.path());
            writer.upsert(&laser_document()).expect("indexed");
            commit_with_payload(&mut writer, "sequence 41");
        }
        let (index, _writer, cursor_at_open) = open_dir(dir.path());
        assert_eq!(cursor_at_open, None);
        assert_eq!(index.document_count(), 0);
    }

    #[test]
    fn an_index_with_another_schema_is_wiped_even_with_a_current_payload() {
        let dir = tempfile::tempdir().expect("temporary directory");
        {
            let mut builder = Schema::builder();
            let title = builder.add_text_field("title", TEXT);
            let index = Index::create_in_dir(dir.path(), builder.build()).expect("index created");
            let mut writer: tantivy::IndexWriter = index
                .writer_with_num_threads(1, WRITER_MEMORY_BUDGET_BYTES)
                .expect("writer");
            writer.add_document(tantivy::doc!(title => "laser")).expect("added");
            let mut prepared = writer.prepare_commit().expect("commit prepared");
            let current = format!(r#"{{"schema_version":{SCHEMA_VERSION},"sequence":41,"event_id":"e"}}"#);
            prepared.set_payload(&current);
            prepared.commit().expect("committed");
        }
        let (index, _writer, cursor_at_open) = open_dir(dir.path());
        assert_eq!(cursor_at_open, None);
        assert_eq!(index.document_count(), 0);
    }
}
