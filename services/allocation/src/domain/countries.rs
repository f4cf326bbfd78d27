//! The effective-dated country table (CTRY-1..CTRY-6): EU membership, Horizon Europe association
//! with its scope, widening status and restrictions, each for a period, read from
//! `reference/countries.csv` (its sources and version are in `reference/README.md`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rti_platform::country::normalize_country;
use rti_platform::time::date_micros;

/// The version of the shipped table; `reference/README.md` states the same one.
pub const SHIPPED_VERSION: &str = "2026-11-24";

const SHIPPED_CSV: &str = include_str!("../../reference/countries.csv");

const HEADER: &str = "country,status,scope,valid_from,valid_to,source";

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Kosovo's code as the Commission writes it. ISO 3166-1 has not assigned it (it is a
/// user-assigned code), so `normalize_country` rejects it; CTRY-2 and CTRY-4 need it.
const KOSOVO: &str = "XK";

/// A country code as the table keys it: ISO 3166-1 alpha-2 with EL → GR and UK → GB (DESIGN §6),
/// plus XK for Kosovo. `None` when the input is no such code.
pub fn canonical_country(input: &str) -> Option<String> {
    match normalize_country(input) {
        Ok(code) => Some(code),
        Err(_) if input.trim().eq_ignore_ascii_case(KOSOVO) => Some(KOSOVO.to_owned()),
        Err(_) => None,
    }
}

/// How much of Horizon Europe a country is associated to (CTRY-2, CTRY-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociationScope {
    /// Associated to the whole programme (CTRY-2).
    All,
    /// Associated to everything except the EIC Fund: the United Kingdom (CTRY-2).
    AllExceptEicFund,
    /// Associated to Pillar II only (CTRY-3): a third country for the RI programme in Pillar I.
    PillarIiOnly,
}

/// What a country is, for the programme, on one date. The default is a third country.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountryStatus {
    /// An EU Member State (CTRY-1).
    pub eu_member: bool,
    /// Associated to Horizon Europe, with the scope of the association (CTRY-2, CTRY-3).
    pub association: Option<AssociationScope>,
    /// A widening country (CTRY-4).
    pub widening: bool,
    /// Entities established there are not eligible in any capacity (CTRY-5, CTRY-6).
    pub restricted: bool,
}

impl CountryStatus {
    /// TA-6 / TA-2 sense for the RI programme (Pillar I): EU Member State or associated to all of
    /// Horizon Europe (ALL or ALL_EXCEPT_EIC_FUND). Pillar-II-only association does NOT count (CTRY-3).
    pub fn eu_or_associated(&self) -> bool {
        self.eu_member
            || matches!(
                self.association,
                Some(AssociationScope::All | AssociationScope::AllExceptEicFund)
            )
    }
}

/// One status a row of the table gives a country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusKind {
    Eu,
    Associated(AssociationScope),
    Widening,
    Restricted,
}

impl StatusKind {
    fn name(self) -> &'static str {
        match self {
            Self::Eu => "EU",
            Self::Associated(_) => "ASSOCIATED",
            Self::Widening => "WIDENING",
            Self::Restricted => "RESTRICTED",
        }
    }

    /// EU, ASSOCIATED and RESTRICTED exclude one another; WIDENING goes with EU or ASSOCIATED.
    fn excludes(self, other: Self) -> bool {
        let is_standing = |kind: Self| !matches!(kind, Self::Widening);
        self.name() == other.name() || (is_standing(self) && is_standing(other))
    }
}

/// One row: a status held from `valid_from` to `valid_to`, both days included.
#[derive(Debug, Clone)]
struct Period {
    kind: StatusKind,
    /// First day, midnight UTC; `None` is open.
    valid_from: Option<i64>,
    /// The instant after the last day (midnight UTC of the next day); `None` is open.
    valid_until: Option<i64>,
    line: usize,
}

