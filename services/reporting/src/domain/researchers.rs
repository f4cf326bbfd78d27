//! Researcher counts (FTE) per country and year, the denominators of NORM-1: the table shipped
//! in `reference/researchers-fte.csv`, and the layouts the publisher distributes (Eurostat's bulk
//! SDMX-TSV and SDMX-CSV of `rd_p_persocc`), read into one shape. Only the series
//! `A,TOTAL,RSE,T,FTE` (researchers, all sectors, full-time equivalents) is kept.

use std::collections::BTreeMap;

const SHIPPED: &str = include_str!("../../reference/researchers-fte.csv");
pub const DATASET: &str = "rd_p_persocc";
/// A figure older than this many years before the year it would normalise is not used: a count
/// from 2019 describes 2026 badly (NORM-1 asks for the latest year, not any year).
pub const DEFAULT_MAX_AGE_YEARS: i32 = 5;
/// The key of the series kept, in Eurostat's dimension order before `geo`.
const SERIES: [&str; 5] = ["A", "TOTAL", "RSE", "T", "FTE"];

/// One sourced denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct ResearcherCount {
    /// ISO 3166-1 alpha-2: GR and GB, not Eurostat's EL and UK.
    pub country: String,
    pub year: i32,
    pub researchers_fte: f64,
    /// Eurostat's flags as published (`p`, `e`, `bd` …), empty for none.
    pub flag: String,
    pub dataset: String,
    pub source: String,
}

/// A file that cannot be read, with the line (from 1) and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "line {}, field {}: {}", self.line, self.field, self.message)
    }
}

impl std::error::Error for ParseError {}

fn error(line: usize, field: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The table shipped with the service.
pub fn shipped() -> Vec<ResearcherCount> {
    // The shipped file is checked by a test; a broken one would ship no denominators at all.
    parse_csv(SHIPPED).unwrap_or_default()
}

/// Detects the layout from the first line and reads it: the shipped CSV, Eurostat's SDMX-TSV,
/// or Eurostat's SDMX-CSV. `source` is kept beside every figure read from the publisher's files.
pub fn parse_any(text: &str, source: &str) -> Result<Vec<ResearcherCount>, ParseError> {
    let header = text.lines().next().unwrap_or_default();
    if header.starts_with("country,year,researchers_fte") {
        parse_csv(text)
    } else if header.contains("\\TIME_PERIOD") {
        parse_eurostat_tsv(text, source)
    } else if header.contains("OBS_VALUE") {
        parse_eurostat_csv(text, source)
    } else {
        Err(error(
            1,
            "header",
            "not a researcher count table: expected Eurostat's SDMX-TSV (freq,…,geo\\TIME_PERIOD), its SDMX-CSV \
             (…,OBS_VALUE,…) or the shipped layout (country,year,researchers_fte,…)",
        ))
    }
}

/// The shipped layout: `country,year,researchers_fte,flag,dataset,source`.
pub fn parse_csv(text: &str) -> Result<Vec<ResearcherCount>, ParseError> {
    let mut counts = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(6, ',').collect();
        let [country, year, value, flag, dataset, source] = fields[..] else {
            return Err(error(number, "line", "expected 6 comma-separated fields"));
        };
        counts.push(ResearcherCount {
            country: country_code(country)
                .ok_or_else(|| error(number, "country", format!("{country:?} is not a country")))?,
            year: parse_year(year).ok_or_else(|| error(number, "year", format!("{year:?} is not a year")))?,
            researchers_fte: parse_value(value).map_err(|message| error(number, "researchers_fte", message))?,
            flag: flag.to_owned(),
            dataset: dataset.to_owned(),
            source: source.to_owned(),
        });
    }
    Ok(counts)
}

