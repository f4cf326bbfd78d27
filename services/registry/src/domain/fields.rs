//! Field rules shared by the catalogue's entities, and update masks. Every repeated field has a
//! bound, checked before its entries are read.

use std::collections::HashSet;

use rti_platform::country::normalize_country;
use rti_platform::error::Violations;
use rti_platform::validate::at_most;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ACRONYM_CHARS: usize = 32;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub const MAX_UNIT_CHARS: usize = 200;
pub const MAX_TECHNIQUE_CHARS: usize = 200;
pub const MAX_TECHNIQUES: usize = 50;
/// Countries of an infrastructure or installation, or of a search filter: every country there is.
pub const MAX_COUNTRIES: usize = 250;
/// Entries of a list of enum values (access types, modes, domains, areas): each value a few
/// times over at most.
pub const MAX_ENUM_VALUES: usize = 64;
/// Descriptions of an installation, one per language.
pub const MAX_DESCRIPTIONS: usize = 40;
/// Annex I dual-use categories (0..9).
pub const MAX_DUAL_USE_CATEGORIES: usize = 10;
/// Paths of an update mask: the updatable fields, each once.
pub const MAX_MASK_PATHS: usize = 32;
pub const MAX_LEAD_TIME_DAYS: i32 = 3650;

/// Trims `value` and checks it holds 1..=`max` characters (or 0..=`max` when not `required`).
pub fn text(value: &mut String, field: &str, required: bool, max: usize, violations: &mut Violations) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_owned();
    }
    let length = value.chars().count();
    if required && length == 0 {
        violations.add(field, "must not be empty");
    } else if length > max {
        violations.add(field, format!("must be at most {max} characters, not {length}"));
    }
}

/// An empty string, or an absolute http(s) URL.
pub fn website(value: &mut String, field: &str, violations: &mut Violations) {
    *value = value.trim().to_owned();
    if value.is_empty() {
        return;
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => violations.add(field, format!("{value:?} is not an http(s) URL")),
    }
}

/// Normalises one country code (EL → GR, UK → GB); required when `required`.
pub fn country(value: &mut String, field: &str, required: bool, violations: &mut Violations) {
    if value.trim().is_empty() {
        if required {
            violations.add(field, "must not be empty");
        }
        return;
    }
    match normalize_country(value) {
        Ok(code) => *value = code,
        Err(error) => violations.add(field, error.to_string()),
    }
}

/// Normalises a list of at most [`MAX_COUNTRIES`] country codes, dropping duplicates but keeping
/// the first order.
pub fn countries(values: &mut Vec<String>, field: &str, violations: &mut Violations) {
    if !at_most(values, field, MAX_COUNTRIES, violations) {
        values.clear();
        return;
    }
    let mut normalized: Vec<String> = Vec::with_capacity(values.len());
    let mut seen = HashSet::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match normalize_country(value) {
            Ok(code) if seen.insert(code.clone()) => normalized.push(code),
            Ok(_) => {}
            Err(error) => violations.add(format!("{field}[{index}]"), error.to_string()),
        }
    }
    *values = normalized;
}

/// Applies an update mask: for each path, `set` copies that field from the request onto the
/// stored entity and returns whether the path names an updatable field. Every unknown path and
/// an empty mask are violations of `update_mask`.
pub fn apply_mask(paths: &[String], violations: &mut Violations, mut set: impl FnMut(&str) -> bool) {
    if paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field to update");
    }
    if !at_most(paths, "update_mask.paths", MAX_MASK_PATHS, violations) {
        return;
    }
    for (index, path) in paths.iter().enumerate() {
        if !set(path.as_str()) {
            violations.add(
                format!("update_mask.paths[{index}]"),
                format!("{path:?} is not a field that can be updated"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_text_and_enforces_limits() {
        let mut violations = Violations::new();
        let mut name = "  Beamline  ".to_owned();
        text(&mut name, "name", true, 10, &mut violations);
        assert_eq!(name, "Beamline");
        let mut empty = "   ".to_owned();
        text(&mut empty, "name", true, 10, &mut violations);
        let mut long = "x".repeat(11);
        text(&mut long, "acronym", false, 10, &mut violations);
        let fields: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "acronym"]);
    }

    #[test]
    fn normalises_countries_and_names_each_bad_one_by_index() {
        let mut violations = Violations::new();
        let mut list = vec!["de".to_owned(), "EL".to_owned(), "XX".to_owned(), "DE".to_owned()];
        countries(&mut list, "installation.countries", &mut violations);
        assert_eq!(list, ["DE", "GR"]);
        assert_eq!(violations.as_slice()[0].field, "installation.countries[2]");
    }

    #[test]
    fn accepts_only_http_websites() {
        let mut violations = Violations::new();
        website(&mut "https://example.org".to_owned(), "website", &mut violations);
        website(&mut String::new(), "website", &mut violations);
        assert!(violations.is_empty());
        website(&mut "ftp://example.org".to_owned(), "website", &mut violations);
        website(&mut "not a url".to_owned(), "website", &mut violations);
        assert_eq!(violations.as_slice().len(), 2);
    }

    #[test]
    fn mask_reports_unknown_paths_and_empty_masks() {
        let mut violations = Violations::new();
        apply_mask(&["name".into(), "colour".into()], &mut violations, |path| {
            path == "name"
        });
        apply_mask(&[], &mut violations, |_| true);
        let fields: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["update_mask.paths[1]", "update_mask.paths"]);
    }

    #[test]
    fn lists_over_their_bound_are_refused_by_name_without_reading_their_entries() {
        let mut violations = Violations::new();
        let mut many = vec!["XX".to_owned(); MAX_COUNTRIES + 1];
        countries(&mut many, "installation.countries", &mut violations);
        let paths = vec!["name".to_owned(); MAX_MASK_PATHS + 1];
        apply_mask(&paths, &mut violations, |_| {
            panic!("no path of an oversized mask is applied")
        });
        let found: Vec<_> = violations
            .as_slice()
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("installation.countries", "must have at most 250 entries, not 251"),
                ("update_mask.paths", "must have at most 32 entries, not 33"),
            ]
        );
    }
}
