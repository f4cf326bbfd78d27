//! The registry's own options, beside the platform's [`ServiceConfig`](rti_platform::server::ServiceConfig).

use std::path::PathBuf;

/// How the registry runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The sentence encoder's model (`weights.npz` and `sp.model`, which
    /// `services/encoder/fetch-model` fetches): with it, search finds installations by meaning as
    /// well as by words. `None`, or a directory without a loadable model, leaves search by words
    /// only, which the registry says once in its log and in health
    /// ([`SEMANTIC_SEARCH_HEALTH`](crate::search::meaning::SEMANTIC_SEARCH_HEALTH)).
    pub encoder_model_dir: Option<PathBuf>,
}
