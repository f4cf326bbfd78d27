//! Usage facts held in memory: every usage record reduced to what statistics group, filter and
//! count by, its texts replaced by small numbers, kept per user. A query's usage cells come from
//! one pass over them: each user's records are grouped into the query's cells on their own
//! (distinct users need nothing more), organisations' units and user groups are summed per cell
//! in hash maps. This is the work a SQL aggregate does over every record for every question,
//! done on data already laid out for it (docs/benchmarks.md has the figures).
//!
//! The store keeps the facts current: it loads them from the usage records batch by batch, in
//! the order batches were written, and adds each batch it writes itself as it commits.

mod plan;

use std::collections::{BTreeMap, HashMap};

use super::Measure;
use super::cells::{Cell, Counted, Summed};
use super::query::{Scope, StatisticsQuery};
use plan::{FastMap, FastSet, Key, Plan};

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
    /// The months the facts span, as year × 12 + month − 1 (empty for none).
    months: std::ops::Range<i32>,
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
            months: 0..0,
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
        let month = record.month / 100 * 12 + record.month % 100 - 1;
        self.months = if self.months.is_empty() {
            month..month + 1
        } else {
            self.months.start.min(month)..self.months.end.max(month + 1)
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
        let wants = Wants {
            units: want_units,
            users: want_users,
            groups: want_groups,
        };
        // Cells are found by a number packing the group values when they fit in 128 bits
        // (compared and hashed far faster than the values one by one), else by the values.
        let Tallies {
            found,
            users,
            new_users,
            org_units,
            groups,
        } = match plan.packing() {
            Some(widths) => self.tally(&plan, &wants, |fact| plan.packed(fact, &widths)),
            None => self.tally(&plan, &wants, |fact| plan.key(fact)),
        };
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
        // Cells in the order of their labels, found by comparing numbers rather than texts, so
        // that the map is built from sorted entries at once.
        let ranked = plan.ranks(self);
        let rank_of = |key: &Key| -> Key {
            let mut ranks = *key;
            for (rank, table) in ranks.iter_mut().zip(&ranked) {
                if let Some(table) = table {
                    *rank = table[*rank as usize];
                }
            }
            ranks
        };
        let mut order: Vec<(Key, usize)> = found
            .iter()
            .enumerate()
            .map(|(index, key)| (rank_of(key), index))
            .collect();
        order.sort_unstable();
        let made = order.into_iter().map(|(_, index)| {
            let key = &found[index];
            let mut cell = Cell::default();
            if want_units {
                cell.units_used = Summed::of(&mut units[index]);
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

    /// One pass over the facts: the cells the query's records fall in (by `code`, one number
    /// per cell), each user once per cell, and organisations' units and user groups per cell.
    fn tally<K: std::hash::Hash + Eq + Copy>(
        &self,
        plan: &Plan<'_>,
        wants: &Wants,
        code: impl Fn(&Fact) -> K,
    ) -> Tallies {
        let mut keys: FastMap<K, u32> = FastMap::default();
        let mut found: Vec<Key> = Vec::new();
        let mut users: Vec<Counted> = Vec::new();
        let mut new_users: Vec<Counted> = Vec::new();
        let mut user_orgs: FastSet<(u32, u32)> = FastSet::default();
        let mut new_orgs: FastSet<(u32, u32)> = FastSet::default();
        let mut org_units: FastMap<(u32, u32), i64> = FastMap::default();
        let mut groups: FastMap<(u32, u32), u32> = FastMap::default();
        let mut mine: Vec<Seen> = Vec::new();
        for (user, facts) in self.by_user.iter().enumerate() {
            mine.clear();
            let mut last: Option<(K, u32)> = None;
            for fact in facts {
                if !plan.admits(fact) {
                    continue;
                }
                let key = code(fact);
                let cell = match last {
                    Some((last_key, cell)) if last_key == key => cell,
                    _ => {
                        let cell = *keys.entry(key).or_insert_with(|| {
                            found.push(plan.key(fact));
                            users.push(Counted::default());
                            new_users.push(Counted::default());
                            u32::try_from(found.len() - 1).unwrap_or(u32::MAX)
                        });
                        last = Some((key, cell));
                        cell
                    }
                };
                mine.push(Seen {
                    cell,
                    org: fact.org,
                    request: fact.request,
                    new_user: fact.new_user,
                    units: fact.units,
                });
            }
            // The user's records per cell, organisation and user group: the maps shared by
            // all users are touched once per run, not once per record.
            mine.sort_unstable_by_key(|seen| (seen.cell, seen.org, seen.request));
            let user_rkey = u64::from(self.user_rkeys[user]);
            for in_cell in mine.chunk_by(|one, other| one.cell == other.cell) {
                let cell = in_cell[0].cell;
                for of_org in in_cell.chunk_by(|one, other| one.org == other.org) {
                    if wants.units {
                        *org_units.entry((cell, of_org[0].org)).or_default() +=
                            of_org.iter().map(|seen| seen.units).sum::<i64>();
                    }
                    if wants.groups {
                        for in_group in of_org.chunk_by(|one, other| one.request == other.request) {
                            groups
                                .entry((cell, in_group[0].request))
                                .and_modify(|org| *org = self.first_org(*org, in_group[0].org))
                                .or_insert(in_group[0].org);
                        }
                    }
                }
                if wants.users {
                    // The user once per cell, with the first of its organisations there (by id).
                    let org = in_cell
                        .iter()
                        .map(|seen| seen.org)
                        .reduce(|one, other| self.first_org(one, other))
                        .unwrap_or_default();
                    count(&mut users[cell as usize], user_rkey, user_orgs.insert((cell, org)));
                    if in_cell.iter().any(|seen| seen.new_user) {
                        count(&mut new_users[cell as usize], user_rkey, new_orgs.insert((cell, org)));
                    }
                }
            }
        }
        Tallies {
            found,
            users,
            new_users,
            org_units,
            groups,
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

/// Which usage measures a query asks for.
struct Wants {
    units: bool,
    users: bool,
    groups: bool,
}

/// What one pass over the facts adds up, per cell (cells numbered in the order found).
struct Tallies {
    found: Vec<Key>,
    users: Vec<Counted>,
    new_users: Vec<Counted>,
    org_units: FastMap<(u32, u32), i64>,
    groups: FastMap<(u32, u32), u32>,
}

/// One record of a user, as a query sees it.
struct Seen {
    cell: u32,
    org: u32,
    request: u32,
    new_user: bool,
    units: i64,
}

#[cfg(test)]
mod tests;
