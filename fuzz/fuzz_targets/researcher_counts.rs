//! The researcher-count import (NORM-1): arbitrary text read as each layout the publisher
//! distributes and as the shipped CSV, the layout detected as `ImportResearcherCounts` detects
//! it, and every figure read kept within what the parsers promise: a country code, a year of the
//! accepted range, a positive count, and a denominator the table finds again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rti_reporting::domain::researchers::{self, DEFAULT_MAX_AGE_YEARS, ResearcherCount, ResearcherTable, per_thousand};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        researchers::parse_any(text, "fuzz"),
        researchers::parse_csv(text),
        researchers::parse_eurostat_tsv(text, "fuzz"),
        researchers::parse_eurostat_csv(text, "fuzz"),
    ] {
        if let Ok(counts) = parsed {
            check(counts);
        }
    }
});

fn check(counts: Vec<ResearcherCount>) {
    for count in &counts {
        assert!(
            count.country.len() == 2 && count.country.bytes().all(|byte| byte.is_ascii_uppercase()),
            "{count:?} has no country code"
        );
        assert!((1950..=2200).contains(&count.year), "{count:?} has a year out of range");
        assert!(
            count.researchers_fte.is_finite() && count.researchers_fte > 0.0,
            "{count:?} is not a positive count"
        );
        assert!(per_thousand(1, count).is_finite());
    }
    let table = ResearcherTable::new(counts.clone());
    for count in &counts {
        let found = table.denominator(&count.country, count.year, 0);
        assert_eq!(
            found.map(|found| found.year),
            Some(count.year),
            "{count:?} is not found again"
        );
        let _ = table.denominator(
            &count.country,
            count.year.saturating_add(DEFAULT_MAX_AGE_YEARS),
            DEFAULT_MAX_AGE_YEARS,
        );
    }
}
