//! The facts' batches, and their cells against hand-counted figures.

use super::*;
use crate::domain::query::QueryInput;

const JAN_2026: i64 = 1_767_225_600_000_000;
const DAY: i64 = 86_400_000_000;

fn record<'a>(user: &'a str, org: &'a str, installation: &'a str, day: i64, units: i64) -> FactInput<'a> {
    FactInput {
        record: crate::domain::usage::id_digest(&format!("{user}/{org}/{installation}/{day}/{units}")),
        fingerprint: 7,
        user_key: user,
        user_rkey: 1,
        org_key: org,
        org_rkey: 10,
        request_id: "request",
        group_rkey: 100,
        installation_id: installation,
        home_country: "DE",
        requester_type: "sme",
        access_mode: "physical",
        lane: "industrial",
        funding_scheme: "market",
        new_user: day < 40,
        period_start: JAN_2026 + day * DAY,
        month: if day < 31 { 202601 } else { 202602 },
        units_used: units,
    }
}

fn query(group_by: &[&str]) -> StatisticsQuery {
    StatisticsQuery::parse(QueryInput {
        group_by: group_by.iter().map(|name| (*name).to_owned()).collect(),
        measures: ["units_used", "users", "new_users", "user_groups"]
            .map(str::to_owned)
            .to_vec(),
        from: Some(JAN_2026),
        to: Some(JAN_2026 + 365 * DAY),
        filters: Vec::new(),
    })
    .expect("valid")
}

fn sites() -> HashMap<String, Site> {
    HashMap::from([(
        "lab-fr".to_owned(),
        Site {
            infrastructure_id: "infra-fr".into(),
            provider_country: "FR".into(),
        },
    )])
}

#[test]
fn batches_apply_in_order_once() {
    let mut facts = UsageFacts::default();
    assert!(
        !facts.apply_next(1, [record("u", "o", "lab", 1, 1)]),
        "nothing applies before the first load"
    );
    assert!(facts.load(0, []));
    assert!(facts.apply_next(1, [record("u", "o", "lab", 1, 1)]));
    assert!(
        !facts.apply_next(3, [record("u", "o", "lab", 1, 1)]),
        "batch 2 is missing"
    );
    assert!(!facts.load(1, [record("u", "o", "lab", 1, 1)]), "batch 1 is applied");
    assert!(facts.load(2, [record("u", "o", "lab", 2, 1)]));
    assert_eq!((facts.batch(), facts.records()), (2, 2));
    facts.caught_up(5);
    assert!(facts.apply_next(6, []));
}

#[test]
fn a_user_counts_once_per_cell_and_organisations_sum_their_units() {
    let mut facts = UsageFacts::default();
    facts.load(
        1,
        [
            record("u-1", "o-b", "lab-fr", 1, 3),
            record("u-1", "o-a", "lab-fr", 2, 4),
            record("u-1", "o-b", "lab-fr", 45, 5),
            record("u-2", "o-b", "lab-fr", 3, 2),
            record("u-3", "o-c", "lab-de", 4, 0),
        ],
    );
    let mut cells = BTreeMap::new();
    facts.add_cells(&query(&["month"]), &Scope::Everything, &sites(), &mut cells);
    let january = &cells[&vec!["2026-01".to_owned()]];
    // Three users; u-1 under its first organisation (o-a), u-2 under o-b, u-3 under o-c.
    assert_eq!((january.users.count, january.users.organisations), (3, 3));
    assert_eq!(january.users.key_sum, 3);
    // o-c used no units, so it contributes none; o-b's 5 units lead o-a's 4.
    let units = january.units_used;
    assert_eq!(
        (units.total, units.largest, units.second, units.organisations),
        (9, 5, 4, 2)
    );
    assert_eq!(january.user_groups.count, 1);
    let february = &cells[&vec!["2026-02".to_owned()]];
    assert_eq!((february.users.count, february.new_users.count), (1, 0));
}

