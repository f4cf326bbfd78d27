//! A statistics query as the domain sees it: groups, measures, the period and filters, checked
//! all at once; and the funder's scope, which narrows every query (DESIGN §4: a national funder
//! sees users from its country and infrastructures in its country, an EC funder sees all).

use std::collections::BTreeMap;

use rti_platform::country::normalize_country;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::validate::at_most;

use super::{Dimension, Fact, Measure, access_mode, funding_scheme, lane, requester_type};

/// The longest period one query may cover: ten years of months.
const MAX_PERIOD_MICROS: i64 = 10 * 366 * 86_400_000_000;
/// Values one filter allows (installations, countries, …): a funder's whole portfolio.
pub const MAX_FILTER_VALUES: usize = 500;

/// A checked statistics query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsQuery {
    pub group_by: Vec<Dimension>,
    pub measures: Vec<Measure>,
    /// [from, to) in UTC microseconds.
    pub from: i64,
    pub to: i64,
    /// Allowed values per dimension; a dimension absent here is not restricted.
    pub filters: BTreeMap<Dimension, Vec<String>>,
}

/// What a query as sent says, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct QueryInput {
    pub group_by: Vec<String>,
    pub measures: Vec<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub filters: Vec<(Dimension, &'static str, Vec<String>)>,
}

/// Whose statistics a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// EC funders and admins.
    Everything,
    /// A national funder: users whose home country it is, or infrastructures whose provider
    /// sits there.
    Country(String),
}

impl StatisticsQuery {
    /// Checks every part and reports every problem at once, by field path.
    pub fn parse(input: QueryInput) -> Result<Self, InvalidInput> {
        let mut violations = Violations::new();
        // Each dimension and measure at most once; a longer list is refused before it is read.
        let group_by_names: &[String] = if at_most(&input.group_by, "group_by", Dimension::ALL.len(), &mut violations) {
            &input.group_by
        } else {
            &[]
        };
        let measure_names: &[String] = if at_most(&input.measures, "measures", Measure::ALL.len(), &mut violations) {
            &input.measures
        } else {
            &[]
        };
        let mut group_by = Vec::new();
        for (index, name) in group_by_names.iter().enumerate() {
            match Dimension::parse(name) {
                Some(dimension) if group_by.contains(&dimension) => {
                    violations.add(format!("group_by[{index}]"), format!("{name} is listed twice"));
                }
                Some(dimension) => group_by.push(dimension),
                None => violations.add(
                    format!("group_by[{index}]"),
                    format!(
                        "unknown dimension {name:?}; expected one of {}",
                        names(&Dimension::ALL.map(Dimension::name))
                    ),
                ),
            }
        }
        let mut measures = Vec::new();
        if input.measures.is_empty() {
            violations.add("measures", "name at least one measure");
        }
        for (index, name) in measure_names.iter().enumerate() {
            match Measure::parse(name) {
                Some(measure) if measures.contains(&measure) => {
                    violations.add(format!("measures[{index}]"), format!("{name} is listed twice"));
                }
                Some(measure) => {
                    for dimension in &group_by {
                        if !measure.fact().splits_by(*dimension) {
                            violations.add(
                                format!("measures[{index}]"),
                                format!("{name} cannot be grouped by {}", dimension.name()),
                            );
                        }
                    }
                    measures.push(measure);
                }
                None => violations.add(
                    format!("measures[{index}]"),
                    format!(
                        "unknown measure {name:?}; expected one of {}",
                        names(&Measure::ALL.map(Measure::name))
                    ),
                ),
            }
        }
        let (from, to) = match (input.from, input.to) {
            (Some(from), Some(to)) if to <= from => {
                violations.add("filter.to", "must be after filter.from");
                (from, to)
            }
            // Checked: a period from long before year 0 to long after 9999 overflowed, which
            // wrapped to a negative length in release builds and let the query cover all time.
            (Some(from), Some(to)) if to.checked_sub(from).is_none_or(|length| length > MAX_PERIOD_MICROS) => {
                violations.add("filter.to", "a query covers at most ten years");
                (from, to)
            }
            (Some(from), Some(to)) => (from, to),
            (from, to) => {
                if from.is_none() {
                    violations.add("filter.from", "required: the start of the period");
                }
                if to.is_none() {
                    violations.add("filter.to", "required: the end of the period (exclusive)");
                }
                (0, 0)
            }
        };
        let mut filters = BTreeMap::new();
        for (dimension, field, values) in input.filters {
            if values.is_empty() || !at_most(&values, &format!("filter.{field}"), MAX_FILTER_VALUES, &mut violations) {
                continue;
            }
            let mut checked = Vec::new();
            for (index, value) in values.iter().enumerate() {
                match check_value(dimension, value) {
                    Ok(value) => checked.push(value),
                    Err(reason) => violations.add(format!("filter.{field}[{index}]"), reason),
                }
            }
            if let Some(measure) = measures.iter().find(|measure| !measure.fact().splits_by(dimension)) {
                violations.add(
                    format!("filter.{field}"),
                    format!("{} cannot be filtered by {}", measure.name(), dimension.name()),
                );
            }
            filters.insert(dimension, checked);
        }
        if measures.contains(&Measure::UsersPer1000Researchers)
            && !group_by.contains(&Dimension::HomeCountry)
            && filters
                .get(&Dimension::HomeCountry)
                .is_none_or(|countries| countries.len() != 1)
        {
            violations.add(
                "measures",
                "users_per_1000_researchers needs home_country in group_by, or exactly one filter.home_countries",
            );
        }
        violations.into_result()?;
        Ok(Self {
            group_by,
            measures,
            from,
            to,
            filters,
        })
    }

