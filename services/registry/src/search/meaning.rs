//! Search by meaning: the multilingual sentence encoder ([`rti_encoder`]) that embeds each
//! published installation and each query, so that "make tiny patterns on silicon chips" finds a
//! lithography cleanroom described in Dutch. The model's files are optional: without them the
//! registry searches by words only, and says so once in its log and in its health
//! ([`SEMANTIC_SEARCH_HEALTH`] is NOT_SERVING).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rti_encoder::Encoder;
use sha2::{Digest, Sha256};

use crate::domain::Installation;

/// The name under which health reports whether search by meaning is available.
pub const SEMANTIC_SEARCH_HEALTH: &str = "rti.registry.v1.SemanticSearch";

/// The loaded encoder; cheap to clone.
#[derive(Clone)]
pub struct Meaning {
    encoder: Arc<Encoder>,
}

impl std::fmt::Debug for Meaning {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Meaning")
            .field("encoder", &self.encoder)
            .finish()
    }
}

/// What one installation is embedded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationText {
    pub installation_id: String,
    /// The name with the techniques, then each description: embedded one by one, and averaged.
    pub texts: Vec<String>,
    /// Identifies `texts`: an unchanged digest needs no new embedding.
    pub digest: String,
}

impl Meaning {
    /// Loads the model from `directory` off the async workers (about half a second in a release
    /// build). `None` when no directory is configured or the model cannot be loaded; either is
    /// logged here, once.
    pub async fn load(directory: Option<PathBuf>) -> Option<Meaning> {
        let Some(directory) = directory else {
            tracing::warn!("search by meaning is off: no encoder model configured; searching by words only");
            return None;
        };
        let loading = directory.clone();
        match tokio::task::spawn_blocking(move || Encoder::load(&loading)).await {
            Ok(Ok(encoder)) => {
                tracing::info!(model = Encoder::model_version(), directory = %directory.display(), "search by meaning is on");
                Some(Meaning {
                    encoder: Arc::new(encoder),
                })
            }
            Ok(Err(error)) => {
                tracing::warn!(
                    %error,
                    "search by meaning is off: the encoder model cannot be loaded (run services/encoder/fetch-model); \
                     searching by words only"
                );
                None
            }
            Err(error) => {
                tracing::warn!(%error, "search by meaning is off: loading the encoder model failed; searching by words only");
                None
            }
        }
    }

    /// Loads the model from `directory` on this thread (benchmarks and tools).
    pub fn load_blocking(directory: &Path) -> Result<Meaning, rti_encoder::EncoderError> {
        Ok(Meaning {
            encoder: Arc::new(Encoder::load(directory)?),
        })
    }

    /// Names the model: stored vectors of another version are recomputed.
    pub fn model_version() -> &'static str {
        Encoder::model_version()
    }

    /// The embedding of a query. Blocking: about 2 ms of one core.
    pub fn embed_query(&self, text: &str) -> Vec<f32> {
        self.encoder.embed(text).to_vec()
    }

    /// One unit vector per installation: the mean of its texts' embeddings, normalised. A text
    /// that several installations share (a common description) is embedded once. Blocking.
    pub fn embed_installations(&self, installations: &[InstallationText]) -> Vec<Vec<f32>> {
        let mut unique: Vec<&str> = Vec::new();
        let mut positions: HashMap<&str, usize> = HashMap::new();
        for text in installations.iter().flat_map(|installation| &installation.texts) {
            positions.entry(text.as_str()).or_insert_with(|| {
                unique.push(text.as_str());
                unique.len() - 1
            });
        }
        let embeddings = self.encoder.embed_batch(&unique);
        installations
            .iter()
            .map(|installation| {
                let mut sum = vec![0.0_f32; rti_encoder::EMBEDDING_DIMENSION];
                for text in &installation.texts {
                    for (total, value) in sum.iter_mut().zip(&embeddings[positions[text.as_str()]]) {
                        *total += value;
                    }
                }
                normalised(sum)
            })
            .collect()
    }
}

/// The texts an installation is embedded from: its name and techniques in one ("ISO 5
/// cleanroom: lithography bay; i-line stepper lithography; …"), and each description on its own,
/// whatever its language. Embedding the descriptions apart keeps each within the length the
/// encoder reads well, and their mean sits between the languages, which the encoder maps close.
pub fn installation_text(installation: &Installation) -> InstallationText {
    let fields = &installation.fields;
    let mut heading = fields.name.clone();
    if !fields.techniques.is_empty() {
        heading.push_str("; ");
        heading.push_str(&fields.techniques.join("; "));
    }
    let mut texts = vec![heading];
    texts.extend(
        fields
            .descriptions
            .iter()
            .map(|description| description.text.clone())
            .filter(|text| !text.trim().is_empty()),
    );
    let mut digest = Sha256::new();
    for text in &texts {
        digest.update(text.as_bytes());
        digest.update([0]);
    }
    InstallationText {
        installation_id: installation.id.clone(),
        texts,
        digest: format!("{:x}", digest.finalize()),
    }
}

fn normalised(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 0.0 {
        for value in &mut vector {
            *value /= norm;
        }
    }
    vector
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstallationFields, InstallationStatus, LocalizedText};

    fn installation(name: &str, techniques: &[&str], descriptions: &[(&str, &str)]) -> Installation {
        Installation {
            id: "0190f000-0000-7000-8000-000000000001".into(),
            infrastructure_id: "0190f000-0000-7000-8000-000000000002".into(),
            status: InstallationStatus::Published,
            fields: InstallationFields {
                name: name.into(),
                techniques: techniques.iter().map(|technique| (*technique).to_owned()).collect(),
                descriptions: descriptions
                    .iter()
                    .map(|(language, text)| LocalizedText {
                        language: (*language).into(),
                        text: (*text).into(),
                    })
                    .collect(),
                ..InstallationFields::default()
            },
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_name_and_techniques_make_one_text_and_each_description_another() {
        let text = installation_text(&installation(
            "Lithography bay",
            &["e-beam lithography", "mask aligner"],
            &[("en", "A cleanroom."), ("nl", "Een cleanroom."), ("de", "  ")],
        ));
        assert_eq!(
            text.texts,
            [
                "Lithography bay; e-beam lithography; mask aligner",
                "A cleanroom.",
                "Een cleanroom."
            ]
        );
    }

    #[test]
    fn the_digest_changes_with_the_text_only() {
        let digest = |name: &str, language: &str| {
            installation_text(&installation(name, &["x"], &[(language, "A cleanroom.")])).digest
        };
        assert_eq!(digest("Bay", "en"), digest("Bay", "en"));
        assert_ne!(digest("Bay", "en"), digest("Bay 2", "en"));
        // The language is not embedded, only the text.
        assert_eq!(digest("Bay", "en"), digest("Bay", "nl"));
    }

    #[test]
    fn a_mean_is_normalised_and_a_zero_vector_left_alone() {
        let vector = normalised(vec![3.0, 4.0]);
        assert_eq!(vector, [0.6, 0.8]);
        assert_eq!(normalised(vec![0.0, 0.0]), [0.0, 0.0]);
    }
}
