//! One pass over the facts for a query, organisation by organisation. What an organisation adds
//! to a cell (its units, whether its users are there) is gathered in a small array indexed by
//! cell and added once when the organisation is done, rather than looked up in a map keyed by
//! (cell, organisation) for every user and cell: those lookups missed the processor's caches and
//! were most of a query's time. A user is counted once per cell, with the first of its
//! organisations there (by id); the few users with records under several organisations are
//! counted after the pass, the rest as they go.

use std::hash::Hash;

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

/// One record of a user, as a query sees it.
struct Seen {
    cell: u32,
    request: u32,
    new_user: bool,
    units: i64,
}

/// What the organisation at hand adds to one cell.
#[derive(Debug, Default, Clone, Copy)]
struct Local {
    units: i64,
    touched: bool,
    user: bool,
    new_user: bool,
}

/// A user with several organisations, present in a cell under one of them.
struct Deferred {
    user: u32,
    cell: u32,
    org: u32,
    new_user: bool,
}

impl UsageFacts {
    /// The cells the query's records fall in (by `code`, one number per cell) and their tallies.
    pub(super) fn tally<K: Hash + Eq + Copy>(
        &self,
        plan: &Plan<'_>,
        wants: &Wants,
        code: impl Fn(&Fact) -> K,
    ) -> Tallies {
        let mut keys: FastMap<K, u32> = FastMap::default();
        let mut tallies = Tallies {
            found: Vec::new(),
            users: Vec::new(),
            new_users: Vec::new(),
            units: Vec::new(),
            groups: FastMap::default(),
        };
        let mut local: Vec<Local> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        let mut mine: Vec<Seen> = Vec::new();
        let mut deferred: Vec<Deferred> = Vec::new();
        // The (cell, organisation) pairs whose users were counted, kept only when some user has
        // several organisations: its cells are counted against them afterwards.
        let track_pairs = self.multi_org_users > 0;
        let mut user_orgs: FastSet<(u32, u32)> = FastSet::default();
        let mut new_orgs: FastSet<(u32, u32)> = FastSet::default();
        for (org, users_of_org) in self.by_org.iter().enumerate() {
            let org = u32::try_from(org).unwrap_or(u32::MAX);
            for UserFacts { user, facts } in users_of_org {
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
                    mine.push(Seen {
                        cell,
                        request: fact.request,
                        new_user: fact.new_user,
                        units: fact.units,
                    });
                }
                mine.sort_unstable_by_key(|seen| (seen.cell, seen.request));
                let user_rkey = u64::from(self.user_rkeys[*user as usize]);
                let several_orgs = self.user_orgs[*user as usize].1;
                for in_cell in mine.chunk_by(|one, other| one.cell == other.cell) {
                    let cell = in_cell[0].cell;
                    let here = &mut local[cell as usize];
                    if !here.touched {
                        here.touched = true;
                        touched.push(cell);
                    }
                    if wants.units {
                        here.units = in_cell
                            .iter()
                            .fold(here.units, |sum, seen| sum.saturating_add(seen.units));
                    }
                    if wants.groups {
                        for in_group in in_cell.chunk_by(|one, other| one.request == other.request) {
                            tallies
                                .groups
                                .entry((cell, in_group[0].request))
                                .and_modify(|first| *first = self.first_org(*first, org))
                                .or_insert(org);
                        }
                    }
                    if wants.users {
                        let new_user = in_cell.iter().any(|seen| seen.new_user);
                        if several_orgs {
                            deferred.push(Deferred {
                                user: *user,
                                cell,
                                org,
                                new_user,
                            });
                        } else {
                            count(&mut tallies.users[cell as usize], user_rkey, !here.user);
                            here.user = true;
                            if new_user {
                                count(&mut tallies.new_users[cell as usize], user_rkey, !here.new_user);
                                here.new_user = true;
                            }
                        }
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
                        user_orgs.insert((cell, org));
                    }
                    if here.new_user {
                        new_orgs.insert((cell, org));
                    }
                }
            }
        }
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