/// Eurostat's bulk SDMX-TSV: a header `freq,sectperf,prof_pos,sex,unit,geo\TIME_PERIOD` then the
/// years, one series per line, each cell "value flags" or ": …" for none.
pub fn parse_eurostat_tsv(text: &str, source: &str) -> Result<Vec<ResearcherCount>, ParseError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let dimensions: Vec<&str> = header[0].split('\\').next().unwrap_or_default().split(',').collect();
    let position = |name: &str| {
        dimensions
            .iter()
            .position(|dimension| dimension.trim() == name)
            .ok_or_else(|| error(1, name, format!("the header names no {name} dimension")))
    };
    let key_positions = ["freq", "sectperf", "prof_pos", "sex", "unit"]
        .map(position)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let geo = position("geo")?;
    let years = header[1..]
        .iter()
        .map(|label| parse_year(label.trim()).ok_or_else(|| error(1, label.trim(), "is not a year")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut counts = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        let cells: Vec<&str> = line.split('\t').collect();
        let key: Vec<&str> = cells[0].split(',').map(str::trim).collect();
        if key.len() != dimensions.len() || key_positions.iter().zip(SERIES).any(|(at, wanted)| key[*at] != wanted) {
            continue;
        }
        let Some(country) = country_code(key[geo]) else {
            continue;
        };
        for (year, cell) in years.iter().zip(cells.iter().skip(1)) {
            if let Some((value, flag)) =
                cell_value(cell).map_err(|message| error(number, &year.to_string(), message))?
            {
                counts.push(count(&country, *year, value, flag, source));
            }
        }
    }
    found_any(counts)
}

/// Eurostat's SDMX-CSV: one observation per line, the columns named in the header (the
/// labelled variant's "geo: Geopolitical entity" names are read by their code).
pub fn parse_eurostat_csv(text: &str, source: &str) -> Result<Vec<ResearcherCount>, ParseError> {
    let mut lines = text.lines();
    let header: Vec<String> = split_csv(lines.next().unwrap_or_default())
        .iter()
        .map(|name| name.split(':').next().unwrap_or_default().trim().to_owned())
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| error(1, name, format!("the header has no {name} column")))
    };
    let key_columns = ["freq", "sectperf", "prof_pos", "sex", "unit"]
        .map(column)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let (geo, period, value, flag) = (
        column("geo")?,
        column("TIME_PERIOD")?,
        column("OBS_VALUE")?,
        column("OBS_FLAG")?,
    );
    let mut counts = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line);
        let field = |at: usize| {
            fields
                .get(at)
                .map_or("", |text| text.split(':').next().unwrap_or_default().trim())
        };
        if key_columns.iter().zip(SERIES).any(|(at, wanted)| field(*at) != wanted) {
            continue;
        }
        let Some(country) = country_code(field(geo)) else {
            continue;
        };
        let year = parse_year(field(period)).ok_or_else(|| error(number, "TIME_PERIOD", "is not a year"))?;
        if field(value).is_empty() || field(value) == ":" {
            continue;
        }
        let figure = parse_value(field(value)).map_err(|message| error(number, "OBS_VALUE", message))?;
        counts.push(count(&country, year, figure, field(flag), source));
    }
    found_any(counts)
}

fn found_any(counts: Vec<ResearcherCount>) -> Result<Vec<ResearcherCount>, ParseError> {
    if counts.is_empty() {
        Err(error(
            1,
            "series",
            "no A,TOTAL,RSE,T,FTE series (researchers, all sectors, FTE) with a value was found",
        ))
    } else {
        Ok(counts)
    }
}

fn count(country: &str, year: i32, value: f64, flag: &str, source: &str) -> ResearcherCount {
    ResearcherCount {
        country: country.to_owned(),
        year,
        researchers_fte: value,
        flag: flag.to_owned(),
        dataset: DATASET.to_owned(),
        source: source.to_owned(),
    }
}

/// "61832 p" → (61832, "p"); ": " or ": c" → none.
fn cell_value(cell: &str) -> Result<Option<(f64, &str)>, String> {
    let cell = cell.trim();
    let (value, flag) = cell.split_once(' ').unwrap_or((cell, ""));
    if value.is_empty() || value.starts_with(':') {
        return Ok(None);
    }
    Ok(Some((parse_value(value)?, flag.trim())))
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        Ok(_) => Err(format!("{text:?} is not a positive count")),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

fn parse_year(text: &str) -> Option<i32> {
    let year: i32 = text.trim().parse().ok()?;
    (1950..=2200).contains(&year).then_some(year)
}

/// A two-letter geo code as ISO alpha-2 (EL → GR, UK → GB); aggregates such as `EU27_2020` are
/// not countries.
fn country_code(geo: &str) -> Option<String> {
    let geo = geo.trim();
    if geo.len() != 2 || !geo.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return None;
    }
    Some(match geo {
        "EL" => "GR".to_owned(),
        "UK" => "GB".to_owned(),
        other => other.to_owned(),
    })
}

