//! Ranking and paging: more matched clauses first, names over techniques and descriptions, stable
//! ties.

use crate::helpers::{document, hit_ids, id, index_with, search, text};
use rti_search::{Document, Query};

#[test]
fn a_document_matching_both_words_ranks_above_one_matching_one() {
    let index = index_with(&[
        document(1, "Litho Line", "Electron beam lithography for research."),
        document(2, "Nanofab", "Cleanroom with electron beam lithography."),
        document(3, "Packaging Hall", "A cleanroom for packaging."),
    ]);
    let found = search(&index, "cleanroom lithography");
    // Document 2 matches both; 1 and 3 each miss one word and are still found.
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], id(2), "{found:?}");
}

#[test]
fn a_concept_with_many_synonyms_does_not_outweigh_a_plain_word() {
    // Document 1 names the cleanroom in three languages; document 2 has the cleanroom once and
    // the other query word: matching both clauses must beat repeating one concept's synonyms.
    let index = index_with(&[
        document(
            1,
            "Facility A",
            "Cleanroom, Reinraum, salle blanche, sala blanca, camera bianca.",
        ),
        document(2, "Facility B", "A cleanroom for wafer bonding."),
    ]);
    assert_eq!(search(&index, "cleanroom bonding")[0], id(2));
}

#[test]
fn a_match_in_the_name_ranks_above_a_match_in_the_description() {
    let index = index_with(&[
        document(1, "Optics Lab", "Also runs a small spectrometer."),
        document(2, "Spectrometer Suite", "Optical measurements."),
    ]);
    assert_eq!(search(&index, "spectrometer"), [id(2), id(1)]);
}

#[test]
fn a_match_in_the_name_ranks_above_one_in_a_long_technique_list() {
    // Techniques describe an installation; they are not its name, however often they repeat a word.
    let mut metrology = document(1, "Inline metrology", "Film thickness and defect maps.");
    metrology.techniques = vec![
        "critical-dimension electron microscope (CD electron microscope)".to_owned(),
        "electron microscope review".to_owned(),
    ];
    let microscope = document(2, "Electron microscope", "Imaging of nanostructures.");
    let index = index_with(&[metrology, microscope]);
    assert_eq!(search(&index, "Elektronenmikroskop"), [id(2), id(1)]);
}

#[test]
fn equal_scores_come_in_id_order() {
    let documents: Vec<Document> = [5, 3, 9, 1]
        .into_iter()
        .map(|n| document(n, "Laser Lab", "Femtosecond laser."))
        .collect();
    let index = index_with(&documents);
    assert_eq!(search(&index, "laser"), [id(1), id(3), id(5), id(9)]);
}

#[test]
fn empty_text_returns_every_document_in_id_order() {
    let index = index_with(&[document(2, "B", "b"), document(3, "C", "c"), document(1, "A", "a")]);
    let results = index.search(&Query::default()).expect("search runs");
    assert_eq!(hit_ids(&results), [id(1), id(2), id(3)]);
    assert_eq!(results.total, 3);
}

#[test]
fn offset_pages_concatenate_to_the_full_ranking_without_repeats_on_ties() {
    // Ties (identical texts), several segments (one commit each) and distinct scores mixed.
    let (index, mut writer, _) = crate::helpers::open(None);
    for n in 0..23u32 {
        let description = if n % 5 == 0 { "laser laser laser" } else { "laser" };
        writer
            .upsert(&document((n * 7) % 23, "Lab", description))
            .expect("document indexed");
        if n % 6 == 0 {
            writer.commit(&crate::helpers::cursor(i64::from(n))).expect("commit");
        }
    }
    writer.commit(&crate::helpers::cursor(100)).expect("commit");
    let full = index
        .search(&Query {
            limit: 100,
            ..text("laser")
        })
        .expect("search runs");
    assert_eq!(full.hits.len(), 23);
    for page_size in [1, 4, 5] {
        let mut paged = Vec::new();
        for page in 0..(23 / page_size + 1) {
            let results = index
                .search(&Query {
                    offset: page * page_size,
                    limit: page_size,
                    ..text("laser")
                })
                .expect("search runs");
            assert_eq!(results.total, 23);
            paged.extend(hit_ids(&results));
        }
        assert_eq!(paged, hit_ids(&full), "page size {page_size}");
    }
    // Within each score, ids ascend.
    for pair in full.hits.windows(2) {
        assert!(
            pair[0].score > pair[1].score || (pair[0].score == pair[1].score && pair[0].id < pair[1].id),
            "{pair:?}"
        );
    }
}

#[test]
fn an_offset_past_the_end_returns_no_hits_but_the_total() {
    let index = index_with(&[document(1, "Laser Lab", "laser")]);
    let results = index
        .search(&Query {
            offset: 5,
            ..text("laser")
        })
        .expect("search runs");
    assert!(results.hits.is_empty());
    assert_eq!(results.total, 1);
}
