//! How one query reads the facts: which records it admits (period, filters, scope), the cell
//! each falls in, and the cells' labels and order.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::{Dictionary, Fact, Site, UsageFacts};
use crate::domain::query::{Scope, StatisticsQuery};
use crate::domain::{Dimension, period_label};

/// A cell's group values as numbers, in the order of the query's `group_by`.
pub(super) type Key = [u32; Dimension::ALL.len()];

/// What a query needs, worked out once before the pass over the facts.
pub(super) struct Plan<'query> {
    query: &'query StatisticsQuery,
    /// Per installation number: its infrastructure's and its provider's country's number in
    /// `site_texts`, whether the filters admit it, and whether the scope does by its site.
    infrastructure: Vec<u32>,
    provider_country: Vec<u32>,
    installation_admitted: Vec<bool>,
    provided_in_scope: Vec<bool>,
    site_texts: Dictionary,
    /// How many installations and labels the facts hold, and the months they span (as
    /// year × 12 + month − 1).
    installations: usize,
    labels: usize,
    months: std::ops::Range<i32>,
    /// Per label number: whether each label filter admits it (None: no filter).
    label_filters: Vec<(Dimension, Vec<bool>)>,
    /// The scope's country as a label number: `None` for everything, `Some(None)` for a
    /// country with no user here.
    home_in_scope: Option<Option<u32>>,
}

impl<'query> Plan<'query> {
    pub(super) fn new(
        facts: &UsageFacts,
        query: &'query StatisticsQuery,
        scope: &Scope,
        sites: &HashMap<String, Site>,
    ) -> Self {
        let mut site_texts = Dictionary::default();
        let unknown = Site::default();
        let mut plan = Plan {
            query,
            infrastructure: Vec::with_capacity(facts.installations.len()),
            provider_country: Vec::with_capacity(facts.installations.len()),
            installation_admitted: Vec::with_capacity(facts.installations.len()),
            provided_in_scope: Vec::with_capacity(facts.installations.len()),
            site_texts: Dictionary::default(),
            installations: facts.installations.len(),
            labels: facts.labels.len(),
            months: facts.months.clone(),
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

    pub(super) fn admits(&self, fact: &Fact) -> bool {
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

    /// The bits each group value takes in a packed number, if they fit in 128 together.
    pub(super) fn packing(&self) -> Option<Vec<u32>> {
        let bits = |values: usize| usize::BITS - values.saturating_sub(1).leading_zeros();
        let widths: Vec<u32> = self
            .query
            .group_by
            .iter()
            .map(|dimension| match dimension {
                Dimension::Installation => bits(self.installations),
                Dimension::Infrastructure | Dimension::ProviderCountry => bits(self.site_texts.len()),
                Dimension::Month => bits(self.months.len()),
                Dimension::Quarter => bits(self.months.len() / 3 + 2),
                Dimension::Year => bits(self.months.len() / 12 + 2),
                _ => bits(self.labels),
            })
            .collect();
        (widths.iter().sum::<u32>() <= 128).then_some(widths)
    }

    /// The group values of a fact packed in one number, `widths` bits each; periods count from
    /// the first month of the facts.
    pub(super) fn packed(&self, fact: &Fact, widths: &[u32]) -> u128 {
        let first = self.months.start;
        let months = fact.month / 100 * 12 + fact.month % 100 - 1;
        let mut packed: u128 = 0;
        for (dimension, width) in self.query.group_by.iter().zip(widths) {
            let value = match dimension {
                Dimension::Installation => fact.installation,
                Dimension::Infrastructure => self.infrastructure[fact.installation as usize],
                Dimension::ProviderCountry => self.provider_country[fact.installation as usize],
                Dimension::Month => (months - first).unsigned_abs(),
                Dimension::Quarter => (months / 3 - first / 3).unsigned_abs(),
                Dimension::Year => (months / 12 - first / 12).unsigned_abs(),
                label => label_of(fact, *label),
            };
            packed = (packed << width) | u128::from(value);
        }
        packed
    }

    pub(super) fn key(&self, fact: &Fact) -> Key {
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

    /// Per group dimension, the rank of each of its numbers among its texts in sorted order
    /// (`None` for periods, whose numbers sort as their labels do).
    pub(super) fn ranks(&self, facts: &UsageFacts) -> Vec<Option<Vec<u32>>> {
        let ranks = |dictionary: &Dictionary| {
            let mut numbers: Vec<u32> = (0..u32::try_from(dictionary.len()).unwrap_or(u32::MAX)).collect();
            numbers.sort_unstable_by(|one, other| dictionary.text(*one).cmp(dictionary.text(*other)));
            let mut ranks = vec![0; numbers.len()];
            for (rank, number) in numbers.into_iter().enumerate() {
                ranks[number as usize] = u32::try_from(rank).unwrap_or(u32::MAX);
            }
            ranks
        };
        self.query
            .group_by
            .iter()
            .map(|dimension| match dimension {
                Dimension::Installation => Some(ranks(&facts.installations)),
                Dimension::Infrastructure | Dimension::ProviderCountry => Some(ranks(&self.site_texts)),
                dimension if dimension.is_period() => None,
                _ => Some(ranks(&facts.labels)),
            })
            .collect()
    }

    /// The group values of a key, as the rows carry them.
    pub(super) fn labels(&self, facts: &UsageFacts, key: &Key) -> Vec<String> {
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
pub(super) struct FastHasher(u64);

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

    fn write_u128(&mut self, value: u128) {
        self.write_u64(value as u64);
        self.write_u64((value >> 64) as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(super) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;
