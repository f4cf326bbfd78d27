//! The facts behind a statistics query, aggregated per group. Usage, the large fact, comes from
//! the usage facts held in memory (`domain::facts`), current with every batch committed. The
//! smaller facts (requests, grants, deliveries, calls, breaches) come back from SQL one row per
//! group and unit and are added up here, since medians need every value.
//! Distinct counts stay exact whatever the grouping, and the disclosure control sees each
//! organisation's contribution whole.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::ReportingStore;
use crate::domain::cells::{Cell, CountedSet, SummedMap};
use crate::domain::disclosure::UnitKind;
use crate::domain::query::{Scope, StatisticsQuery};
use crate::domain::{Dimension, Fact, period_label};
use crate::error::ReportingResult;

/// The cells of a result, by their group values in the order of `group_by` (boxed: a cell is
/// large, and a result of many cells is moved about as it is built).
pub type FactRows = BTreeMap<Vec<String>, Box<Cell>>;

const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// How one of the smaller facts reads in SQL.
struct FactSql {
    from: &'static str,
    /// The instant the period filter applies to.
    at: &'static str,
    /// The month (YYYYMM) the period dimensions derive from.
    month: &'static str,
    home_country: &'static str,
    installation: &'static str,
    access_mode: &'static str,
}

/// `None` for usage, which is not read in SQL.
fn fact_sql(fact: Fact) -> Option<FactSql> {
    Some(match fact {
        Fact::Usage => return None,
        Fact::Requests => FactSql {
            from: "request_installations g JOIN requests f ON f.id = g.request_id \
                   LEFT JOIN installation_sites s ON s.installation_id = g.installation_id \
                   LEFT JOIN allocation_decisions d ON d.request_id = f.id",
            at: "f.submitted_at",
            month: "f.submitted_month",
            home_country: "f.home_country",
            installation: "g.installation_id",
            access_mode: "''",
        },
        Fact::Grants => FactSql {
            from: "grants g JOIN requests f ON f.id = g.request_id \
                   LEFT JOIN installation_sites s ON s.installation_id = g.installation_id",
            at: "g.decided_at",
            month: "g.month",
            home_country: "f.home_country",
            installation: "g.installation_id",
            access_mode: "''",
        },
        Fact::Deliveries => FactSql {
            from: "slots g JOIN requests f ON f.id = g.request_id \
                   LEFT JOIN installation_sites s ON s.installation_id = g.installation_id",
            at: "g.starts_at",
            month: "g.month",
            home_country: "f.home_country",
            installation: "g.installation_id",
            access_mode: "''",
        },
        Fact::Calls => FactSql {
            // Each proposal's requested units beside the call's offer, proposals of the call only.
            from: "call_installations g JOIN calls c ON c.id = g.call_id \
                   LEFT JOIN installation_sites s ON s.installation_id = g.installation_id \
                   LEFT JOIN (SELECT r.call_id, r.organisation_id, r.org_rkey, ri.installation_id, ri.units \
                              FROM request_installations ri JOIN requests r ON r.id = ri.request_id \
                              WHERE r.lane = 'transnational' AND r.submitted_at IS NOT NULL) q \
                   ON q.call_id = g.call_id AND q.installation_id = g.installation_id",
            at: "c.at",
            month: "c.month",
            home_country: "''",
            installation: "g.installation_id",
            access_mode: "''",
        },
        Fact::Breaches => FactSql {
            from: "clock_breaches b JOIN requests f ON f.id = b.request_id \
                   JOIN request_installations g ON g.request_id = f.id \
                   LEFT JOIN installation_sites s ON s.installation_id = g.installation_id",
            at: "b.due_at",
            month: "b.month",
            home_country: "f.home_country",
            installation: "g.installation_id",
            access_mode: "''",
        },
    })
}

impl FactSql {
    /// The SQL expression of a dimension's value; periods are integers turned into labels later.
    fn dimension(&self, dimension: Dimension) -> String {
        match dimension {
            Dimension::HomeCountry => self.home_country.to_owned(),
            Dimension::Installation => self.installation.to_owned(),
            Dimension::Infrastructure => "COALESCE(s.infrastructure_id, '')".to_owned(),
            Dimension::ProviderCountry => "COALESCE(s.provider_country, '')".to_owned(),
            Dimension::Month => format!("CAST({} AS BIGINT)", self.month),
            // YYYYQ: the year times ten plus the quarter, integer arithmetic on both backends.
            Dimension::Quarter => format!(
                "CAST(({m} / 100) * 10 + (({m} % 100) + 2) / 3 AS BIGINT)",
                m = self.month
            ),
            Dimension::Year => format!("CAST({} / 100 AS BIGINT)", self.month),
            Dimension::AccessMode => self.access_mode.to_owned(),
            Dimension::Lane => "f.lane".to_owned(),
            Dimension::RequesterType => "f.requester_type".to_owned(),
            Dimension::FundingScheme => "f.funding_scheme".to_owned(),
        }
    }
}