impl Period {
    fn holds_on(&self, on: i64) -> bool {
        self.valid_from.is_none_or(|from| from <= on) && self.valid_until.is_none_or(|until| on < until)
    }

    fn overlaps(&self, other: &Period) -> bool {
        let starts_before_other_ends = match (self.valid_from, other.valid_until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        let other_starts_before_self_ends = match (other.valid_from, self.valid_until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_self_ends
    }
}

/// Why a country table did not parse: every variant names the line (1-based, the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryTableError {
    /// The first line is not the expected header.
    #[error("line {line}: the header must be `{HEADER}`")]
    Header { line: usize },
    /// A line does not have the six columns.
    #[error("line {line}: expected 6 comma-separated columns, found {found}")]
    ColumnCount { line: usize, found: usize },
    /// One field is wrong.
    #[error("line {line}, column {column}: {message}")]
    Field {
        line: usize,
        column: &'static str,
        message: String,
    },
    /// Two periods of the same country contradict each other.
    #[error(
        "line {line}, column valid_from: {country} {status} overlaps the {other_status} period on line {other_line}"
    )]
    Overlap {
        line: usize,
        country: String,
        status: &'static str,
        other_status: &'static str,
        other_line: usize,
    },
}

impl CountryTableError {
    /// The line the error is on.
    pub fn line(&self) -> usize {
        match self {
            Self::Header { line }
            | Self::ColumnCount { line, .. }
            | Self::Field { line, .. }
            | Self::Overlap { line, .. } => *line,
        }
    }
}

/// The effective-dated country table, with the version of the data it was read from.
#[derive(Debug, Clone)]
pub struct CountryTable {
    version: String,
    periods_by_country: BTreeMap<String, Vec<Period>>,
}

impl CountryTable {
    /// Parses `country,status,scope,valid_from,valid_to,source` rows. Fields hold no commas and no
    /// quotes; empty lines are skipped. Rejects periods that contradict one another for a country
    /// (the same status twice, or two of EU / ASSOCIATED / RESTRICTED at once).
    pub fn parse(csv: &str, version: &str) -> Result<Self, CountryTableError> {
        let mut lines = csv
            .lines()
            .enumerate()
            .map(|(index, text)| (index + 1, text.trim_end_matches('\r')));
        match lines.next() {
            Some((_, header)) if header.trim() == HEADER => {}
            _ => return Err(CountryTableError::Header { line: 1 }),
        }
        let mut periods_by_country: BTreeMap<String, Vec<Period>> = BTreeMap::new();
        for (line, text) in lines {
            if text.trim().is_empty() {
                continue;
            }
            let (country, period) = parse_row(line, text)?;
            let periods = periods_by_country.entry(country.clone()).or_default();
            if let Some(clash) = periods
                .iter()
                .find(|earlier| earlier.kind.excludes(period.kind) && earlier.overlaps(&period))
            {
                return Err(CountryTableError::Overlap {
                    line,
                    country,
                    status: period.kind.name(),
                    other_status: clash.kind.name(),
                    other_line: clash.line,
                });
            }
            periods.push(period);
        }
        Ok(Self {
            version: version.to_owned(),
            periods_by_country,
        })
    }

    /// The table shipped in `reference/countries.csv`, parsed once.
    pub fn shipped() -> &'static CountryTable {
        static SHIPPED: OnceLock<CountryTable> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            CountryTable::parse(SHIPPED_CSV, SHIPPED_VERSION)
                .expect("reference/countries.csv parses: the unit test shipped_table_parses_without_overlapping_periods proves it")
        })
    }

    /// The version of the data (the date the table was last checked against its sources).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Status of `country` on `on` (UTC micros); unknown countries are third countries (all false). Accepts EL/UK aliases.
    pub fn status(&self, country: &str, on: i64) -> CountryStatus {
        let mut status = CountryStatus::default();
        let Some(periods) = canonical_country(country).and_then(|code| self.periods_by_country.get(&code)) else {
            return status;
        };
        for period in periods.iter().filter(|period| period.holds_on(on)) {
            match period.kind {
                StatusKind::Eu => status.eu_member = true,
                StatusKind::Associated(scope) => status.association = Some(scope),
                StatusKind::Widening => status.widening = true,
                StatusKind::Restricted => status.restricted = true,
            }
        }
        status
    }
}

