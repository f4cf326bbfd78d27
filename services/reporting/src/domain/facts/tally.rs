//! One pass over the facts for a query, organisation by organisation. What an organisation adds
//! to a cell (its units, whether its users are there) is gathered in a small array indexed by
//! cell and added once when the organisation is done, rather than looked up in a map keyed by
//! (cell, organisation) for every user and cell: those lookups missed the processor's caches and
//! were most of a query's time. A user is counted once per cell, when the first of its records
//! falls there (the cell remembers the last user it counted), with the first of its
//! organisations there (by id); the few users with records under several organisations are
//! counted after the pass, the rest as they go.
//!
//! A large pass is split: each part takes whole organisations (so an organisation's figures and
//! its single-organisation users are counted in one part) and runs on a thread of its own; the
//! parts' cells are then merged by their codes, and the users of several organisations counted
//! last, over the merged cells. Cells are found by their code in a plain array when the codes
//! are small enough (`CellIds::Dense`), else in a hash map.

use std::hash::Hash;
use std::ops::Range;

use super::plan::{FastMap, FastSet, Key, Plan};
use super::{Fact, UsageFacts, Wants, count};
use crate::domain::cells::Counted;

/// One user's records under one organisation.
#[derive(Debug)]
pub(super) struct UserFacts {
    pub(super) user: u32,
    pub(super) facts: Vec<Fact>,
}

/// What one pass adds up, per cell (cells numbered in the order found).
pub(super) struct Tallies {
    pub(super) found: Vec<Key>,
    pub(super) users: Vec<Counted>,
    pub(super) new_users: Vec<Counted>,
    /// Per cell, each organisation's units (when above zero) with its record key.
    pub(super) units: Vec<Vec<(i64, u32)>>,
    /// Per (cell, user group), the first organisation (by id) of the group's users there.
    pub(super) groups: FastMap<(u32, u32), u32>,
}

/// A cell's code: what a pass finds cells by.
pub(super) trait CellCode: Hash + Eq + Copy + Send + Sync {
    /// The code as an index into a dense array, when the plan made codes small enough.
    fn index(self) -> usize;
}

impl CellCode for u128 {
    fn index(self) -> usize {
        usize::try_from(self).unwrap_or(usize::MAX)
    }
}

impl CellCode for Key {
    fn index(self) -> usize {
        usize::MAX
    }
}

/// Cells by their code.
enum CellIds<K> {
    /// Indexed by the code itself: every code is below the array's length.
    Dense(Vec<u32>),
    Hashed(FastMap<K, u32>),
}

impl<K: CellCode> CellIds<K> {
    /// `dense`: the number of possible codes when they index an array, else `None`.
    fn new(dense: Option<usize>) -> Self {
        match dense {
            Some(codes) => CellIds::Dense(vec![u32::MAX; codes]),
            None => CellIds::Hashed(FastMap::default()),
        }
    }

    /// The cell of `code`, numbered by `add` when it is new.
    fn find_or_add(&mut self, code: K, add: impl FnOnce() -> u32) -> u32 {
        match self {
            CellIds::Dense(cells) => {
                let cell = &mut cells[code.index()];
                if *cell == u32::MAX {
                    *cell = add();
                }
                *cell
            }
            CellIds::Hashed(cells) => *cells.entry(code).or_insert_with(add),
        }
    }
}

/// What the organisation at hand adds to one cell, and which user's list of records was last
/// counted there (lists are numbered from 1).
#[derive(Debug, Default, Clone, Copy)]
struct Local {
    units: i64,
    touched: bool,
    user: bool,
    new_user: bool,
    user_list: u32,
    new_user_list: u32,
    /// The last (list, user group) added to the cell's groups.
    group: (u32, u32),
}

/// A user with several organisations, present in a cell under one of them.
struct Deferred {
    user: u32,
    cell: u32,
    org: u32,
    new_user: bool,
}

/// What one part of a pass adds up, its cells numbered in the order it found them.
struct Part<K> {
    codes: Vec<K>,
    tallies: Tallies,
    deferred: Vec<Deferred>,
    /// The (cell, organisation) pairs whose users were counted, kept only when some user has
    /// several organisations: its cells are counted against them afterwards.
    user_orgs: FastSet<(u32, u32)>,
    new_orgs: FastSet<(u32, u32)>,
}

/// Records below which a part is not worth a thread of its own.
const RECORDS_PER_PART: usize = 100_000;

impl UsageFacts {
    /// How many parts a pass over the facts is split in: one per processor, each with enough
    /// records to pay for its thread.
    pub(super) fn parts_for_pass(&self) -> usize {
        let processors = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        (self.records / RECORDS_PER_PART).clamp(1, processors.min(8))
    }

