//! Name screening against the fictional sanctions fixture (SEC-3): every listed variant of the
//! test set (script, case, order, diacritics, romanisation, aliases, typos, missing middle
//! names) is found, as MATCH or POSSIBLE; no unlisted name is a MATCH; and the share of unlisted
//! names sent to a person (POSSIBLE) is printed as the false-positive rate.

use rti_intake::domain::names::{ListedName, NameIndex, Verdict};

const FIXTURE: &str = include_str!("fixtures/sanctions-fixture.tsv");
const VARIANTS: &str = include_str!("fixtures/screening-variants.tsv");

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.split('\t').collect())
}

fn fixture() -> NameIndex {
    NameIndex::new(rows(FIXTURE).map(|columns| {
        assert_eq!(columns.len(), 3, "fixture line {columns:?}");
        ListedName {
            party: columns[0].to_owned(),
            name: columns[2].to_owned(),
        }
    }))
}

#[test]
fn no_listed_party_is_missed_and_no_unlisted_name_matches() {
    let index = fixture();
    let (mut listed, mut unlisted, mut possible) = (0, 0, 0);
    let mut failures = Vec::new();
    for columns in rows(VARIANTS) {
        assert_eq!(columns.len(), 3, "variant line {columns:?}");
        let (expected, kind, name) = (columns[0], columns[1], columns[2]);
        let screening = index.screen(name);
        if expected == "-" {
            unlisted += 1;
            match screening.verdict {
                Verdict::Match => failures.push(format!(
                    "{kind} {name:?} is not listed but MATCHes {:?}",
                    screening.hits[0]
                )),
                Verdict::Possible => possible += 1,
                Verdict::Clear => {}
            }
        } else {
            listed += 1;
            if !screening.hits.iter().any(|hit| hit.party == expected) {
                failures.push(format!("{kind} {name:?} misses {expected}; hits {:?}", screening.hits));
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = f64::from(possible) / f64::from(unlisted.max(1));
    println!(
        "{listed} listed variants, {unlisted} unlisted names; false positives (POSSIBLE): {possible} = {:.1} %",
        rate * 100.0
    );
    assert!(listed + unlisted >= 200, "the test set has {} names", listed + unlisted);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
