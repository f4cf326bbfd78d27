//! The reporting service's operations: usage records in, statistics out. Each operation decides
//! who may do what (object-level: an operator records usage only at its own infrastructures, a
//! national funder sees only its country), calls the store, and applies the disclosure control
//! and the normalisation to what the store found.

mod reports;

use std::collections::HashMap;

use rti_platform::auth::{Principal, Role};

use crate::domain::cells::{Cell, Value};
use crate::domain::disclosure::DisclosureRules;
use crate::domain::query::{Scope, StatisticsQuery};
use crate::domain::researchers::{self, ResearcherCount, ResearcherTable};
use crate::domain::usage::UsageRecord;
use crate::domain::{Dimension, Measure};
use crate::error::{ReportingError, ReportingResult};
use crate::store::{IngestOutcome, ReportingStore};

#[derive(Debug, Clone)]
pub struct ReportingService {
    store: ReportingStore,
    rules: DisclosureRules,
}

/// One row of a statistics result, protected and normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct StatisticsRow {
    /// Per group: the dimension, its value and a readable label (empty when there is none).
    pub groups: Vec<(Dimension, String, String)>,
    /// Per measure asked: its value and, for normalised measures, the denominator used.
    pub values: Vec<(Measure, Value, Option<ResearcherCount>)>,
}

/// The rows of a result in the order of their groups, each protected and normalised as it is
/// read: a large result streams while its later rows are still to be made.
#[derive(Debug)]
pub struct StatisticsRows {
    cells: std::collections::btree_map::IntoIter<Vec<String>, Box<Cell>>,
    query: StatisticsQuery,
    rules: DisclosureRules,
    /// Names of installations and infrastructures by id, when the query groups by them.
    names: HashMap<String, String>,
    normalisation: Option<Normalisation>,
}

impl Iterator for StatisticsRows {
    type Item = StatisticsRow;

    fn next(&mut self) -> Option<StatisticsRow> {
        let (key, cell) = self.cells.next()?;
        let groups: Vec<(Dimension, String, String)> = self
            .query
            .group_by
            .iter()
            .zip(key)
            .map(|(dimension, value)| {
                let label = match dimension {
                    Dimension::Installation | Dimension::Infrastructure => {
                        self.names.get(&value).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                };
                (*dimension, value, label)
            })
            .collect();
        let denominator = self
            .normalisation
            .as_ref()
            .and_then(|normalisation| normalisation.denominator(&self.query, &groups));
        let values = self
            .query
            .measures
            .iter()
            .map(|measure| {
                let normalised = *measure == Measure::UsersPer1000Researchers;
                let value = cell.value(*measure, &self.rules, if normalised { denominator } else { None });
                let shown = match (&value, normalised) {
                    (Value::Decimal(_), true) => denominator.cloned(),
                    _ => None,
                };
                (*measure, value, shown)
            })
            .collect();
        Some(StatisticsRow { groups, values })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.cells.size_hint()
    }
}

impl ExactSizeIterator for StatisticsRows {}

/// What the normalisation has to go on for one query.
#[derive(Debug)]
struct Normalisation {
    table: ResearcherTable,
}

impl ReportingService {
    pub fn new(store: ReportingStore, rules: DisclosureRules) -> Self {
        Self { store, rules }
    }

    pub fn store(&self) -> &ReportingStore {
        &self.store
    }

    /// Loads the shipped researcher counts (NORM-1) into a store that has none yet.
    pub async fn load_shipped_researcher_counts(&self) -> ReportingResult<()> {
        if !self.store.has_researcher_counts().await? {
            self.store.store_researcher_counts(&researchers::shipped()).await?;
        }
        Ok(())
    }

    /// Checks and keeps a batch of usage records: an operator only at infrastructures its
    /// token lists, an admin anywhere.
    pub async fn record_usage(&self, caller: &Principal, records: &[UsageRecord]) -> ReportingResult<IngestOutcome> {
        if !caller.is_admin() && !caller.has_role(Role::Operator) {
            return Err(ReportingError::PermissionDenied(
                "usage is recorded by the operator of the installation, or an admin".into(),
            ));
        }
        let may_record =
            |infrastructure: Option<&str>| caller.is_admin() || infrastructure.is_some_and(|id| caller.operates(id));
        self.store.record_usage(records, may_record, &caller.subject).await
    }

    /// The statistics of `query` that `caller` may see, protected and normalised.
    pub async fn statistics(&self, caller: &Principal, query: &StatisticsQuery) -> ReportingResult<StatisticsRows> {
        self.statistics_in(&scope_of(caller)?, query).await
    }

    async fn statistics_in(&self, scope: &Scope, query: &StatisticsQuery) -> ReportingResult<StatisticsRows> {
        let cells = self.store.statistics(query, scope).await?;
        let names = if query
            .group_by
            .iter()
            .any(|dimension| matches!(dimension, Dimension::Installation | Dimension::Infrastructure))
        {
            self.store.names().await?
        } else {
            Default::default()
        };
        let normalisation = if query.measures.contains(&Measure::UsersPer1000Researchers) {
            Some(Normalisation {
                table: ResearcherTable::new(self.store.researcher_counts(None).await?),
            })
        } else {
            None
        };
        Ok(StatisticsRows {
            cells: cells.into_iter(),
            query: query.clone(),
            rules: self.rules.clone(),
            names,
            normalisation,
        })
    }

    /// Stores the researcher counts of a publisher's file (or the shipped layout).
    pub async fn import_researcher_counts(&self, content: &str, source: &str) -> ReportingResult<Vec<ResearcherCount>> {
        let counts = researchers::parse_any(content, source).map_err(|error| {
            ReportingError::Invalid(rti_platform::error::InvalidInput::single("content", error.to_string()))
        })?;
        self.store.store_researcher_counts(&counts).await?;
        Ok(counts)
    }

    pub async fn researcher_counts(&self, country: Option<&str>) -> ReportingResult<Vec<ResearcherCount>> {
        self.store.researcher_counts(country).await
    }
}

impl Normalisation {
    /// NORM-1: the researcher count of the row's home country for the row's year.
    fn denominator(&self, query: &StatisticsQuery, groups: &[(Dimension, String, String)]) -> Option<&ResearcherCount> {
        let country = groups
            .iter()
            .find(|(dimension, _, _)| *dimension == Dimension::HomeCountry)
            .map(|(_, value, _)| value.as_str())
            .or_else(|| {
                query
                    .filters
                    .get(&Dimension::HomeCountry)
                    .and_then(|countries| countries.first())
                    .map(String::as_str)
            })?;
        let cell_year = groups
            .iter()
            .find(|(dimension, _, _)| dimension.is_period())
            .and_then(|(_, value, _)| value.get(..4)?.parse::<i32>().ok());
        let year = query.normalisation_year(cell_year.map(|year| year * 100 + 1));
        self.table
            .denominator(country, year, researchers::DEFAULT_MAX_AGE_YEARS)
    }
}

/// DESIGN §4: a national funder sees its own country's users and infrastructures; an EC funder
/// and the admin see all. A funder token without either scope sees nothing.
pub fn scope_of(caller: &Principal) -> ReportingResult<Scope> {
    if caller.is_admin() || (caller.has_role(Role::Funder) && caller.eu) {
        return Ok(Scope::Everything);
    }
    if caller.has_role(Role::Funder) {
        return caller
            .country
            .clone()
            .map(Scope::Country)
            .ok_or_else(|| ReportingError::PermissionDenied("a funder token needs a country or the eu scope".into()));
    }
    Err(ReportingError::PermissionDenied(
        "statistics are for funders and the admin".into(),
    ))
}