    /// The cells the query's records fall in (by `code`, one per cell) and their tallies, in
    /// `parts` parts. `dense`: the number of possible codes when they index an array.
    pub(super) fn tally<K: CellCode>(
        &self,
        plan: &Plan<'_>,
        wants: &Wants,
        code: impl Fn(&Fact) -> K + Sync,
        dense: Option<usize>,
        parts: usize,
    ) -> Tallies {
        let ranges = self.org_ranges(parts);
        let code = &code;
        let mut parts: Vec<Part<K>> = std::thread::scope(|scope| {
            let others: Vec<_> = ranges[1..]
                .iter()
                .map(|orgs| scope.spawn(move || self.tally_part(orgs.clone(), plan, wants, code, dense)))
                .collect();
            let first = self.tally_part(ranges[0].clone(), plan, wants, code, dense);
            std::iter::once(first)
                .chain(
                    others
                        .into_iter()
                        .map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
                )
                .collect()
        });
        let mut merged = parts.remove(0);
        if !parts.is_empty() {
            let mut ids = CellIds::new(dense);
            for (cell, code) in merged.codes.iter().enumerate() {
                ids.find_or_add(*code, || u32::try_from(cell).unwrap_or(u32::MAX));
            }
            for part in parts {
                self.merge(&mut merged, &mut ids, part);
            }
        }
        self.count_deferred(merged)
    }

    /// Organisations in `parts` ranges of about as many records each (fewer ranges when there
    /// are fewer organisations).
    fn org_ranges(&self, parts: usize) -> Vec<Range<usize>> {
        let per_part = self.records.div_ceil(parts.max(1)).max(1);
        let mut ranges = Vec::with_capacity(parts);
        let (mut start, mut records) = (0, 0);
        for (org, users) in self.by_org.iter().enumerate() {
            records += users.iter().map(|user| user.facts.len()).sum::<usize>();
            if records >= per_part && ranges.len() + 1 < parts {
                ranges.push(start..org + 1);
                (start, records) = (org + 1, 0);
            }
        }
        ranges.push(start..self.by_org.len());
        ranges
    }

    fn tally_part<K: CellCode>(
        &self,
        orgs: Range<usize>,
        plan: &Plan<'_>,
        wants: &Wants,
        code: &(impl Fn(&Fact) -> K + Sync),
        dense: Option<usize>,
    ) -> Part<K> {
        let mut ids = CellIds::new(dense);
        let mut part = Part {
            codes: Vec::new(),
            tallies: Tallies {
                found: Vec::new(),
                users: Vec::new(),
                new_users: Vec::new(),
                units: Vec::new(),
                groups: FastMap::default(),
            },
            deferred: Vec::new(),
            user_orgs: FastSet::default(),
            new_orgs: FastSet::default(),
        };
        let tallies = &mut part.tallies;
        let mut local: Vec<Local> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        let track_pairs = self.multi_org_users > 0;
        // Each user's list of records has its own number, so that a cell can tell whether the
        // list at hand was already counted there.
        let mut list = 0u32;
        for (org, users_of_org) in self.by_org[orgs.clone()].iter().enumerate() {
            let org = u32::try_from(orgs.start + org).unwrap_or(u32::MAX);
            for UserFacts { user, facts } in users_of_org {
                list += 1;
                let user_rkey = u64::from(self.user_rkeys[*user as usize]);
                let several_orgs = self.user_orgs[*user as usize].1;
                let mut last: Option<(K, u32)> = None;
                for fact in facts {
                    if !plan.admits(fact) {
                        continue;
                    }
                    let key = code(fact);
                    let cell = match last {
                        Some((last_key, cell)) if last_key == key => cell,
                        _ => {
                            let cell = ids.find_or_add(key, || {
                                part.codes.push(key);
                                tallies.found.push(plan.key(fact));
                                tallies.users.push(Counted::default());
                                tallies.new_users.push(Counted::default());
                                tallies.units.push(Vec::new());
                                local.push(Local::default());
                                u32::try_from(tallies.found.len() - 1).unwrap_or(u32::MAX)
                            });
                            last = Some((key, cell));
                            cell
                        }
                    };
                    let here = &mut local[cell as usize];
                    if !here.touched {
                        here.touched = true;
                        touched.push(cell);
                    }
                    if wants.units {
                        here.units = here.units.saturating_add(fact.units);
                    }
                    if wants.groups && here.group != (list, fact.request) {
                        here.group = (list, fact.request);
                        tallies
                            .groups
                            .entry((cell, fact.request))
                            .and_modify(|first| *first = self.first_org(*first, org))
                            .or_insert(org);
                    }
                    if !wants.users {
                        continue;
                    }
                    let first_here = here.user_list != list;
                    let first_new_here = fact.new_user && here.new_user_list != list;
                    if !first_here && !first_new_here {
                        continue;
                    }
                    here.user_list = list;
                    if fact.new_user {
                        here.new_user_list = list;
                    }
                    if several_orgs {
                        part.deferred.push(Deferred {
                            user: *user,
                            cell,
                            org,
                            new_user: fact.new_user,
                        });
                        continue;
                    }
                    if first_here {
                        count(&mut tallies.users[cell as usize], user_rkey, !here.user);
                        here.user = true;
                    }
                    if first_new_here {
                        count(&mut tallies.new_users[cell as usize], user_rkey, !here.new_user);
                        here.new_user = true;
                    }
                }
            }
            // The organisation's figures, once per cell it is in.
            let org_rkey = self.org_rkeys[org as usize];
            for cell in touched.drain(..) {
                let here = std::mem::take(&mut local[cell as usize]);
                if here.units > 0 {
                    tallies.units[cell as usize].push((here.units, org_rkey));
                }
                if track_pairs {
                    if here.user {
                        part.user_orgs.insert((cell, org));
                    }
                    if here.new_user {
                        part.new_orgs.insert((cell, org));
                    }
                }
            }
        }
        part
    }

