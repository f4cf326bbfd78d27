//! Idempotency keys for create calls: a retry with the same key and the same request returns
//! what the first call created, never a second resource; the same key with a different request
//! is refused. The key is scoped by RPC and caller, so two callers cannot collide.
//!
//! Use inside the write transaction: [`lookup`] first; if new, create the resource and
//! [`record`] the key before committing. Two concurrent first calls both pass `lookup`, and the
//! second one's `record` (or commit) fails on the primary key; the store then rolls back and
//! calls `lookup` again, which now finds the winner.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::WriteTx;
use crate::time::now_micros;

/// The outcome of looking up a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// First use of the key: go ahead and create.
    New,
    /// The key was used before for the same request: return this resource.
    Replay { resource_id: String },
    /// The key was used before for a different request.
    Mismatch,
}

/// A stable fingerprint of an encoded request.
pub fn request_hash(encoded_request: &[u8]) -> String {
    let digest = Sha256::digest(encoded_request);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub async fn lookup(
    transaction: &mut WriteTx,
    scope: &str,
    request_id: &str,
    hash: &str,
) -> Result<Lookup, sqlx::Error> {
    let row =
        sqlx::query("SELECT request_hash, resource_id FROM idempotency_keys WHERE scope = $1 AND request_id = $2")
            .bind(scope)
            .bind(request_id)
            .fetch_optional(&mut **transaction)
            .await?;
    let Some(row) = row else { return Ok(Lookup::New) };
    let stored_hash: String = row.try_get(0)?;
    if stored_hash == hash {
        Ok(Lookup::Replay {
            resource_id: row.try_get(1)?,
        })
    } else {
        Ok(Lookup::Mismatch)
    }
}

pub async fn record(
    transaction: &mut WriteTx,
    scope: &str,
    request_id: &str,
    hash: &str,
    resource_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, request_id, request_hash, resource_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(scope)
    .bind(request_id)
    .bind(hash)
    .bind(resource_id)
    .bind(now_micros())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_distinguish_requests() {
        assert_eq!(request_hash(b"abc"), request_hash(b"abc"));
        assert_ne!(request_hash(b"abc"), request_hash(b"abd"));
        assert_eq!(
            request_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
