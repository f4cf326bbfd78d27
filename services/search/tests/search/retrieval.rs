//! Finding documents across languages: the thesaurus, the stemmed fields and the folded field.

use crate::helpers::{described, document, id, index_with, search};
use rti_search::Document;

fn cleanroom_catalogue() -> Vec<Document> {
    vec![
        document(1, "Nanofab Line", "An ISO 5 cleanroom with a 200 mm wafer line."),
        described(
            2,
            "Halbleiterzentrum Dresden",
            "de",
            "Zwei Reinräume der Klasse ISO 6 für Sensoren.",
        ),
        document(3, "Tribology Bench", "Wear and friction testing of coatings."),
        described(
            4,
            "Salle de réunion",
            "fr",
            "Une salle lumineuse aux murs blanche et une cafétéria.",
        ),
    ]
}

#[test]
fn german_reinraum_finds_an_english_only_cleanroom_document() {
    let index = index_with(&cleanroom_catalogue());
    let found = search(&index, "Reinraum");
    assert!(found.contains(&id(1)), "{found:?}");
    assert!(found.contains(&id(2)), "{found:?}");
    assert!(!found.contains(&id(3)), "{found:?}");
}

#[test]
fn french_salle_blanche_finds_the_english_cleanroom_document() {
    let index = index_with(&cleanroom_catalogue());
    let found = search(&index, "salle blanche");
    assert!(found.contains(&id(1)), "{found:?}");
    assert!(found.contains(&id(2)), "{found:?}");
}

#[test]
fn english_plural_cleanrooms_finds_a_german_only_reinraeume_document() {
    let index = index_with(&cleanroom_catalogue());
    let found = search(&index, "cleanrooms");
    assert!(found.contains(&id(2)), "{found:?}");
    assert!(found.contains(&id(1)), "{found:?}");
}

#[test]
fn multi_word_terms_are_phrases_so_scattered_words_do_not_match_the_concept() {
    // Document 4 has "salle" and "blanche", but apart: it is not a clean room.
    let index = index_with(&cleanroom_catalogue());
    let found = search(&index, "salles blanches");
    assert!(!found.contains(&id(4)), "{found:?}");
    assert!(found.contains(&id(1)), "{found:?}");
}

#[test]
fn inflected_polish_query_finds_a_polish_description_through_the_polish_stemmer() {
    let index = index_with(&[
        described(1, "Laboratorium Kraków", "pl", "Nowoczesne mikroskopy i spektrometr."),
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "mikroskopów"), [id(1)]);
}

#[test]
fn polish_thesaurus_term_finds_the_english_document() {
    let index = index_with(&cleanroom_catalogue());
    let found = search(&index, "pomieszczenia czyste");
    assert!(found.contains(&id(1)), "{found:?}");
}

#[test]
fn unaccented_query_finds_accented_text_through_folding() {
    let index = index_with(&[
        described(1, "Centre des matériaux", "fr", "Caractérisation des céramiques."),
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "ceramiques"), [id(1)]);
    assert_eq!(search(&index, "MATERIAUX"), [id(1)]);
}

#[test]
fn a_description_in_an_unsupported_language_is_found_through_the_folded_field() {
    let index = index_with(&[
        described(
            1,
            "Laboratório Lisboa",
            "pt",
            "Microscopia de força atómica em polímeros.",
        ),
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "polímeros"), [id(1)]);
    assert_eq!(search(&index, "atomica"), [id(1)]);
}

#[test]
fn name_infrastructure_provider_and_techniques_are_searchable() {
    let index = index_with(&[
        Document {
            infrastructure: "Aurora Synchrotron ASX".to_owned(),
            provider: "Nordic Light Consortium".to_owned(),
            techniques: vec!["X-ray diffraction".to_owned()],
            ..document(1, "Beamline B2", "Hard X-rays.")
        },
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "ASX"), [id(1)]);
    assert_eq!(search(&index, "consortium"), [id(1)]);
    assert_eq!(search(&index, "diffraction"), [id(1)]);
    assert_eq!(search(&index, "beamline"), [id(1)]);
}

#[test]
fn a_german_name_is_found_by_its_inflected_form() {
    // Names go to every language field, so the German stemmer meets "Reinräume" in a name too.
    let index = index_with(&[
        document(1, "Reinräume Ilmenau", "Sensor fabrication."),
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "Reinraum"), [id(1)]);
}

#[test]
fn stop_words_of_any_language_are_dropped_from_the_query() {
    // "für" is a German stop word; searched, it would find document 2 through its folded field.
    let index = index_with(&[
        document(1, "Litho Line", "Electron beam lithography."),
        described(2, "Werkstatt", "de", "Werkzeuge für Metall."),
    ]);
    assert_eq!(search(&index, "für lithography"), [id(1)]);
}

#[test]
fn a_query_of_stop_words_only_is_still_searched() {
    let index = index_with(&[
        document(1, "Die Casting Cell", "Aluminium parts."),
        document(2, "Optics Lab", "Lenses and mirrors."),
    ]);
    assert_eq!(search(&index, "die"), [id(1)]);
}

#[test]
fn nothing_matches_a_word_no_document_has() {
    let index = index_with(&cleanroom_catalogue());
    assert!(search(&index, "zeppelin").is_empty());
}