/// One CSV line's fields, with RFC 4180 quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut characters = line.chars().peekable();
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                field.push('"');
                characters.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (other, _) => field.push(other),
        }
    }
    fields.push(field);
    fields
}

/// The denominators by country, for lookups.
#[derive(Debug, Clone, Default)]
pub struct ResearcherTable {
    by_country: BTreeMap<String, BTreeMap<i32, ResearcherCount>>,
}

impl ResearcherTable {
    /// Later rows for the same country and year replace earlier ones.
    pub fn new(rows: Vec<ResearcherCount>) -> Self {
        let mut by_country: BTreeMap<String, BTreeMap<i32, ResearcherCount>> = BTreeMap::new();
        for row in rows {
            by_country.entry(row.country.clone()).or_default().insert(row.year, row);
        }
        Self { by_country }
    }

    /// NORM-1: the count of the latest year ≤ `year`, no older than `max_age_years`; none when
    /// there is no sourced figure.
    pub fn denominator(&self, country: &str, year: i32, max_age_years: i32) -> Option<&ResearcherCount> {
        let (found, count) = self.by_country.get(country)?.range(..=year).next_back()?;
        (year - found <= max_age_years).then_some(count)
    }

    pub fn len(&self) -> usize {
        self.by_country.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_country.is_empty()
    }
}