fn parse_row(line: usize, text: &str) -> Result<(String, Period), CountryTableError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let [country, status, scope, valid_from, valid_to, source] = fields[..] else {
        return Err(CountryTableError::ColumnCount {
            line,
            found: fields.len(),
        });
    };
    let field_error = |column: &'static str, message: String| CountryTableError::Field { line, column, message };

    let country = canonical_country(country)
        .ok_or_else(|| field_error("country", format!("{country:?} is not an ISO 3166-1 alpha-2 code")))?;
    let scope = match scope {
        "" => None,
        "ALL" => Some(AssociationScope::All),
        "ALL_EXCEPT_EIC_FUND" => Some(AssociationScope::AllExceptEicFund),
        "PILLAR_II" => Some(AssociationScope::PillarIiOnly),
        other => {
            return Err(field_error(
                "scope",
                format!("{other:?} is not one of ALL, ALL_EXCEPT_EIC_FUND, PILLAR_II"),
            ));
        }
    };
    let kind = match (status, scope) {
        ("ASSOCIATED", Some(scope)) => StatusKind::Associated(scope),
        ("ASSOCIATED", None) => return Err(field_error("scope", "an ASSOCIATED row needs a scope".to_owned())),
        ("EU" | "WIDENING" | "RESTRICTED", Some(_)) => {
            return Err(field_error(
                "scope",
                format!("only ASSOCIATED rows have a scope, not {status}"),
            ));
        }
        ("EU", None) => StatusKind::Eu,
        ("WIDENING", None) => StatusKind::Widening,
        ("RESTRICTED", None) => StatusKind::Restricted,
        (other, _) => {
            return Err(field_error(
                "status",
                format!("{other:?} is not one of EU, ASSOCIATED, WIDENING, RESTRICTED"),
            ));
        }
    };
    let parse_date = |column: &'static str, text: &str| match text {
        "" => Ok(None),
        _ => date_micros(text)
            .map(Some)
            .ok_or_else(|| field_error(column, format!("{text:?} is not a YYYY-MM-DD date"))),
    };
    let valid_from = parse_date("valid_from", valid_from)?;
    let valid_until = parse_date("valid_to", valid_to)?.map(|last_day| last_day + MICROS_PER_DAY);
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until <= from
    {
        return Err(field_error("valid_to", "the period ends before it starts".to_owned()));
    }
    if source.is_empty() {
        return Err(field_error("source", "every row names its source".to_owned()));
    }
    Ok((
        country,
        Period {
            kind,
            valid_from,
            valid_until,
            line,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i64 {
        date_micros(text).unwrap_or_else(|| panic!("{text} is a date"))
    }

    fn parse_error(csv: &str) -> CountryTableError {
        match CountryTable::parse(csv, "test") {
            Ok(_) => panic!("parsed a broken table:\n{csv}"),
            Err(error) => error,
        }
    }

    #[test]
    fn shipped_table_parses_without_overlapping_periods() {
        let table = CountryTable::parse(SHIPPED_CSV, SHIPPED_VERSION).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(table.version(), SHIPPED_VERSION);
        assert_eq!(CountryTable::shipped().version(), SHIPPED_VERSION);
        for (country, periods) in &table.periods_by_country {
            for (index, period) in periods.iter().enumerate() {
                for other in &periods[index + 1..] {
                    assert!(
                        !(period.kind.excludes(other.kind) && period.overlaps(other)),
                        "{country}: lines {} and {} overlap",
                        period.line,
                        other.line
                    );
                }
            }
        }
        let eu_members = table
            .periods_by_country
            .values()
            .filter(|periods| periods.iter().any(|period| period.kind == StatusKind::Eu))
            .count();
        assert_eq!(eu_members, 27, "CTRY-1: EU27");
    }

    #[test]
    fn readme_states_the_shipped_version() {
        let readme = include_str!("../../reference/README.md");
        assert!(
            readme.contains(SHIPPED_VERSION),
            "reference/README.md must state version {SHIPPED_VERSION}"
        );
    }

    #[test]
    fn ctry2_uk_not_associated_on_2023_12_31_and_associated_from_2024_01_01() {
        let table = CountryTable::shipped();
        let before = table.status("GB", day("2023-12-31"));
        assert_eq!(before, CountryStatus::default());
        assert!(!before.eu_or_associated());
        let after = table.status("GB", day("2024-01-01"));
        assert_eq!(after.association, Some(AssociationScope::AllExceptEicFund));
        assert!(after.eu_or_associated());
    }

    #[test]
    fn ctry2_switzerland_associated_from_2025_01_01() {
        let table = CountryTable::shipped();
        assert!(!table.status("CH", day("2024-12-31")).eu_or_associated());
        let after = table.status("CH", day("2025-01-01"));
        assert_eq!(after.association, Some(AssociationScope::All));
        assert!(after.eu_or_associated());
    }

    #[test]
    fn ctry2_egypt_transitional_from_2025_04_10() {
        let table = CountryTable::shipped();
        assert!(!table.status("EG", day("2025-04-09")).eu_or_associated());
        assert!(table.status("EG", day("2025-04-10")).eu_or_associated());
    }

    #[test]
    fn ctry3_pillar_ii_only_association_is_not_eu_or_associated() {
        let table = CountryTable::shipped();
        let canada = table.status("CA", day("2024-06-01"));
        assert_eq!(canada.association, Some(AssociationScope::PillarIiOnly));
        assert!(!canada.eu_or_associated());
        for country in ["NZ", "KR", "JP"] {
            let status = table.status(country, day("2026-06-01"));
            assert_eq!(status.association, Some(AssociationScope::PillarIiOnly), "{country}");
            assert!(!status.eu_or_associated(), "{country}");
        }
        assert_eq!(
            table.status("JP", day("2025-12-31")).association,
            None,
            "JP transitional from 2026"
        );
    }

    #[test]
    fn ctry3_morocco_and_liechtenstein_are_not_associated() {
        let table = CountryTable::shipped();
        for country in ["MA", "LI"] {
            assert_eq!(
                table.status(country, day("2026-06-01")),
                CountryStatus::default(),
                "{country}"
            );
        }
    }

    #[test]
    fn ctry2_norway_is_associated_to_all_of_horizon_europe() {
        let norway = CountryTable::shipped().status("NO", day("2023-03-01"));
        assert_eq!(norway.association, Some(AssociationScope::All));
        assert!(!norway.eu_member);
        assert!(norway.eu_or_associated());
    }

    #[test]
    fn ctry1_germany_is_an_eu_member_state() {
        let germany = CountryTable::shipped().status("de", day("2025-01-01"));
        assert!(germany.eu_member);
        assert!(!germany.widening);
        assert!(germany.eu_or_associated());
    }

    #[test]
    fn ctry4_poland_and_kosovo_are_widening_countries() {
        let table = CountryTable::shipped();
        let poland = table.status("PL", day("2025-01-01"));
        assert!(poland.eu_member && poland.widening);
        let kosovo = table.status("XK", day("2025-01-01"));
        assert!(kosovo.widening && kosovo.eu_or_associated());
    }

    #[test]
    fn ctry5_ctry6_russia_and_belarus_restricted_from_2022_04_08() {
        let table = CountryTable::shipped();
        for country in ["RU", "BY"] {
            assert!(!table.status(country, day("2022-04-07")).restricted, "{country}");
            let status = table.status(country, day("2022-04-08"));
            assert!(status.restricted, "{country}");
            assert!(!status.eu_or_associated(), "{country}");
        }
    }

    #[test]
    fn unknown_country_is_a_third_country() {
        let table = CountryTable::shipped();
        assert_eq!(table.status("US", day("2025-01-01")), CountryStatus::default());
        assert_eq!(
            table.status("not a country", day("2025-01-01")),
            CountryStatus::default()
        );
    }

    #[test]
    fn el_and_uk_aliases_resolve_to_gr_and_gb() {
        let table = CountryTable::shipped();
        let on = day("2025-01-01");
        assert_eq!(table.status("EL", on), table.status("GR", on));
        assert!(table.status("el", on).eu_member);
        assert_eq!(table.status("UK", on), table.status("GB", on));
        assert!(table.status("UK", on).eu_or_associated());
    }

    #[test]
    fn valid_to_includes_its_last_day() {
        let csv = "country,status,scope,valid_from,valid_to,source\nNO,ASSOCIATED,ALL,2021-01-01,2021-12-31,test\n";
        let table = CountryTable::parse(csv, "test").unwrap_or_else(|error| panic!("{error}"));
        assert!(
            table
                .status("NO", day("2021-12-31") + 12 * 3_600_000_000)
                .eu_or_associated()
        );
        assert!(!table.status("NO", day("2022-01-01")).eu_or_associated());
        assert!(!table.status("NO", day("2020-12-31")).eu_or_associated());
    }

    #[test]
    fn bad_csv_errors_name_the_line_and_column() {
        let header = "country,status,scope,valid_from,valid_to,source\n";
        let good = "DE,EU,,2021-01-01,,test\n";
        let cases: [(&str, usize, &str); 9] = [
            ("XX,EU,,2021-01-01,,test\n", 3, "column country"),
            ("DE,MEMBER,,2021-01-01,,test\n", 3, "column status"),
            ("NO,ASSOCIATED,,2021-01-01,,test\n", 3, "column scope"),
            ("FR,EU,ALL,2021-01-01,,test\n", 3, "column scope"),
            ("FR,EU,,2021-13-01,,test\n", 3, "column valid_from"),
            ("FR,EU,,2021-01-01,2020-01-01,test\n", 3, "column valid_to"),
            ("FR,EU,,2021-01-01,,\n", 3, "column source"),
            ("FR,EU,,2021-01-01,test\n", 3, "expected 6"),
            ("DE,ASSOCIATED,ALL,2024-01-01,,test\n", 3, "line 2"),
        ];
        for (row, line, mentions) in cases {
            let error = parse_error(&format!("{header}{good}{row}"));
            assert_eq!(error.line(), line, "{row}: {error}");
            let message = error.to_string();
            assert!(message.starts_with(&format!("line {line}")), "{message}");
            assert!(message.contains(mentions), "{row}: {message}");
        }
        assert_eq!(parse_error("country;status\nDE;EU\n").line(), 1);
    }

    #[test]
    fn overlapping_periods_of_the_same_status_are_rejected() {
        let csv = "country,status,scope,valid_from,valid_to,source\n\
                   GB,ASSOCIATED,ALL_EXCEPT_EIC_FUND,2024-01-01,,a\n\
                   GB,ASSOCIATED,ALL,2025-01-01,2025-12-31,b\n";
        let error = parse_error(csv);
        assert_eq!(error.line(), 3, "{error}");
        let sequential = "country,status,scope,valid_from,valid_to,source\n\
                          CA,ASSOCIATED,PILLAR_II,2024-01-01,2024-12-31,a\n\
                          CA,ASSOCIATED,ALL,2025-01-01,,b\n\
                          CA,WIDENING,,2024-01-01,,c\n";
        assert!(CountryTable::parse(sequential, "test").is_ok());
    }
}