#[test]
fn a_countrys_scope_admits_its_users_and_its_installations() {
    let mut facts = UsageFacts::default();
    let mut italian = record("u-it", "o-it", "lab-fr", 1, 2);
    italian.home_country = "IT";
    let mut elsewhere = record("u-es", "o-es", "lab-de", 1, 2);
    elsewhere.home_country = "ES";
    facts.load(1, [record("u-de", "o-de", "lab-de", 1, 1), italian, elsewhere]);
    let count = |country: &str| {
        let mut cells = BTreeMap::new();
        facts.add_cells(
            &query(&["home_country", "provider_country"]),
            &Scope::Country(country.to_owned()),
            &sites(),
            &mut cells,
        );
        cells
            .into_iter()
            .map(|(key, cell)| (key.join("/"), cell.users.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(count("DE"), [("DE/".to_owned(), 1)]);
    assert_eq!(count("FR"), [("IT/FR".to_owned(), 1)]);
    assert!(count("PL").is_empty());
}

#[test]
fn the_facts_remember_each_record_and_the_units_used_per_request_and_installation() {
    let mut facts = UsageFacts::default();
    facts.load(
        0,
        [
            record("u1", "o1", "lab-fr", 1, 3),
            record("u2", "o1", "lab-fr", 2, 4),
            record("u1", "o1", "lab-de", 3, 5),
        ],
    );
    assert_eq!(facts.used_units("request", "lab-fr"), 7);
    assert_eq!(facts.used_units("request", "lab-de"), 5);
    assert_eq!(facts.used_units("request", "elsewhere"), 0);
    assert_eq!(facts.used_units("another request", "lab-fr"), 0);
    assert_eq!(facts.fingerprint_of(record("u1", "o1", "lab-fr", 1, 3).record), Some(7));
    assert_eq!(facts.fingerprint_of(record("u9", "o1", "lab-fr", 1, 3).record), None);
    assert_eq!(facts.known_key(KnownKey::User, "u1"), Some(1));
    assert_eq!(facts.known_key(KnownKey::Organisation, "o1"), Some(10));
    assert_eq!(facts.known_key(KnownKey::UserGroup, "request"), Some(100));
    assert_eq!(facts.known_key(KnownKey::User, "nobody"), None);
}

#[test]
fn a_user_of_several_organisations_adds_no_organisation_its_first_one_already_brought() {
    let mut facts = UsageFacts::default();
    facts.load(
        1,
        [
            record("u-1", "o-b", "lab-fr", 1, 3),
            record("u-1", "o-a", "lab-fr", 2, 4),
            record("u-2", "o-a", "lab-fr", 3, 2),
        ],
    );
    let mut cells = BTreeMap::new();
    facts.add_cells(&query(&["month"]), &Scope::Everything, &sites(), &mut cells);
    let january = &cells[&vec!["2026-01".to_owned()]];
    // u-1 counts under o-a, its first organisation by id, where u-2 already is: one organisation.
    assert_eq!((january.users.count, january.users.organisations), (2, 1));
    assert_eq!((january.new_users.count, january.new_users.organisations), (2, 1));
    // Units still go to the organisation of each record: o-a 6, o-b 3.
    let units = january.units_used;
    assert_eq!(
        (units.total, units.largest, units.second, units.organisations),
        (9, 6, 3, 2)
    );
}

#[test]
fn the_cells_are_the_same_whatever_the_split_of_the_pass_and_the_index_of_cells() {
    // 40 organisations, 120 users of whom every seventh records under a second organisation,
    // two user groups, three installations and both home countries, over a year.
    let ids: Vec<(String, String, String)> = (0..2_400)
        .map(|index: usize| {
            let user = index % 120;
            let org = if user.is_multiple_of(7) && (index / 120).is_multiple_of(2) {
                (user + 13) % 40
            } else {
                user % 40
            };
            (
                format!("u-{user:03}"),
                format!("o-{org:02}"),
                format!("request-{}", user % 2),
            )
        })
        .collect();
    let installations = ["lab-fr", "lab-de", "lab-it"];
    let records: Vec<FactInput<'_>> = ids
        .iter()
        .enumerate()
        .map(|(index, (user, org, request))| {
            let day = i64::try_from(index * 37 % 365).expect("small");
            let mut record = record(
                user,
                org,
                installations[index % 3],
                day,
                i64::try_from(index % 5).expect("small"),
            );
            record.record = crate::domain::usage::id_digest(&format!("record-{index}"));
            record.request_id = request;
            record.user_rkey = u32::try_from(user.len() * 7 + index % 120).expect("small");
            record.org_rkey = u32::try_from(org.len() * 11 + index % 40).expect("small");
            record.home_country = if index % 40 < 25 { "DE" } else { "FR" };
            record.month = 202_601 + i32::try_from(day / 31).expect("small").min(11);
            record
        })
        .collect();
    let mut facts = UsageFacts::default();
    facts.load(1, records);
    assert!(facts.multi_org_users > 0, "some users have several organisations");
    for group_by in [
        &["month"][..],
        &["home_country", "installation", "quarter"],
        &["installation", "access_mode", "year"],
    ] {
        let cells_with = |parts: usize, dense_bits: u32| {
            let mut cells = BTreeMap::new();
            facts.add_cells_with(
                &query(group_by),
                &Scope::Everything,
                &sites(),
                &mut cells,
                parts,
                dense_bits,
            );
            cells
        };
        let whole = cells_with(1, 0);
        assert!(whole.len() > 2, "{group_by:?} has cells");
        for (parts, dense_bits) in [(1, 18), (2, 0), (2, 18), (3, 18), (7, 0)] {
            assert_eq!(
                cells_with(parts, dense_bits),
                whole,
                "{group_by:?} in {parts} parts, dense up to {dense_bits} bits"
            );
        }
    }
}
