//! The store plumbing every service shares: sqlx failures translated once into [`StoreError`],
//! which each service's error wraps, and creates that happen at most once per
//! [`IdempotencyKey`] ([`create_once`]), their event written in the same transaction.

use std::future::Future;

use rti_proto::common::event::Payload;
use tonic::Status;

use crate::auth::Principal;
use crate::db::{Database, DbFailure, WriteTx, classify};
use crate::error::{ErrorCode, Violations, internal_status};
use crate::events::Outbox;
use crate::idempotency::{self, Lookup, request_hash};

/// The longest idempotency key a create call accepts.
pub const MAX_KEY_CHARS: usize = 128;

/// A store failure the domain does not decide: the client may retry, or it is the operator's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer holds what this one needs (SQLite busy, a PostgreSQL serialization failure).
    #[error("the store is busy; retry")]
    Contention,
    #[error("the store is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("store failure")]
    Failed(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match classify(&error) {
            DbFailure::Contention => StoreError::Contention,
            DbFailure::Unavailable => StoreError::Unavailable(error),
            _ => StoreError::Failed(error),
        }
    }
}

impl StoreError {
    /// The status a client gets: `ABORTED` to retry, `UNAVAILABLE` while the database is away,
    /// `INTERNAL` (logged, with `what` naming the store) for anything else.
    pub fn status(&self, what: &str) -> Status {
        match self {
            StoreError::Contention => ErrorCode::Aborted.status(self.to_string()),
            StoreError::Unavailable(source) => {
                tracing::warn!(error = %source, "{what} unavailable");
                ErrorCode::Unavailable.status(self.to_string())
            }
            StoreError::Failed(source) => internal_status(what, source),
        }
    }
}

/// An idempotency key of a create call, scoped to the RPC and the caller so that two callers
/// never collide, with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The request field the key came in, for the error when it is reused.
    pub field: &'static str,
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// The key a create call carries in `field` (none when empty), scoped to `method` and the
    /// caller; a key over [`MAX_KEY_CHARS`] is a violation of `field`.
    pub fn of_call(
        field: &'static str,
        method: &str,
        caller: &Principal,
        key: &str,
        encoded_request: &[u8],
        violations: &mut Violations,
    ) -> Option<Self> {
        if key.is_empty() {
            return None;
        }
        if key.chars().count() > MAX_KEY_CHARS {
            violations.add(field, format!("must be at most {MAX_KEY_CHARS} characters"));
            return None;
        }
        Some(IdempotencyKey {
            field,
            scope: format!("{method}:{}", caller.subject),
            key: key.to_owned(),
            request_hash: request_hash(encoded_request),
        })
    }
}

/// A key used before for a different request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field} {key} was already used for a different request")]
pub struct KeyReused {
    pub field: &'static str,
    pub key: String,
}

/// What a create call leaves: the new record, or the id an earlier call with the same key created.
#[derive(Debug)]
pub enum Created<T> {
    New(T),
    Replay(String),
}

impl<T: NewRecord> Created<T> {
    /// The id of the record, new or replayed.
    pub fn id(&self) -> &str {
        match self {
            Created::New(record) => record.id(),
            Created::Replay(id) => id,
        }
    }
}

/// A record [`create_once`] can write: its id, and its rows written in the caller's transaction,
/// returning the event that announces it (if any).
pub trait NewRecord: Send + Sync {
    type Error: From<StoreError> + From<KeyReused> + Send;

    fn id(&self) -> &str;

    /// Inserts the record; `lock` is the backend's row-lock clause ([`Database::lock_clause`]) for
    /// reading a parent that must stay.
    fn insert<'a>(
        &'a mut self,
        transaction: &'a mut WriteTx,
        lock: &'static str,
    ) -> impl Future<Output = Result<Option<Payload>, Self::Error>> + Send + 'a;
}

/// Writes what `build` makes, at most once per idempotency key: with a key already used for the
/// same request, the first call's id comes back to be read instead; with a key used for another
/// request, the call is refused ([`KeyReused`]). Two concurrent first calls race on the key's
/// primary key; the loser rolls back and, on its second pass, replays the winner's result.
pub async fn create_once<R: NewRecord>(
    database: &Database,
    outbox: &Outbox,
    key: Option<&IdempotencyKey>,
    build: impl Fn() -> R + Send,
) -> Result<Created<R>, R::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut transaction = database.begin_write().await.map_err(StoreError::from)?;
        if let Some(key) = key {
            let found = idempotency::lookup(&mut transaction, &key.scope, &key.key, &key.request_hash)
                .await
                .map_err(StoreError::from)?;
            match found {
                Lookup::New => {}
                Lookup::Replay { resource_id } => {
                    transaction.rollback().await.map_err(StoreError::from)?;
                    return Ok(Created::Replay(resource_id));
                }
                Lookup::Mismatch => {
                    return Err(KeyReused {
                        field: key.field,
                        key: key.key.clone(),
                    }
                    .into());
                }
            }
        }
        let mut record = build();
        let event = record.insert(&mut transaction, database.lock_clause()).await?;
        let finished = async {
            if let Some(key) = key {
                idempotency::record(&mut transaction, &key.scope, &key.key, &key.request_hash, record.id()).await?;
            }
            if let Some(event) = event {
                outbox.append(&mut transaction, record.id(), event).await?;
            }
            outbox.commit(transaction).await
        };
        match finished.await {
            Ok(()) => return Ok(Created::New(record)),
            Err(error) if attempt == 1 && key.is_some() && classify(&error) == DbFailure::UniqueViolation => {}
            Err(error) => return Err(StoreError::from(error).into()),
        }
    }
}