/// Users per 1000 researchers (FTE), to four decimals: small countries' figures stay readable,
/// large countries' do not vanish into zeros.
pub fn per_thousand(users: u64, denominator: &ResearcherCount) -> f64 {
    let value = users as f64 / denominator.researchers_fte * 1000.0;
    (value * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "freq,sectperf,prof_pos,sex,unit,geo\\TIME_PERIOD\t2022 \t2023 \t2024 \n\
                       A,BES,RSE,T,FTE,DE\t1 \t2 \t3 \n\
                       A,TOTAL,RSE,T,FTE,DE\t486011 \t500166 \t513100 p\n\
                       A,TOTAL,RSE,T,FTE,EL\t51611.3 \t54679.1 bd\t: \n\
                       A,TOTAL,RSE,T,FTE,EU27_2020\t2087393.8 e\t2155631.5 e\t2207452 e\n\
                       A,TOTAL,RSE,T,FTE,UK\t: \t: c\t: \n\
                       A,TOTAL,RSE,T,HC,DE\t9 \t9 \t9 \n";

    #[test]
    fn the_shipped_table_parses_whole_with_its_flags() {
        let counts = shipped();
        assert_eq!(counts.len(), 133);
        let find = |country: &str, year: i32| {
            counts
                .iter()
                .find(|count| count.country == country && count.year == year)
                .unwrap_or_else(|| panic!("{country} {year}"))
        };
        assert_eq!(
            (find("DE", 2024).researchers_fte, find("DE", 2024).flag.as_str()),
            (513_100.0, "p")
        );
        assert_eq!(find("GR", 2022).researchers_fte, 51_611.3);
        assert_eq!(find("GB", 2019).flag, "p");
        assert!(
            counts
                .iter()
                .all(|count| count.dataset == DATASET && !count.source.is_empty())
        );
    }

    #[test]
    fn reads_the_total_researcher_series_of_eurostats_tsv_only() {
        let counts = parse_eurostat_tsv(TSV, "test download").expect("parses");
        let read: Vec<(&str, i32, f64, &str)> = counts
            .iter()
            .map(|count| {
                (
                    count.country.as_str(),
                    count.year,
                    count.researchers_fte,
                    count.flag.as_str(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                ("DE", 2022, 486_011.0, ""),
                ("DE", 2023, 500_166.0, ""),
                ("DE", 2024, 513_100.0, "p"),
                ("GR", 2022, 51_611.3, ""),
                ("GR", 2023, 54_679.1, "bd"),
            ]
        );
        assert!(counts.iter().all(|count| count.source == "test download"));
        assert_eq!(parse_any(TSV, "x").expect("detected").len(), 5);
    }

    #[test]
    fn reads_eurostats_sdmx_csv_by_column_name() {
        let csv = "DATAFLOW,LAST UPDATE,freq,sectperf,prof_pos,sex,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n\
                   ESTAT:RD_P_PERSOCC(1.0),\"15/01/27 23:00:00\",A,TOTAL,RSE,T,FTE,LU,2025,4000,\n\
                   ESTAT:RD_P_PERSOCC(1.0),\"15/01/27 23:00:00\",A,TOTAL,RSE,T,FTE,EL,2025,52000,p\n\
                   ESTAT:RD_P_PERSOCC(1.0),\"15/01/27 23:00:00\",A,TOTAL,TEC,T,FTE,LU,2025,99,\n";
        let counts = parse_any(csv, "csv download").expect("parses");
        assert_eq!(counts.len(), 2);
        assert_eq!((counts[1].country.as_str(), counts[1].flag.as_str()), ("GR", "p"));
        let labelled = "freq: Time frequency,sectperf: Sector,prof_pos: Position,sex: Sex,unit: Unit,\
                        geo: Geopolitical entity,TIME_PERIOD: Time,OBS_VALUE: Value,OBS_FLAG: Flag\n\
                        A: Annual,TOTAL: All sectors,RSE: Researchers,T: Total,FTE: Full-time equivalent,\
                        MT: Malta,2024,1313,\n";
        assert_eq!(
            parse_any(labelled, "x")
                .expect("labelled")
                .first()
                .map(|count| count.year),
            Some(2024)
        );
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let bad = TSV.replace("513100 p", "51x100 p");
        let error = parse_eurostat_tsv(&bad, "x").expect_err("not a number");
        assert_eq!((error.line, error.field.as_str()), (3, "2024"));
        assert_eq!(parse_any("hello", "x").expect_err("unknown").field, "header");
        let only_other_series = "freq,sectperf,prof_pos,sex,unit,geo\\TIME_PERIOD\t2024 \nA,BES,RSE,T,FTE,DE\t1 \n";
        assert_eq!(parse_any(only_other_series, "x").expect_err("nothing").field, "series");
        let bad_row = "country,year,researchers_fte,flag,dataset,source\nDE,20x4,1,,d,s\n";
        assert_eq!(parse_csv(bad_row).expect_err("year").field, "year");
    }

    #[test]
    fn the_denominator_is_the_latest_sourced_year_not_too_old() {
        let table = ResearcherTable::new(shipped());
        assert_eq!(
            table
                .denominator("DE", 2026, DEFAULT_MAX_AGE_YEARS)
                .map(|count| count.year),
            Some(2024)
        );
        assert_eq!(
            table
                .denominator("DE", 2022, DEFAULT_MAX_AGE_YEARS)
                .map(|count| count.year),
            Some(2022)
        );
        assert_eq!(
            table
                .denominator("CH", 2022, DEFAULT_MAX_AGE_YEARS)
                .map(|count| count.year),
            Some(2021)
        );
        assert!(
            table.denominator("GB", 2026, DEFAULT_MAX_AGE_YEARS).is_none(),
            "2019 is too old for 2026"
        );
        assert!(table.denominator("GB", 2023, DEFAULT_MAX_AGE_YEARS).is_some());
        assert!(
            table.denominator("UA", 2024, DEFAULT_MAX_AGE_YEARS).is_none(),
            "no sourced figure"
        );
        assert!(
            table.denominator("DE", 2020, DEFAULT_MAX_AGE_YEARS).is_none(),
            "before the first figure"
        );
        assert_eq!(table.len(), 133);
    }

    #[test]
    fn users_per_thousand_researchers() {
        let luxembourg = ResearcherCount {
            country: "LU".into(),
            year: 2024,
            researchers_fte: 3482.5,
            flag: "p".into(),
            dataset: DATASET.into(),
            source: "s".into(),
        };
        assert_eq!(per_thousand(7, &luxembourg), 2.0101);
        assert_eq!(per_thousand(0, &luxembourg), 0.0);
    }
}