/// A query's SQL text and its values, built together so placeholders stay in step.
#[derive(Default)]
struct Builder {
    values: Vec<Value>,
}

enum Value {
    Text(String),
    Number(i64),
}

impl Builder {
    fn text(&mut self, value: &str) -> String {
        self.values.push(Value::Text(value.to_owned()));
        format!("${}", self.values.len())
    }

    fn number(&mut self, value: i64) -> String {
        self.values.push(Value::Number(value));
        format!("${}", self.values.len())
    }

    /// The conditions of `fact`'s rows: the period, the filters and the caller's scope.
    fn conditions(&mut self, sql: &FactSql, fact: Fact, query: &StatisticsQuery, scope: &Scope) -> String {
        let from = self.number(query.from);
        let to = self.number(query.to);
        let mut conditions = vec![format!("{at} >= {from} AND {at} < {to}", at = sql.at)];
        if fact == Fact::Deliveries {
            conditions.push("g.status = 'delivered'".to_owned());
        }
        for (dimension, values) in &query.filters {
            let placeholders: Vec<String> = values.iter().map(|value| self.text(value)).collect();
            conditions.push(format!(
                "{} IN ({})",
                sql.dimension(*dimension),
                placeholders.join(", ")
            ));
        }
        if let Scope::Country(country) = scope {
            let home = self.text(country);
            let provider = self.text(country);
            conditions.push(format!(
                "({} = {home} OR COALESCE(s.provider_country, '') = {provider})",
                sql.home_country
            ));
        }
        conditions.join(" AND ")
    }

    async fn fetch(self, sql: String, store: &ReportingStore) -> ReportingResult<Vec<AnyRow>> {
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in self.values {
            statement = match value {
                Value::Text(text) => statement.bind(text),
                Value::Number(number) => statement.bind(number),
            };
        }
        Ok(statement.fetch_all(store.database.readers()).await?)
    }
}

/// Row-by-row totals of the smaller facts, per group, before they become cells.
#[derive(Default)]
struct Tally {
    requests_received: CountedSet,
    requests_accepted: CountedSet,
    requests_declined: CountedSet,
    decided: CountedSet,
    slotted: CountedSet,
    decision_days: Vec<f64>,
    first_slot_days: Vec<f64>,
    offers: BTreeSet<(String, String)>,
    units_offered: i64,
    units_requested: SummedMap,
    units_granted: SummedMap,
    units_granted_non_eu: SummedMap,
    units_delivered: SummedMap,
    units_lost: SummedMap,
    clock_breaches: CountedSet,
}

impl Tally {
    fn into_cell(self, cell: &mut Cell) {
        cell.requests_received = self.requests_received.finish();
        cell.requests_accepted = self.requests_accepted.finish();
        cell.requests_declined = self.requests_declined.finish();
        cell.decided = self.decided.finish();
        cell.slotted = self.slotted.finish();
        cell.decision_days = self.decision_days;
        cell.first_slot_days = self.first_slot_days;
        cell.units_offered = self.units_offered;
        cell.units_requested = self.units_requested.finish();
        cell.units_granted = self.units_granted.finish();
        cell.units_granted_non_eu = self.units_granted_non_eu.finish();
        cell.units_delivered = self.units_delivered.finish();
        cell.units_lost = self.units_lost.finish();
        cell.clock_breaches = self.clock_breaches.finish();
    }
}

