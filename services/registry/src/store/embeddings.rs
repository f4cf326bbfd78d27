//! The installations' embeddings for search by meaning: what the indexer computed, kept so that a
//! restart does not embed the catalogue again. Vectors are float32, little-endian, in a BLOB
//! (SQLite) or BYTEA (PostgreSQL) column; both read back as `Vec<u8>` through sqlx's Any driver.

use super::RegistryStore;
use super::search::placeholders;
use crate::domain::{RegistryError, RegistryResult};

/// The largest number of rows written or ids bound by one statement.
const MAX_ROWS_PER_QUERY: usize = 200;

/// One installation's stored embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEmbedding {
    pub installation_id: String,
    /// Identifies the text that was embedded.
    pub text_digest: String,
    pub vector: Vec<f32>,
}

#[derive(sqlx::FromRow)]
struct EmbeddingRow {
    installation_id: String,
    text_digest: String,
    vector: Vec<u8>,
}

impl RegistryStore {
    /// The embeddings made by `model_version`, after `after_id` in id order, at most `limit`.
    pub async fn embeddings(
        &self,
        model_version: &str,
        after_id: &str,
        limit: i64,
    ) -> RegistryResult<Vec<StoredEmbedding>> {
        let rows: Vec<EmbeddingRow> = sqlx::query_as(
            "SELECT installation_id, text_digest, vector FROM installation_embeddings \
             WHERE model_version = $1 AND installation_id > $2 ORDER BY installation_id LIMIT $3",
        )
        .bind(model_version)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.database.readers())
        .await?;
        rows.into_iter().map(StoredEmbedding::try_from).collect()
    }

    /// Stores these embeddings of `model_version`, replacing what the installations had.
    pub async fn save_embeddings(
        &self,
        model_version: &str,
        embeddings: &[StoredEmbedding],
        computed_at: i64,
    ) -> RegistryResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for chunk in embeddings.chunks(MAX_ROWS_PER_QUERY) {
            let rows = (0..chunk.len())
                .map(|row| format!("({})", placeholders(1 + row * 5, 5)))
                .collect::<Vec<_>>()
                .join(", ");
            let query = sql!(
                "INSERT INTO installation_embeddings (installation_id, model_version, text_digest, vector, \
                 computed_at) VALUES {rows} ON CONFLICT (installation_id) DO UPDATE SET \
                 model_version = excluded.model_version, text_digest = excluded.text_digest, \
                 vector = excluded.vector, computed_at = excluded.computed_at"
            );
            let mut query = sqlx::query(query);
            for embedding in chunk {
                query = query
                    .bind(&embedding.installation_id)
                    .bind(model_version)
                    .bind(&embedding.text_digest)
                    .bind(vector_bytes(&embedding.vector))
                    .bind(computed_at);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes the embeddings of these installations.
    pub async fn delete_embeddings(&self, installation_ids: &[String]) -> RegistryResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for chunk in installation_ids.chunks(MAX_ROWS_PER_QUERY) {
            let query = sql!(
                "DELETE FROM installation_embeddings WHERE installation_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(query);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes the embeddings another model made, and those of installations no longer
    /// published; returns how many went.
    pub async fn delete_stale_embeddings(&self, model_version: &str) -> RegistryResult<u64> {
        let mut transaction = self.database.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM installation_embeddings WHERE model_version <> $1 OR installation_id NOT IN \
             (SELECT id FROM installations WHERE status = 'published')",
        )
        .bind(model_version)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(deleted.rows_affected())
    }

    /// Published installations without an embedding of `model_version`, after `after_id` in id
    /// order, at most `limit`.
    pub async fn published_without_embedding(
        &self,
        model_version: &str,
        after_id: &str,
        limit: i64,
    ) -> RegistryResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT i.id FROM installations i LEFT JOIN installation_embeddings e \
             ON e.installation_id = i.id AND e.model_version = $1 \
             WHERE i.status = 'published' AND e.installation_id IS NULL AND i.id > $2 ORDER BY i.id LIMIT $3",
        )
        .bind(model_version)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.database.readers())
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}

fn vector_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|value| value.to_le_bytes()).collect()
}

impl TryFrom<EmbeddingRow> for StoredEmbedding {
    type Error = RegistryError;

    fn try_from(row: EmbeddingRow) -> Result<Self, Self::Error> {
        if !row.vector.len().is_multiple_of(4) {
            return Err(RegistryError::from(sqlx::Error::Decode(
                format!(
                    "embedding of {}: {} bytes are no whole number of float32 values",
                    row.installation_id,
                    row.vector.len()
                )
                .into(),
            )));
        }
        let vector = row
            .vector
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect();
        Ok(StoredEmbedding {
            installation_id: row.installation_id,
            text_digest: row.text_digest,
            vector,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_reads_back_from_its_bytes_exactly() {
        let vector = vec![0.25_f32, -1.5, f32::MIN_POSITIVE, 3.0e-7];
        let row = EmbeddingRow {
            installation_id: "i".into(),
            text_digest: "d".into(),
            vector: vector_bytes(&vector),
        };
        assert_eq!(StoredEmbedding::try_from(row).expect("decoded").vector, vector);
    }

    #[test]
    fn a_truncated_vector_is_reported_not_misread() {
        let row = EmbeddingRow {
            installation_id: "i".into(),
            text_digest: "d".into(),
            vector: vec![0, 0, 128],
        };
        assert!(StoredEmbedding::try_from(row).is_err());
    }
}
