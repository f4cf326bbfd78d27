//! For tests of crates that use the encoder: where the model is, or that the tests needing it are
//! skipped on purpose.

use std::path::PathBuf;

/// The model directory for tests: `RTI_ENCODER_MODEL_DIR`, else [`crate::default_model_dir`];
/// `None` when `RTI_ENCODER_SKIP=1` says to skip what needs the model.
///
/// # Panics
///
/// When the directory holds no model and skipping was not asked for: a test that silently
/// passes without the model it is about would prove nothing.
pub fn model_dir() -> Option<PathBuf> {
    if std::env::var("RTI_ENCODER_SKIP").is_ok_and(|value| value == "1") {
        eprintln!("RTI_ENCODER_SKIP=1: skipping what needs the sentence encoder's model");
        return None;
    }
    let directory = std::env::var_os("RTI_ENCODER_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(crate::default_model_dir);
    assert!(
        directory.join(crate::WEIGHTS_FILE).exists() && directory.join(crate::TOKENIZER_FILE).exists(),
        "no model in {}: run services/encoder/fetch-model, or set RTI_ENCODER_MODEL_DIR to a directory \
         holding {} and {} (RTI_ENCODER_SKIP=1 skips the tests that need it)",
        directory.display(),
        crate::WEIGHTS_FILE,
        crate::TOKENIZER_FILE
    );
    Some(directory)
}
