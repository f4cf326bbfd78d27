//! The index's error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index failure")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("cannot open the index directory {path}")]
    OpenDirectory {
        path: PathBuf,
        #[source]
        source: tantivy::directory::error::OpenDirectoryError,
    },
    #[error("cannot prepare the index directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("document {id:?} cannot be indexed: {reason}")]
    InvalidDocument { id: String, reason: String },
    #[error("cannot encode the commit cursor")]
    CursorPayload(#[source] serde_json::Error),
    #[error("a vector has {found} dimensions where the index holds vectors of {expected}")]
    VectorDimension { expected: usize, found: usize },
    #[error("a thread panicked while it changed the embeddings")]
    VectorsPoisoned,
    #[error("a hit has no document id in the index")]
    MissingDocumentId,
}

pub type SearchResult<T> = Result<T, SearchError>;
