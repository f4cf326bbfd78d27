//! Checks of the fields a caller sends; each violation names its field, and all are reported at
//! once. Every repeated field has a bound, checked before its entries are read.

use rti_platform::country::normalize_country;
use rti_platform::error::Violations;
pub use rti_platform::validate::{at_most, reference, repeats, text};
use rti_proto::allocation as proto;

use crate::domain::calls::{DEFAULT_MIN_GRANT_PERCENT, DEFAULT_NON_EU_CAP_PERCENT};

pub const MAX_TITLE_CHARS: usize = 300;
/// Installations one call opens (a programme's whole catalogue at most).
pub const MAX_CALL_INSTALLATIONS: usize = 200;
/// Countries of a list: every country there is.
pub const MAX_COUNTRIES: usize = 250;
/// Selection criteria of a call, and so the scores of a review.
pub const MAX_CRITERIA: usize = 20;
/// Reviewers on a call's panel.
pub const MAX_PANEL_MEMBERS: usize = 100;
pub use crate::service::MAX_TEXT_CHARS;

/// A caller's idempotency key: 1..128 characters.
pub fn request_id(value: &str, field: &str, violations: &mut Violations) {
    if value.is_empty() || value.chars().count() > 128 {
        violations.add(field, "is required: 1 to 128 characters, the same on a retry");
    }
}

/// The rulebook as the caller sends it, with the programme's defaults applied (TA-6: 20 %;
/// partial grants down to 50 %), so what is stored is what is applied.
pub fn rulebook(given: Option<&proto::Rulebook>, violations: &mut Violations) -> proto::Rulebook {
    let mut rulebook = given.cloned().unwrap_or(proto::Rulebook {
        transnationality: true,
        sme_dissemination_exemption: true,
        ..proto::Rulebook::default()
    });
    percent(
        &mut rulebook.non_eu_cap_percent,
        DEFAULT_NON_EU_CAP_PERCENT,
        "rulebook.non_eu_cap_percent",
        violations,
    );
    percent(
        &mut rulebook.min_grant_percent,
        DEFAULT_MIN_GRANT_PERCENT,
        "rulebook.min_grant_percent",
        violations,
    );
    if !(0..=100).contains(&rulebook.country_cap_percent) {
        violations.add("rulebook.country_cap_percent", "must be 0 (no cap) to 100");
    }
    for (value, field) in [
        (rulebook.new_user_bonus, "rulebook.new_user_bonus"),
        (rulebook.no_equivalent_ri_bonus, "rulebook.no_equivalent_ri_bonus"),
        (rulebook.widening_bonus, "rulebook.widening_bonus"),
    ] {
        if !(0.0..=5.0).contains(&value) {
            violations.add(field, "must be 0 to 5 points");
        }
    }
    if !(0.0..=10.0).contains(&rulebook.score_threshold) {
        violations.add("rulebook.score_threshold", "must be 0 to 10");
    }
    rulebook.reason = text(&rulebook.reason, "rulebook.reason", MAX_TEXT_CHARS, false, violations);
    rulebook
}

fn percent(value: &mut i32, default: i32, field: &str, violations: &mut Violations) {
    if *value == 0 {
        *value = default;
    } else if !(1..=100).contains(value) {
        violations.add(field, "must be 1 to 100 (0 for the programme's default)");
    }
}

/// Countries of a list of at most [`MAX_COUNTRIES`], normalised (EL → GR, UK → GB).
pub fn countries(values: &[String], field: &str, violations: &mut Violations) -> Vec<String> {
    if !at_most(values, field, MAX_COUNTRIES, violations) {
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| match normalize_country(value) {
            Ok(code) => Some(code),
            Err(error) => {
                violations.add(format!("{field}[{index}]"), error.to_string());
                None
            }
        })
        .collect()
}

/// The call's criteria: one to [`MAX_CRITERIA`], unique names, weights > 0.
pub fn criteria(given: &[proto::Criterion], violations: &mut Violations) -> Vec<proto::Criterion> {
    if given.is_empty() {
        violations.add(
            "criteria",
            "at least one selection criterion is required (TA-7: merit, feasibility)",
        );
    }
    if !at_most(given, "criteria", MAX_CRITERIA, violations) {
        return Vec::new();
    }
    let repeated = repeats(given.iter().map(|criterion| criterion.name.trim()));
    let mut criteria: Vec<proto::Criterion> = Vec::with_capacity(given.len());
    for (index, criterion) in given.iter().enumerate() {
        let name = text(
            &criterion.name,
            &format!("criteria[{index}].name"),
            64,
            true,
            violations,
        );
        if repeated[index] {
            violations.add(format!("criteria[{index}].name"), "is listed twice");
        }
        if !(criterion.weight.is_finite() && criterion.weight > 0.0) {
            violations.add(format!("criteria[{index}].weight"), "must be greater than 0");
        }
        criteria.push(proto::Criterion {
            name,
            weight: criterion.weight,
        });
    }
    criteria
}