impl ReportingStore {
    /// The cells of `query` within `scope`, before protection.
    pub async fn statistics(&self, query: &StatisticsQuery, scope: &Scope) -> ReportingResult<FactRows> {
        let mut cells = FactRows::new();
        if query.facts().contains(&Fact::Usage) {
            self.usage_cells(query, scope, &mut cells).await?;
        }
        let mut tallies: BTreeMap<Vec<String>, Tally> = BTreeMap::new();
        let facts = query.facts();
        if facts.contains(&Fact::Requests) {
            let per_request = "f.id, MIN(f.organisation_id), MIN(f.request_rkey), \
                               MIN(COALESCE(d.outcome, f.outcome, '')), \
                               CAST(MIN(COALESCE(d.decided_at, f.decided_at, -1)) AS BIGINT), \
                               CAST(MIN(f.submitted_at) AS BIGINT), \
                               CAST(COALESCE((SELECT MIN(sl.offered_at) FROM slots sl WHERE sl.request_id = f.id), -1) \
                               AS BIGINT)|f.id";
            for row in self.rows_per_unit(query, scope, Fact::Requests, per_request).await? {
                let (tally, rest) = tally_of(&mut tallies, query, &row)?;
                let organisation: String = row.try_get(rest + 1)?;
                let key = record_key(&row, rest + 2)?;
                let outcome: String = row.try_get(rest + 3)?;
                let decided_at: i64 = row.try_get(rest + 4)?;
                let submitted_at: i64 = row.try_get(rest + 5)?;
                let first_slot: i64 = row.try_get(rest + 6)?;
                tally.requests_received.add(key, &organisation);
                let decided = matches!(outcome.as_str(), "accepted" | "declined") && decided_at >= submitted_at;
                match outcome.as_str() {
                    "accepted" => tally.requests_accepted.add(key, &organisation),
                    "declined" => tally.requests_declined.add(key, &organisation),
                    _ => {}
                }
                if decided {
                    tally.decision_days.push(days(decided_at - submitted_at));
                    tally.decided.add(key, &organisation);
                }
                if outcome == "accepted" && decided && first_slot >= decided_at {
                    tally.first_slot_days.push(days(first_slot - decided_at));
                    tally.slotted.add(key, &organisation);
                }
            }
        }
        if facts.contains(&Fact::Grants) {
            let per_organisation = "f.organisation_id, MIN(f.org_rkey), CAST(SUM(g.units) AS BIGINT), \
                                    CAST(SUM(CASE WHEN g.non_eu_majority = 1 THEN g.units ELSE 0 END) AS BIGINT)\
                                    |f.organisation_id";
            for row in self.rows_per_unit(query, scope, Fact::Grants, per_organisation).await? {
                let (tally, rest) = tally_of(&mut tallies, query, &row)?;
                let organisation: String = row.try_get(rest)?;
                let key = record_key(&row, rest + 1)?;
                tally.units_granted.add(&organisation, key, row.try_get(rest + 2)?);
                tally
                    .units_granted_non_eu
                    .add(&organisation, key, row.try_get(rest + 3)?);
            }
        }
        if facts.contains(&Fact::Deliveries) {
            let per_organisation = "f.organisation_id, MIN(f.org_rkey), CAST(SUM(g.delivered_units) AS BIGINT), \
                                    CAST(SUM(g.lost_units) AS BIGINT)|f.organisation_id";
            for row in self
                .rows_per_unit(query, scope, Fact::Deliveries, per_organisation)
                .await?
            {
                let (tally, rest) = tally_of(&mut tallies, query, &row)?;
                let organisation: String = row.try_get(rest)?;
                let key = record_key(&row, rest + 1)?;
                tally.units_delivered.add(&organisation, key, row.try_get(rest + 2)?);
                tally.units_lost.add(&organisation, key, row.try_get(rest + 3)?);
            }
        }
        if facts.contains(&Fact::Calls) {
            let per_offer = "g.call_id, g.installation_id, COALESCE(q.organisation_id, ''), \
                             CAST(COALESCE(MIN(q.org_rkey), 0) AS BIGINT), CAST(MIN(g.units) AS BIGINT), \
                             CAST(COALESCE(SUM(q.units), 0) AS BIGINT)|g.call_id, g.installation_id, q.organisation_id";
            for row in self.rows_per_unit(query, scope, Fact::Calls, per_offer).await? {
                let (tally, rest) = tally_of(&mut tallies, query, &row)?;
                let offer: (String, String) = (row.try_get(rest)?, row.try_get(rest + 1)?);
                let organisation: String = row.try_get(rest + 2)?;
                if tally.offers.insert(offer) {
                    tally.units_offered = tally.units_offered.saturating_add(row.try_get::<i64, _>(rest + 4)?);
                }
                if !organisation.is_empty() {
                    tally
                        .units_requested
                        .add(&organisation, record_key(&row, rest + 3)?, row.try_get(rest + 5)?);
                }
            }
        }
        if facts.contains(&Fact::Breaches) {
            let per_breach = "b.request_id, b.milestone, MIN(f.organisation_id)|b.request_id, b.milestone";
            for row in self.rows_per_unit(query, scope, Fact::Breaches, per_breach).await? {
                let (tally, rest) = tally_of(&mut tallies, query, &row)?;
                let milestone: String = row.try_get(rest + 1)?;
                let organisation: String = row.try_get(rest + 2)?;
                // Each missed milestone is a unit of its own, with a record key of its own.
                let request: String = row.try_get(rest)?;
                let key = self.key(UnitKind::Request, &format!("{request}/{milestone}"));
                tally.clock_breaches.add(key, &organisation);
            }
        }
        for (key, tally) in tallies {
            tally.into_cell(cells.entry(key).or_default());
        }
        Ok(cells)
    }

