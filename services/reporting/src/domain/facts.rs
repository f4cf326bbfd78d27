//! Usage facts held in memory: every usage record reduced to what statistics group, filter and
//! count by, its texts replaced by small numbers, kept per user. A query's usage cells come from
//! one pass over them: each user's records are grouped into the query's cells on their own
//! (distinct users need nothing more), organisations' units and user groups are summed per cell
//! in hash maps. This is the work a SQL aggregate does over every record for every question,
//! done on data already laid out for it (docs/benchmarks.md has the figures).
//!
//! The store keeps the facts current: it loads them from the usage records batch by batch, in
//! the order batches were written, and adds each batch it writes itself (`FactsBatch`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::cells::{Cell, Counted, Summed};
use super::query::{Scope, StatisticsQuery};
use super::{Dimension, Measure, period_label};

/// One usage record as the facts take it.
#[derive(Debug, Clone, Copy)]
pub struct FactInput<'record> {
    pub user_key: &'record str,
    pub user_rkey: u32,
    pub org_key: &'record str,
    pub org_rkey: u32,
    pub request_id: &'record str,
    pub group_rkey: u32,
    pub installation_id: &'record str,
    pub home_country: &'record str,
    pub requester_type: &'record str,
    pub access_mode: &'record str,
    pub lane: &'record str,
    pub funding_scheme: &'record str,
    pub new_user: bool,
    pub period_start: i64,
    /// YYYYMM.
    pub month: i32,
    pub units_used: i64,
}

/// Where an installation is, as the registry's projection says (empty when it does not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    pub infrastructure_id: String,
    pub provider_country: String,
}

/// Texts by number and numbers by text.
#[derive(Debug, Default)]
struct Dictionary {
    numbers: HashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Dictionary {
    fn number(&mut self, text: &str) -> u32 {
        if let Some(number) = self.numbers.get(text) {
            return *number;
        }
        let number = u32::try_from(self.texts.len()).expect("fewer than 2^32 distinct values");
        self.texts.push(text.into());
        self.numbers.insert(text.into(), number);
        number
    }

    fn text(&self, number: u32) -> &str {
        &self.texts[number as usize]
    }

    fn find(&self, text: &str) -> Option<u32> {
        self.numbers.get(text).copied()
    }

    fn len(&self) -> usize {
        self.texts.len()
    }
}

/// One record, its user implied by the list it sits in.
#[derive(Debug, Clone, Copy)]
struct Fact {
    period_start: i64,
    units: i64,
    org: u32,
    request: u32,
    installation: u32,
    month: i32,
    country: u32,
    mode: u32,
    lane: u32,
    scheme: u32,
    requester: u32,
    new_user: bool,
}

/// The usage facts, current up to `batch` (the last batch of records applied; −1 for none).
#[derive(Debug)]
pub struct UsageFacts {
    batch: i64,
    records: usize,
    users: Dictionary,
    organisations: Dictionary,
    requests: Dictionary,
    installations: Dictionary,
    /// Countries, access modes, lanes, requester types, funding schemes: few values each.
    labels: Dictionary,
    user_rkeys: Vec<u32>,
    org_rkeys: Vec<u32>,
    request_rkeys: Vec<u32>,
    by_user: Vec<Vec<Fact>>,
}

impl Default for UsageFacts {
    fn default() -> Self {
        Self {
            batch: -1,
            records: 0,
            users: Dictionary::default(),
            organisations: Dictionary::default(),
            requests: Dictionary::default(),
            installations: Dictionary::default(),
            labels: Dictionary::default(),
            user_rkeys: Vec::new(),
            org_rkeys: Vec::new(),
            request_rkeys: Vec::new(),
            by_user: Vec::new(),
        }
    }
}

impl UsageFacts {
    /// The last batch applied, −1 before the first load.
    pub fn batch(&self) -> i64 {
        self.batch
    }

    pub fn records(&self) -> usize {
        self.records
    }

    /// Applies the records of `batch` if it is the batch after the last one applied (batches
    /// are numbered without gaps in the order they commit); returns false, applying nothing,
    /// when it is not: the store then loads what is missing from the database.
    pub fn apply_next<'record>(&mut self, batch: i64, records: impl IntoIterator<Item = FactInput<'record>>) -> bool {
        if self.batch < 0 || batch != self.batch + 1 {
            return false;
        }
        self.load(batch, records)
    }

