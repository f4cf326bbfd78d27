//! What finds a document whose words are not the query's exactly: phrase slop, compounds split at
//! index and query time, light stemming of plurals, and the relaxed fallback for queries that
//! would otherwise find nothing.

use crate::helpers::{described, document, id, index_with, search};

#[test]
fn a_thesaurus_phrase_matches_with_a_word_or_two_in_between() {
    let index = index_with(&[
        document(1, "SANS instrument", "Small-angle neutron scattering on polymers."),
        described(
            2,
            "Instrument DNPA",
            "fr",
            "Diffusion de neutrons aux petits angles sur des micelles.",
        ),
        // The words, but far apart: not the concept.
        document(
            3,
            "Optics Lab",
            "Small lenses; the angle of the beam; light scattering.",
        ),
    ]);
    // German: the concept's English and French terms, with "neutron" in between.
    let found = search(&index, "Kleinwinkelstreuung");
    assert!(found.contains(&id(1)), "{found:?}");
    assert!(found.contains(&id(2)), "{found:?}");
    assert!(!found.contains(&id(3)), "{found:?}");
}

#[test]
fn a_german_compound_in_a_document_is_found_by_its_part() {
    let index = index_with(&[
        described(
            1,
            "Strahlrohr A3",
            "de",
            "Röntgenkleinwinkelstreuung an Proteinen in Lösung.",
        ),
        described(2, "Strahlrohr A4", "de", "Röntgenbeugung an Einkristallen."),
    ]);
    assert_eq!(search(&index, "Kleinwinkelstreuung"), [id(1)]);
    // The compound itself is still a word of the document.
    assert_eq!(search(&index, "Röntgenkleinwinkelstreuung"), [id(1)]);
}

#[test]
fn a_query_compound_no_term_matches_is_searched_by_its_parts() {
    let index = index_with(&[
        document(
            1,
            "Single-cell genomics",
            "Droplet single-cell RNA sequencing and FACS.",
        ),
        document(2, "Short-read sequencing", "High-throughput sequencing of genomes."),
        document(3, "Cell culture lab", "Cell lines and organoids."),
    ]);
    let found = search(&index, "Einzelzellsequenzierung");
    // Both parts beat one part; a document with neither is not found.
    assert_eq!(found, [id(1), id(2)]);
}

#[test]
fn a_dutch_compound_query_is_searched_by_its_parts() {
    let index = index_with(&[
        document(1, "Secure access to survey microdata", "Household panel surveys."),
        document(2, "Data centre", "Racks and cooling."),
    ]);
    assert_eq!(search(&index, "enquêtedata"), [id(1)]);
}

#[test]
fn an_italian_plural_the_snowball_stemmer_cuts_differently_still_meets_its_term() {
    // Snowball stems "camere" to "cam" but "camera" to "camer"; the light stems agree.
    let index = index_with(&[
        document(1, "EMC chamber", "Two anechoic chambers for antenna measurements."),
        document(2, "Camera lab", "High-speed cameras."),
    ]);
    assert_eq!(search(&index, "camere anecoiche"), [id(1)]);
}

#[test]
fn a_phrase_found_nowhere_falls_back_to_its_words() {
    let index = index_with(&[
        document(1, "Scattering lab", "Scattering of X-rays at small angles."),
        document(2, "Workshop", "Mechanical workshop."),
    ]);
    // The phrase "small-angle scattering" is in no document; its words are in document 1.
    assert_eq!(search(&index, "small-angle scattering"), [id(1)]);
}

#[test]
fn words_found_nowhere_find_nothing() {
    let index = index_with(&[document(1, "Laser Lab", "Femtosecond lasers.")]);
    assert!(search(&index, "zyxwv").is_empty());
    assert!(search(&index, "zyxwv qwrtp").is_empty());
    // A thesaurus phrase whose terms and words are all absent.
    assert!(search(&index, "small-angle scattering").is_empty());
}