    /// Usage, from the facts held in memory, computed off the async workers.
    async fn usage_cells(&self, query: &StatisticsQuery, scope: &Scope, cells: &mut FactRows) -> ReportingResult<()> {
        let facts = self.current_facts().await?;
        let sites = self.sites().await?;
        let (query, scope) = (query.clone(), scope.clone());
        let mut found = std::mem::take(cells);
        *cells = tokio::task::spawn_blocking(move || {
            facts.read().add_cells(&query, &scope, &sites, &mut found);
            found
        })
        .await
        .map_err(|error| crate::error::ReportingError::Task(error.to_string()))?;
        Ok(())
    }

    /// One row per group and unit of a small fact: `select_and_group` is "extra select
    /// columns|extra group columns".
    async fn rows_per_unit(
        &self,
        query: &StatisticsQuery,
        scope: &Scope,
        fact: Fact,
        select_and_group: &str,
    ) -> ReportingResult<Vec<AnyRow>> {
        let Some(sql) = fact_sql(fact) else {
            return Ok(Vec::new());
        };
        let (select, group) = select_and_group.split_once('|').unwrap_or((select_and_group, ""));
        let dimensions: Vec<String> = query
            .group_by
            .iter()
            .map(|dimension| sql.dimension(*dimension))
            .collect();
        let mut builder = Builder::default();
        let conditions = builder.conditions(&sql, fact, query, scope);
        let mut select_list = dimensions.clone();
        select_list.push(select.to_owned());
        let mut group_list = dimensions;
        group_list.extend(
            group
                .split(',')
                .map(str::trim)
                .filter(|column| !column.is_empty())
                .map(str::to_owned),
        );
        let statement = format!(
            "SELECT {} FROM {} WHERE {} GROUP BY {}",
            select_list.join(", "),
            sql.from,
            conditions,
            group_list.join(", ")
        );
        builder.fetch(statement, self).await
    }
}

fn days(micros: i64) -> f64 {
    micros as f64 / MICROS_PER_DAY
}

fn record_key(row: &AnyRow, index: usize) -> ReportingResult<u32> {
    let key: i64 = row.try_get(index)?;
    Ok(u32::try_from(key.rem_euclid(1 << 32)).unwrap_or(0))
}

/// The group values of a row whose group columns start at `first`, in the order of `group_by`.
fn group_key(query: &StatisticsQuery, row: &AnyRow, first: usize) -> ReportingResult<Vec<String>> {
    let mut key = Vec::with_capacity(query.group_by.len());
    for (offset, dimension) in query.group_by.iter().enumerate() {
        let index = first + offset;
        key.push(if dimension.is_period() {
            let value: i64 = row.try_get(index)?;
            let value = i32::try_from(value).unwrap_or(0);
            match dimension {
                // YYYYQ → the label of the quarter's first month.
                Dimension::Quarter => period_label(*dimension, (value / 10) * 100 + (value % 10) * 3 - 2),
                Dimension::Year => period_label(*dimension, value * 100 + 1),
                _ => period_label(*dimension, value),
            }
        } else {
            row.try_get::<String, _>(index)?
        });
    }
    Ok(key)
}

/// The tally a row belongs to, and the index of the row's first column after the group values.
fn tally_of<'tallies>(
    tallies: &'tallies mut BTreeMap<Vec<String>, Tally>,
    query: &StatisticsQuery,
    row: &AnyRow,
) -> ReportingResult<(&'tallies mut Tally, usize)> {
    let key = group_key(query, row, 0)?;
    Ok((tallies.entry(key).or_default(), query.group_by.len()))
}
