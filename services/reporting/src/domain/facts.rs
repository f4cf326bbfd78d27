//! Usage facts held in memory: every usage record reduced to what statistics group, filter and
//! count by, its texts replaced by small numbers, kept per organisation and user. A query's usage
//! cells come from one pass over them (`facts/tally.rs`): each user's records are grouped into
//! the query's cells on their own (distinct users need nothing more), each organisation's units
//! are summed per cell before they are added. This is the work a SQL aggregate does over every record for every question,
//! done on data already laid out for it (docs/benchmarks.md has the figures).
//!
//! The store keeps the facts current: it loads them from the usage records batch by batch, in
//! the order batches were written, and adds each batch it writes itself as it commits. The
//! facts also remember each record's id and values (by digest) and the units recorded per
//! request and installation: what the checks of the next records (TA-10) read.

mod plan;
mod tally;

use std::collections::{BTreeMap, HashMap};

use super::Measure;
use super::cells::{Cell, Counted, Summed};
use super::query::{Scope, StatisticsQuery};
use plan::{FastMap, FastSet, Key, Plan};
use tally::{Tallies, UserFacts};

/// One usage record as the facts take it.
#[derive(Debug, Clone, Copy)]
pub struct FactInput<'record> {
    /// The record id's digest ([`super::usage::UsageRecord::id_digest`]).
    pub record: u128,
    /// The leading bits of the record's fingerprint.
    pub fingerprint: u128,
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

/// Whose record key [`UsageFacts::known_key`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownKey {
    User,
    Organisation,
    UserGroup,
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

/// Cell codes of at most this many bits index an array (of 4 bytes per possible code) rather
/// than a hash map.
const DENSE_CODE_BITS: u32 = 18;

/// One record, its organisation and user implied by the lists it sits in.
#[derive(Debug, Clone, Copy)]
struct Fact {
    period_start: i64,
    units: i64,
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
    /// Per organisation, the records of each of its users, a user's records together.
    by_org: Vec<Vec<UserFacts>>,
    /// Where a user's records under an organisation are in `by_org`.
    places: FastMap<(u32, u32), u32>,
    /// Per user, the first organisation it recorded usage for, and whether it has others.
    user_orgs: Vec<(u32, bool)>,
    /// How many users have records under more than one organisation.
    multi_org_users: usize,
    /// Each record's fingerprint by its id's digest.
    fingerprints: FastMap<u128, u128>,
    /// Units recorded per (request, installation).
    used: FastMap<(u32, u32), i64>,
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
            by_org: Vec::new(),
            places: FastMap::default(),
            user_orgs: Vec::new(),
            multi_org_users: 0,
            fingerprints: FastMap::default(),
            used: FastMap::default(),
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

    /// The fingerprint (leading bits) of the record whose id has `digest`, if it was recorded.
    pub fn fingerprint_of(&self, digest: u128) -> Option<u128> {
        self.fingerprints.get(&digest).copied()
    }

    /// The units recorded so far for `request_id` at `installation_id`.
    pub fn used_units(&self, request_id: &str, installation_id: &str) -> i64 {
        let (Some(request), Some(installation)) =
            (self.requests.find(request_id), self.installations.find(installation_id))
        else {
            return 0;
        };
        self.used.get(&(request, installation)).copied().unwrap_or(0)
    }

    /// The record key of a user, an organisation or a user group already known, by its id.
    pub fn known_key(&self, kind: KnownKey, id: &str) -> Option<u32> {
        let (dictionary, keys) = match kind {
            KnownKey::User => (&self.users, &self.user_rkeys),
            KnownKey::Organisation => (&self.organisations, &self.org_rkeys),
            KnownKey::UserGroup => (&self.requests, &self.request_rkeys),
        };
        dictionary
            .find(id)
            .and_then(|number| keys.get(number as usize).copied())
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
        let installation = self.installations.number(record.installation_id);
        self.fingerprints.insert(record.record, record.fingerprint);
        let used = self.used.entry((request, installation)).or_default();
        *used = used.saturating_add(record.units_used);
        let fact = Fact {
            period_start: record.period_start,
            units: record.units_used,
            request,
            installation,
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
        self.file(user, org, fact);
        self.records += 1;
    }

    /// Files a record under its organisation and user.
    fn file(&mut self, user: u32, org: u32, fact: Fact) {
        match self.user_orgs.get_mut(user as usize) {
            None => self.user_orgs.push((org, false)),
            Some((first, multi)) => {
                if *first != org && !*multi {
                    *multi = true;
                    self.multi_org_users += 1;
                }
            }
        }
        if self.by_org.len() <= org as usize {
            self.by_org.resize_with(org as usize + 1, Vec::new);
        }
        let users = &mut self.by_org[org as usize];
        let place = *self.places.entry((org, user)).or_insert_with(|| {
            users.push(UserFacts {
                user,
                facts: Vec::new(),
            });
            u32::try_from(users.len() - 1).unwrap_or(u32::MAX)
        });
        users[place as usize].facts.push(fact);
    }

    /// Adds the usage measures of `query` within `scope` to `cells`, one cell per group that
    /// has records: the same figures as grouping the records per group, organisation and user.
    pub fn add_cells(
        &self,
        query: &StatisticsQuery,
        scope: &Scope,
        sites: &HashMap<String, Site>,
        cells: &mut BTreeMap<Vec<String>, Box<Cell>>,
    ) {
        self.add_cells_with(query, scope, sites, cells, self.parts_for_pass(), DENSE_CODE_BITS);
    }

    /// [`Self::add_cells`] with the pass over the facts split in `parts`, and cell codes of at
    /// most `dense_bits` bits indexing an array: the same cells whatever the split and index.
    fn add_cells_with(
        &self,
        query: &StatisticsQuery,
        scope: &Scope,
        sites: &HashMap<String, Site>,
        cells: &mut BTreeMap<Vec<String>, Box<Cell>>,
        parts: usize,
        dense_bits: u32,
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
        // (compared and hashed far faster than the values one by one; small enough, it indexes
        // an array), else by the values.
        let Tallies {
            found,
            users,
            new_users,
            units: mut org_units,
            groups,
        } = match plan.packing() {
            Some(widths) => {
                let bits: u32 = widths.iter().sum();
                let dense = (bits <= dense_bits).then_some(1 << bits);
                self.tally(&plan, &wants, |fact| plan.packed(fact, &widths), dense, parts)
            }
            None => self.tally(&plan, &wants, |fact| plan.key(fact), None, parts),
        };
        org_units.resize_with(found.len(), Vec::new);
        let mut units = org_units;
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
            (plan.labels(self, key), Box::new(cell))
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

/// Which usage measures a query asks for.
struct Wants {
    units: bool,
    users: bool,
    groups: bool,
}

#[cfg(test)]
mod tests;