    /// The facts the measures are computed from, each once.
    pub fn facts(&self) -> Vec<Fact> {
        let mut facts: Vec<Fact> = self.measures.iter().map(|measure| measure.fact()).collect();
        facts.sort();
        facts.dedup();
        facts
    }

    /// The year whose researcher count normalises a cell: the cell's own when it is grouped by
    /// a period, else the year of the period's last day.
    pub fn normalisation_year(&self, cell_month: Option<i32>) -> i32 {
        cell_month.map_or_else(|| super::month_of(self.to - 1) / 100, |month| month / 100)
    }
}

fn names(all: &[&str]) -> String {
    all.join(", ")
}

/// A filter value in the vocabulary rows use (countries normalised: EL → GR).
fn check_value(dimension: Dimension, value: &str) -> Result<String, String> {
    let among = |allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(value.to_owned())
        } else {
            Err(format!("{value:?} is not one of {}", allowed.join(", ")))
        }
    };
    match dimension {
        Dimension::HomeCountry | Dimension::ProviderCountry => {
            normalize_country(value).map_err(|error| error.to_string())
        }
        Dimension::Installation | Dimension::Infrastructure => {
            if value.is_empty() || value.len() > 64 {
                Err("must be an id".to_owned())
            } else {
                Ok(value.to_owned())
            }
        }
        Dimension::AccessMode => among(&access_mode::ALL),
        Dimension::Lane => among(&lane::ALL),
        Dimension::RequesterType => among(&requester_type::ALL),
        Dimension::FundingScheme => among(&funding_scheme::ALL),
        Dimension::Month | Dimension::Quarter | Dimension::Year => {
            Err("filter periods with filter.from and filter.to".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_2026: i64 = 1_767_225_600_000_000;
    const YEAR: i64 = 365 * 86_400_000_000;

    fn input(group_by: &[&str], measures: &[&str]) -> QueryInput {
        QueryInput {
            group_by: group_by.iter().map(|name| (*name).to_owned()).collect(),
            measures: measures.iter().map(|name| (*name).to_owned()).collect(),
            from: Some(JAN_2026),
            to: Some(JAN_2026 + YEAR),
            filters: Vec::new(),
        }
    }

    fn fields(error: InvalidInput) -> Vec<String> {
        error.0.into_iter().map(|violation| violation.field).collect()
    }

    #[test]
    fn parses_groups_and_measures_in_the_order_given() {
        let query =
            StatisticsQuery::parse(input(&["quarter", "home_country"], &["users", "units_used"])).expect("valid");
        assert_eq!(query.group_by, vec![Dimension::Quarter, Dimension::HomeCountry]);
        assert_eq!(query.measures, vec![Measure::Users, Measure::UnitsUsed]);
        assert_eq!(query.facts(), vec![Fact::Usage]);
    }

    #[test]
    fn names_every_bad_part_at_once() {
        let mut bad = input(&["planet", "month", "month"], &["users", "revenue"]);
        bad.to = bad.from;
        assert_eq!(
            fields(StatisticsQuery::parse(bad).expect_err("bad")),
            ["group_by[0]", "group_by[2]", "measures[1]", "filter.to"]
        );
    }

    /// Found by `fuzz/` (reporting_requests): the period's length overflowed.
    #[test]
    fn refuses_a_period_whose_length_overflows() {
        let mut all_time = input(&["year"], &["users"]);
        (all_time.from, all_time.to) = (Some(i64::MIN), Some(i64::MAX));
        assert_eq!(
            fields(StatisticsQuery::parse(all_time).expect_err("too long")),
            ["filter.to"]
        );
    }

    #[test]
    fn refuses_to_split_requests_by_access_mode() {
        let error = StatisticsQuery::parse(input(&["access_mode"], &["requests_received"])).expect_err("no mode");
        assert_eq!(fields(error), ["measures[0]"]);
    }

    #[test]
    fn normalisation_needs_the_home_country() {
        assert!(StatisticsQuery::parse(input(&["installation"], &["users_per_1000_researchers"])).is_err());
        assert!(StatisticsQuery::parse(input(&["home_country"], &["users_per_1000_researchers"])).is_ok());
        let mut one_country = input(&[], &["users_per_1000_researchers"]);
        one_country.filters = vec![(Dimension::HomeCountry, "home_countries", vec!["EL".into()])];
        let query = StatisticsQuery::parse(one_country).expect("one country");
        assert_eq!(query.filters[&Dimension::HomeCountry], ["GR"]);
    }

    #[test]
    fn filter_values_use_the_rows_vocabulary() {
        let mut bad = input(&[], &["users"]);
        bad.filters = vec![
            (Dimension::Lane, "lanes", vec!["industrial".into(), "fast".into()]),
            (Dimension::HomeCountry, "home_countries", vec!["XX".into()]),
        ];
        assert_eq!(
            fields(StatisticsQuery::parse(bad).expect_err("bad")),
            ["filter.lanes[1]", "filter.home_countries[0]"]
        );
    }

    #[test]
    fn a_cell_is_normalised_by_its_own_year_or_the_periods_last() {
        let query = StatisticsQuery::parse(input(&[], &["users"])).expect("valid");
        assert_eq!(query.normalisation_year(Some(202_403)), 2024);
        assert_eq!(query.normalisation_year(None), 2026);
    }
}
