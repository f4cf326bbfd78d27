//! The paraphrase relevance set (`tests/relevance/paraphrases.tsv`): queries that share no content
//! word with the installations they must find, so that only search by meaning can pass it. Written
//! before the semantic search was tuned. This checks the set itself: its size, its languages, and
//! that no query shares a term with its expected installations under the search crate's own
//! analysis ([`rti_search::content_terms`]: every language's stemmer, compounds split, accents
//! folded, stop words left out).

use std::collections::BTreeSet;

use rti_gateway::demo;

use rti_tests::relevance::paraphrase_queries as paraphrases;

#[test]
fn the_paraphrase_set_has_eighty_queries_or_more_in_all_seven_languages() {
    let queries = paraphrases();
    assert!(queries.len() >= 80, "{} queries", queries.len());
    let languages: BTreeSet<&str> = queries.iter().map(|query| query.language).collect();
    assert_eq!(
        languages,
        BTreeSet::from(["de", "en", "es", "fr", "it", "nl", "pl"]),
        "every catalogue language, and no other"
    );
    for language in &languages {
        let count = queries.iter().filter(|query| query.language == *language).count();
        assert!(count >= 10, "{language}: only {count} queries");
    }
}

#[test]
fn no_paraphrase_shares_a_content_word_with_an_installation_it_must_find() {
    let installations = demo::catalogue::installations().expect("the demo catalogue parses");
    let parents = demo::catalogue::parent_names().expect("the demo catalogue parses");
    let mut overlaps = Vec::new();
    for query in paraphrases() {
        let query_terms = rti_search::content_terms(query.text);
        assert!(!query_terms.is_empty(), "{:?} has no content word", query.text);
        for key in &query.expected {
            let (_, installation) = installations
                .iter()
                .find(|(candidate, _)| candidate == key)
                .unwrap_or_else(|| panic!("{key} is not a demo installation"));
            let mut texts: Vec<&str> = vec![installation.name.as_str()];
            texts.extend(installation.techniques.iter().map(String::as_str));
            texts.extend(
                installation
                    .descriptions
                    .iter()
                    .map(|description| description.text.as_str()),
            );
            texts.extend(parents[*key].iter().map(String::as_str));
            let installation_terms: BTreeSet<String> = texts.into_iter().flat_map(rti_search::content_terms).collect();
            let shared: Vec<&String> = query_terms.intersection(&installation_terms).collect();
            if !shared.is_empty() {
                overlaps.push(format!(
                    "[{}] {:?} shares {shared:?} with {key}",
                    query.language, query.text
                ));
            }
        }
    }
    assert!(
        overlaps.is_empty(),
        "{} overlaps:\n{}",
        overlaps.len(),
        overlaps.join("\n")
    );
}

#[test]
fn a_query_that_repeats_an_installation_word_is_caught() {
    // The check above is only as good as this: a word of the installation, inflected or in
    // capitals, must count as shared.
    let terms = rti_search::content_terms("Lithographies");
    let installation = rti_search::content_terms("ISO 5 cleanroom: lithography bay");
    assert!(!terms.is_disjoint(&installation));
}