    /// Applies the records of `batch`, read from the database in the order of batches, unless
    /// it is applied already.
    pub fn load<'record>(&mut self, batch: i64, records: impl IntoIterator<Item = FactInput<'record>>) -> bool {
        if batch <= self.batch {
            return false;
        }
        for record in records {
            self.push(record);
        }
        self.batch = batch;
        true
    }

    /// Marks every batch up to `batch` as applied: those the database had no records of.
    pub fn caught_up(&mut self, batch: i64) {
        self.batch = self.batch.max(batch);
    }

    fn push(&mut self, record: FactInput<'_>) {
        let user = number_with_key(&mut self.users, &mut self.user_rkeys, record.user_key, record.user_rkey);
        let org = number_with_key(
            &mut self.organisations,
            &mut self.org_rkeys,
            record.org_key,
            record.org_rkey,
        );
        let request = number_with_key(
            &mut self.requests,
            &mut self.request_rkeys,
            record.request_id,
            record.group_rkey,
        );
        if self.by_user.len() <= user as usize {
            self.by_user.push(Vec::new());
        }
        let fact = Fact {
            period_start: record.period_start,
            units: record.units_used,
            org,
            request,
            installation: self.installations.number(record.installation_id),
            month: record.month,
            country: self.labels.number(record.home_country),
            mode: self.labels.number(record.access_mode),
            lane: self.labels.number(record.lane),
            scheme: self.labels.number(record.funding_scheme),
            requester: self.labels.number(record.requester_type),
            new_user: record.new_user,
        };
        self.by_user[user as usize].push(fact);
        self.records += 1;
    }

    /// Adds the usage measures of `query` within `scope` to `cells`, one cell per group that
    /// has records: the same figures as grouping the records per group, organisation and user.
    pub fn add_cells(
        &self,
        query: &StatisticsQuery,
        scope: &Scope,
        sites: &HashMap<String, Site>,
        cells: &mut BTreeMap<Vec<String>, Cell>,
    ) {
        let wants = |measures: &[Measure]| query.measures.iter().any(|measure| measures.contains(measure));
        let want_units = wants(&[Measure::UnitsUsed]);
        let want_users = wants(&[
            Measure::Users,
            Measure::NewUsers,
            Measure::UsersPer1000Researchers,
            Measure::UnitsUsed,
        ]);
        let want_groups = wants(&[Measure::UserGroups]);
        let plan = Plan::new(self, query, scope, sites);
        let mut keys: FastMap<Key, u32> = FastMap::default();
        let mut found: Vec<Key> = Vec::new();
        let mut users: Vec<Counted> = Vec::new();
        let mut new_users: Vec<Counted> = Vec::new();
        let mut user_orgs: FastSet<(u32, u32)> = FastSet::default();
        let mut new_orgs: FastSet<(u32, u32)> = FastSet::default();
        let mut org_units: FastMap<(u32, u32), i64> = FastMap::default();
        let mut groups: FastMap<(u32, u32), u32> = FastMap::default();
        let mut mine: Vec<(u32, u32, bool)> = Vec::new();
        for (user, facts) in self.by_user.iter().enumerate() {
            mine.clear();
            let mut last: Option<(Key, u32)> = None;
            for fact in facts {
                if !plan.admits(fact) {
                    continue;
                }
                let key = plan.key(fact);
                let cell = match last {
                    Some((last_key, cell)) if last_key == key => cell,
                    _ => {
                        let cell = *keys.entry(key).or_insert_with(|| {
                            found.push(key);
                            users.push(Counted::default());
                            new_users.push(Counted::default());
                            u32::try_from(found.len() - 1).unwrap_or(u32::MAX)
                        });
                        last = Some((key, cell));
                        cell
                    }
                };
                if want_units {
                    *org_units.entry((cell, fact.org)).or_default() += fact.units;
                }
                if want_groups {
                    groups
                        .entry((cell, fact.request))
                        .and_modify(|org| *org = self.first_org(*org, fact.org))
                        .or_insert(fact.org);
                }
                mine.push((cell, fact.org, fact.new_user));
            }
            if !want_users || mine.is_empty() {
                continue;
            }
            // The user once per cell, with the first of its organisations there (by id).
            mine.sort_unstable_by_key(|(cell, _, _)| *cell);
            let user_rkey = u64::from(self.user_rkeys[user]);
            let mut index = 0;
            while index < mine.len() {
                let cell = mine[index].0;
                let (mut org, mut new) = (mine[index].1, mine[index].2);
                index += 1;
                while index < mine.len() && mine[index].0 == cell {
                    org = self.first_org(org, mine[index].1);
                    new |= mine[index].2;
                    index += 1;
                }
                count(&mut users[cell as usize], user_rkey, user_orgs.insert((cell, org)));
                if new {
                    count(&mut new_users[cell as usize], user_rkey, new_orgs.insert((cell, org)));
                }
            }
        }
        let mut units: Vec<Vec<(i64, u32)>> = vec![Vec::new(); found.len()];
        for ((cell, org), total) in org_units {
            if total > 0 {
                units[cell as usize].push((total, self.org_rkeys[org as usize]));
            }
        }
        let mut user_groups = vec![Counted::default(); found.len()];
        let mut group_orgs: FastSet<(u32, u32)> = FastSet::default();
        for ((cell, request), org) in groups {
            let rkey = u64::from(self.request_rkeys[request as usize]);
            count(&mut user_groups[cell as usize], rkey, group_orgs.insert((cell, org)));
        }
        let made = found.iter().enumerate().map(|(index, key)| {
            let mut cell = Cell::default();
            if want_units {
                cell.units_used = summed(&mut units[index]);
            }
            if want_users {
                cell.users = users[index];
                cell.new_users = new_users[index];
            }
            if want_groups {
                cell.user_groups = user_groups[index];
            }
            (plan.labels(self, key), cell)
        });
        if cells.is_empty() {
            // Built from sorted keys at once, rather than one insertion at a time.
            *cells = made.collect();
            return;
        }
        for (labels, made) in made {
            let cell = cells.entry(labels).or_default();
            cell.units_used = made.units_used;
            cell.users = made.users;
            cell.new_users = made.new_users;
            cell.user_groups = made.user_groups;
        }
    }

    /// Of two organisations, the one whose id sorts first.
    fn first_org(&self, one: u32, other: u32) -> u32 {
        if one == other || self.organisations.text(one) <= self.organisations.text(other) {
            one
        } else {
            other
        }
    }
}