    /// Adds `part` to `merged`: its cells found by their codes in `ids` (the merged cells'),
    /// new ones numbered after them. Organisations are in one part each, so their figures add.
    fn merge<K: CellCode>(&self, merged: &mut Part<K>, ids: &mut CellIds<K>, part: Part<K>) {
        let into = &mut merged.tallies;
        let Tallies {
            found,
            users,
            new_users,
            units,
            groups,
        } = part.tallies;
        let mut cells = Vec::with_capacity(found.len());
        for (((code, key), (users, new_users)), units) in part
            .codes
            .into_iter()
            .zip(found)
            .zip(users.into_iter().zip(new_users))
            .zip(units)
        {
            let cell = ids.find_or_add(code, || {
                merged.codes.push(code);
                into.found.push(key);
                into.users.push(Counted::default());
                into.new_users.push(Counted::default());
                into.units.push(Vec::new());
                u32::try_from(into.found.len() - 1).unwrap_or(u32::MAX)
            });
            let at = cell as usize;
            add_counted(&mut into.users[at], users);
            add_counted(&mut into.new_users[at], new_users);
            into.units[at].extend(units);
            cells.push(cell);
        }
        for ((cell, request), org) in groups {
            into.groups
                .entry((cells[cell as usize], request))
                .and_modify(|first| *first = self.first_org(*first, org))
                .or_insert(org);
        }
        merged
            .deferred
            .extend(part.deferred.into_iter().map(|deferred| Deferred {
                cell: cells[deferred.cell as usize],
                ..deferred
            }));
        let moved = |(cell, org): (u32, u32)| (cells[cell as usize], org);
        merged.user_orgs.extend(part.user_orgs.into_iter().map(moved));
        merged.new_orgs.extend(part.new_orgs.into_iter().map(moved));
    }

    /// Counts the users of several organisations, each once per cell, with the first of its
    /// organisations there.
    fn count_deferred<K>(&self, part: Part<K>) -> Tallies {
        let Part {
            mut tallies,
            mut deferred,
            mut user_orgs,
            mut new_orgs,
            ..
        } = part;
        deferred.sort_unstable_by_key(|seen| (seen.user, seen.cell));
        for in_cell in deferred.chunk_by(|one, other| one.user == other.user && one.cell == other.cell) {
            let (user, cell) = (in_cell[0].user, in_cell[0].cell);
            let org = in_cell
                .iter()
                .map(|seen| seen.org)
                .reduce(|one, other| self.first_org(one, other))
                .unwrap_or_default();
            let user_rkey = u64::from(self.user_rkeys[user as usize]);
            count(
                &mut tallies.users[cell as usize],
                user_rkey,
                user_orgs.insert((cell, org)),
            );
            if in_cell.iter().any(|seen| seen.new_user) {
                count(
                    &mut tallies.new_users[cell as usize],
                    user_rkey,
                    new_orgs.insert((cell, org)),
                );
            }
        }
        tallies
    }
}

fn add_counted(into: &mut Counted, counted: Counted) {
    into.count += counted.count;
    into.key_sum = into.key_sum.wrapping_add(counted.key_sum);
    into.organisations += counted.organisations;
}
