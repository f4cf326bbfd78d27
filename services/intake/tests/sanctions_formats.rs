//! The XML and CSV readers of the EU sanctions list (SEC-2) give the same parties, names and
//! subject types from the two fictional fixtures as the fictional TSV list they were made from,
//! and each keeps its file's generation date as written.

use std::collections::BTreeMap;

use rti_intake::domain::sanctions_xml::{SanctionsList, SubjectType};
use rti_intake::domain::{sanctions_csv, sanctions_xml};

const TSV: &str = include_str!("fixtures/sanctions-fixture.tsv");
const XML: &str = include_str!("fixtures/sanctions-fixture.xml");
const CSV: &str = include_str!("fixtures/sanctions-fixture.csv");

/// Logical id to subject type and names, in file order.
type Parties = BTreeMap<String, (SubjectType, Vec<String>)>;

fn tsv_parties() -> Parties {
    let mut parties = Parties::new();
    for line in TSV.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [party, kind, name] = columns[..] else {
            panic!("fixture line {line:?}");
        };
        let kind = match kind {
            "P" => SubjectType::Person,
            "E" => SubjectType::Enterprise,
            other => panic!("subject type {other:?}"),
        };
        let entry = parties.entry(party.to_owned()).or_insert_with(|| (kind, Vec::new()));
        assert_eq!(entry.0, kind, "{party} has one subject type");
        entry.1.push(name.to_owned());
    }
    parties
}

fn parties_of(list: &SanctionsList) -> Parties {
    let parties: Parties = list
        .parties
        .iter()
        .map(|party| (party.logical_id.clone(), (party.subject_type, party.names.clone())))
        .collect();
    assert_eq!(parties.len(), list.parties.len(), "each party read once");
    parties
}

#[test]
fn sec_2_the_xml_fixture_holds_the_fictional_list() {
    let list = sanctions_xml::parse(XML).expect("the XML fixture parses");
    assert_eq!(list.generation_date, "2026-11-20T18:00:00.000+01:00");
    let expected = tsv_parties();
    assert_eq!(expected.len(), 40);
    assert_eq!(parties_of(&list), expected);
}

#[test]
fn sec_2_the_csv_fixture_holds_the_fictional_list() {
    let list = sanctions_csv::parse(CSV).expect("the CSV fixture parses");
    assert_eq!(list.generation_date, "2026-11-21T18:00:00.000+01:00");
    assert_eq!(parties_of(&list), tsv_parties());
}

#[test]
fn sec_2_both_formats_give_the_same_parties_in_the_same_order() {
    let xml = sanctions_xml::parse(XML).expect("the XML fixture parses");
    let csv = sanctions_csv::parse(CSV).expect("the CSV fixture parses");
    assert_ne!(xml.generation_date, csv.generation_date, "two versions");
    assert_eq!(xml.parties, csv.parties, "ids, references, programmes, names");
    let first = &csv.parties[0];
    assert_eq!(first.logical_id, "FICT.0001", "first-seen order, late rows folded in");
    let grauwald = csv
        .parties
        .iter()
        .find(|party| party.logical_id == "FICT.0029")
        .expect("FICT.0029");
    assert_eq!(grauwald.programmes, ["BLR", "RUS"]);
    assert_eq!(grauwald.eu_reference_number, "EU.FICT.0029");
}