fn number_with_key(dictionary: &mut Dictionary, keys: &mut Vec<u32>, text: &str, key: u32) -> u32 {
    let number = dictionary.number(text);
    if keys.len() <= number as usize {
        keys.push(key);
    }
    number
}

fn count(counted: &mut Counted, record_key: u64, new_organisation: bool) {
    counted.count += 1;
    counted.key_sum = counted.key_sum.wrapping_add(record_key);
    if new_organisation {
        counted.organisations += 1;
    }
}

/// Organisations' units in a cell, as the dominance rules read them.
fn summed(contributions: &mut [(i64, u32)]) -> Summed {
    contributions.sort_unstable_by_key(|(units, _)| std::cmp::Reverse(*units));
    Summed {
        total: contributions.iter().map(|(units, _)| units).sum(),
        largest: contributions.first().map_or(0, |(units, _)| *units),
        second: contributions.get(1).map_or(0, |(units, _)| *units),
        organisations: contributions.len() as u64,
        key_sum: contributions
            .iter()
            .fold(0u64, |sum, (_, key)| sum.wrapping_add(u64::from(*key))),
    }
}

/// A cell's group values as numbers, in the order of the query's `group_by`.
type Key = [u32; Dimension::ALL.len()];

/// What a query needs, worked out once before the pass over the facts.
struct Plan<'query> {
    query: &'query StatisticsQuery,
    /// Per installation number: its infrastructure's and its provider's country's number in
    /// `site_texts`, whether the filters admit it, and whether the scope does by its site.
    infrastructure: Vec<u32>,
    provider_country: Vec<u32>,
    installation_admitted: Vec<bool>,
    provided_in_scope: Vec<bool>,
    site_texts: Dictionary,
    /// Per label number: whether each label filter admits it (None: no filter).
    label_filters: Vec<(Dimension, Vec<bool>)>,
    /// The scope's country as a label number: `None` for everything, `Some(None)` for a
    /// country with no user here.
    home_in_scope: Option<Option<u32>>,
}

impl<'query> Plan<'query> {
    fn new(facts: &UsageFacts, query: &'query StatisticsQuery, scope: &Scope, sites: &HashMap<String, Site>) -> Self {
        let mut site_texts = Dictionary::default();
        let unknown = Site::default();
        let mut plan = Plan {
            query,
            infrastructure: Vec::with_capacity(facts.installations.len()),
            provider_country: Vec::with_capacity(facts.installations.len()),
            installation_admitted: Vec::with_capacity(facts.installations.len()),
            provided_in_scope: Vec::with_capacity(facts.installations.len()),
            site_texts: Dictionary::default(),
            label_filters: Vec::new(),
            home_in_scope: match scope {
                Scope::Everything => None,
                Scope::Country(country) => Some(facts.labels.find(country)),
            },
        };
        let admits = |dimension: Dimension, value: &str| {
            query
                .filters
                .get(&dimension)
                .is_none_or(|values| values.iter().any(|allowed| allowed == value))
        };
        for installation in &facts.installations.texts {
            let site = sites.get(&**installation).unwrap_or(&unknown);
            plan.infrastructure.push(site_texts.number(&site.infrastructure_id));
            plan.provider_country.push(site_texts.number(&site.provider_country));
            plan.installation_admitted.push(
                admits(Dimension::Installation, installation)
                    && admits(Dimension::Infrastructure, &site.infrastructure_id)
                    && admits(Dimension::ProviderCountry, &site.provider_country),
            );
            plan.provided_in_scope.push(match scope {
                Scope::Everything => true,
                Scope::Country(country) => site.provider_country == *country,
            });
        }
        plan.site_texts = site_texts;
        for (dimension, values) in &query.filters {
            if matches!(
                dimension,
                Dimension::HomeCountry
                    | Dimension::AccessMode
                    | Dimension::Lane
                    | Dimension::RequesterType
                    | Dimension::FundingScheme
            ) {
                let admitted = facts
                    .labels
                    .texts
                    .iter()
                    .map(|label| values.iter().any(|value| **value == **label))
                    .collect();
                plan.label_filters.push((*dimension, admitted));
            }
        }
        plan
    }

    fn admits(&self, fact: &Fact) -> bool {
        let installation = fact.installation as usize;
        if fact.period_start < self.query.from
            || fact.period_start >= self.query.to
            || !self.installation_admitted[installation]
        {
            return false;
        }
        if let Some(home) = self.home_in_scope
            && home != Some(fact.country)
            && !self.provided_in_scope[installation]
        {
            return false;
        }
        self.label_filters
            .iter()
            .all(|(dimension, admitted)| admitted[label_of(fact, *dimension) as usize])
    }

    fn key(&self, fact: &Fact) -> Key {
        let mut key = [0; Dimension::ALL.len()];
        for (slot, dimension) in key.iter_mut().zip(&self.query.group_by) {
            *slot = match dimension {
                Dimension::Installation => fact.installation,
                Dimension::Infrastructure => self.infrastructure[fact.installation as usize],
                Dimension::ProviderCountry => self.provider_country[fact.installation as usize],
                // YYYYMM, YYYYQ and YYYY, as in the labels.
                Dimension::Month => fact.month.unsigned_abs(),
                Dimension::Quarter => ((fact.month / 100) * 10 + (fact.month % 100 + 2) / 3).unsigned_abs(),
                Dimension::Year => (fact.month / 100).unsigned_abs(),
                label => label_of(fact, *label),
            };
        }
        key
    }

    /// The group values of a key, as the rows carry them.
    fn labels(&self, facts: &UsageFacts, key: &Key) -> Vec<String> {
        self.query
            .group_by
            .iter()
            .zip(key)
            .map(|(dimension, number)| {
                let period = i32::try_from(*number).unwrap_or(0);
                match dimension {
                    Dimension::Installation => facts.installations.text(*number).to_owned(),
                    Dimension::Infrastructure | Dimension::ProviderCountry => self.site_texts.text(*number).to_owned(),
                    Dimension::Month => period_label(*dimension, period),
                    Dimension::Quarter => period_label(*dimension, (period / 10) * 100 + (period % 10) * 3 - 2),
                    Dimension::Year => period_label(*dimension, period * 100 + 1),
                    _ => facts.labels.text(*number).to_owned(),
                }
            })
            .collect()
    }
}

fn label_of(fact: &Fact, dimension: Dimension) -> u32 {
    match dimension {
        Dimension::HomeCountry => fact.country,
        Dimension::AccessMode => fact.mode,
        Dimension::Lane => fact.lane,
        Dimension::RequesterType => fact.requester,
        Dimension::FundingScheme => fact.scheme,
        _ => 0,
    }
}

/// A multiplicative hash for the small integer keys of one query (FxHash's step): the keys are
/// this process's own numbers, not input an attacker picks.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::query::QueryInput;

    const JAN_2026: i64 = 1_767_225_600_000_000;
    const DAY: i64 = 86_400_000_000;

    fn record<'a>(user: &'a str, org: &'a str, installation: &'a str, day: i64, units: i64) -> FactInput<'a> {
        FactInput {
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
}
