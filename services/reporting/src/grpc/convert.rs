//! Proto ↔ domain for the reporting RPCs: usage records checked field by field (all problems at
//! once, by path), queries into the domain's input, rows and denominators back to proto, and a
//! result as CSV.

use rti_platform::country::normalize_country;
use rti_platform::error::Violations;
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_platform::validate;
use rti_proto::reporting as proto;

use crate::domain::cells::Value;
use crate::domain::disclosure::Withheld;
use crate::domain::query::QueryInput;
use crate::domain::reports::{InstallationAccess, ResearcherAccess, ScreeningFigure};
use crate::domain::researchers::ResearcherCount;
use crate::domain::usage::{UsageRecord, period_days};
use crate::domain::{Dimension, Measure, access_mode, requester_type};
use crate::service::StatisticsRow;

/// Longest opaque id a recorder may choose (record, user, organisation).
const MAX_OPAQUE_ID: usize = 128;

/// A usage record as sent, checked; problems go to `violations` under `prefix` + field.
pub fn usage_record(record: &proto::UsageRecord, prefix: &str, violations: &mut Violations) -> Option<UsageRecord> {
    let before = violations.as_slice().len();
    let field = |name: &str| format!("{prefix}{name}");
    let opaque = |value: &str, name: &str, violations: &mut Violations| {
        let value = validate::text(value, &field(name), MAX_OPAQUE_ID, true, violations);
        if value.contains('@') {
            violations.add(field(name), "must be a pseudonymous id, not an e-mail address");
        }
        value
    };
    let record_id = opaque(&record.record_id, "record_id", violations);
    validate::reference(&record.access_request_id, &field("access_request_id"), violations);
    validate::reference(&record.installation_id, &field("installation_id"), violations);
    if !record.slot_id.is_empty() {
        validate::reference(&record.slot_id, &field("slot_id"), violations);
    }
    let user_id = opaque(&record.user_id, "user_id", violations);
    let organisation_id = opaque(&record.home_organisation_id, "home_organisation_id", violations);
    let organisation_type = match record.home_organisation_type() {
        proto::OrganisationType::University => Some(requester_type::UNIVERSITY),
        proto::OrganisationType::ResearchOrganisation => Some(requester_type::RESEARCH_ORGANISATION),
        proto::OrganisationType::StartUp => Some(requester_type::START_UP),
        proto::OrganisationType::Sme => Some(requester_type::SME),
        proto::OrganisationType::LargeCompany => Some(requester_type::LARGE_COMPANY),
        proto::OrganisationType::PublicBody => Some(requester_type::PUBLIC_BODY),
        proto::OrganisationType::Other => Some(requester_type::OTHER),
        proto::OrganisationType::Unspecified => {
            violations.add(field("home_organisation_type"), "is required");
            None
        }
    };
    let home_country = match normalize_country(&record.home_country) {
        Ok(country) => country,
        Err(error) => {
            violations.add(field("home_country"), error.to_string());
            String::new()
        }
    };
    let period_start = record.period_start.as_ref().map(micros_from_timestamp);
    let period_end = record.period_end.as_ref().map(micros_from_timestamp);
    if period_start.is_none() {
        violations.add(field("period_start"), "is required");
    }
    if period_end.is_none() {
        violations.add(field("period_end"), "is required");
    }
    if let (Some(start), Some(end)) = (period_start, period_end)
        && end <= start
    {
        violations.add(field("period_end"), "must be after period_start");
    }
    if record.units_used <= 0 || record.units_used > 1_000_000 {
        violations.add(field("units_used"), "must be between 1 and 1000000");
    }
    let mode = match record.access_mode() {
        proto::AccessMode::Physical => Some(access_mode::PHYSICAL),
        proto::AccessMode::Remote => Some(access_mode::REMOTE),
        proto::AccessMode::Virtual => Some(access_mode::VIRTUAL),
        proto::AccessMode::Unspecified => {
            violations.add(field("access_mode"), "is required");
            None
        }
    };
    if record.days_on_site < 0 {
        violations.add(field("days_on_site"), "must not be negative");
    } else if record.days_on_site > 0 && mode.is_some_and(|mode| mode != access_mode::PHYSICAL) {
        violations.add(field("days_on_site"), "must be 0 for remote and virtual access");
    } else if let (Some(start), Some(end)) = (period_start, period_end) {
        match period_days(start, end) {
            None => violations.add(field("period_end"), "is too far from period_start to count its days"),
            Some(days) if i64::from(record.days_on_site) > days => {
                violations.add(field("days_on_site"), format!("exceeds the {days} days of the period"));
            }
            Some(_) => {}
        }
    }
    if violations.as_slice().len() > before {
        return None;
    }
    Some(UsageRecord {
        record_id,
        request_id: record.access_request_id.clone(),
        installation_id: record.installation_id.clone(),
        slot_id: record.slot_id.clone(),
        user_id,
        organisation_id,
        organisation_type: organisation_type?,
        home_country,
        period_start: period_start?,
        period_end: period_end?,
        units_used: record.units_used,
        days_on_site: record.days_on_site,
        access_mode: mode?,
        eu_funded: record.eu_funded,
        new_user: record.new_user,
    })
}

/// A query as sent, for the domain to check.
pub fn query_input(request: proto::QueryUsageStatisticsRequest) -> QueryInput {
    let filter = request.filter.unwrap_or_default();
    QueryInput {
        group_by: request.group_by,
        measures: request.measures,
        from: filter.from.as_ref().map(micros_from_timestamp),
        to: filter.to.as_ref().map(micros_from_timestamp),
        filters: vec![
            (Dimension::HomeCountry, "home_countries", filter.home_countries),
            (Dimension::Installation, "installation_ids", filter.installation_ids),
            (
                Dimension::Infrastructure,
                "infrastructure_ids",
                filter.infrastructure_ids,
            ),
            (
                Dimension::ProviderCountry,
                "provider_countries",
                filter.provider_countries,
            ),
            (Dimension::AccessMode, "access_modes", filter.access_modes),
            (Dimension::Lane, "lanes", filter.lanes),
            (Dimension::RequesterType, "requester_types", filter.requester_types),
            (Dimension::FundingScheme, "funding_schemes", filter.funding_schemes),
        ],
    }
}

/// A required period [from, to): both bounds, `to` after `from`.
pub fn period(
    from: Option<&rti_proto::pbjson_types::Timestamp>,
    to: Option<&rti_proto::pbjson_types::Timestamp>,
    violations: &mut Violations,
) -> (i64, i64) {
    let from = from.map(micros_from_timestamp);
    let to = to.map(micros_from_timestamp);
    if from.is_none() {
        violations.add("from", "is required");
    }
    if to.is_none() {
        violations.add("to", "is required");
    }
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        violations.add("to", "must be after from");
    }
    (from.unwrap_or(0), to.unwrap_or(0))
}

pub fn researcher_access(access: ResearcherAccess) -> proto::ResearcherAccess {
    proto::ResearcherAccess {
        user_id: access.user_id,
        home_organisation_id: access.organisation_id,
        home_organisation_type: organisation_type(&access.organisation_type) as i32,
        home_country: access.home_country,
        installation_id: access.installation_id,
        installation_name: access.installation_name,
        access_request_id: access.request_id,
        access_mode: match access.access_mode.as_str() {
            access_mode::PHYSICAL => proto::AccessMode::Physical,
            access_mode::REMOTE => proto::AccessMode::Remote,
            access_mode::VIRTUAL => proto::AccessMode::Virtual,
            _ => proto::AccessMode::Unspecified,
        } as i32,
        units_used: access.units_used,
        days_on_site: access.days_on_site,
        new_user: access.new_user,
        first_access: Some(timestamp_from_micros(access.first_access)),
        last_access: Some(timestamp_from_micros(access.last_access)),
    }
}

fn organisation_type(name: &str) -> proto::OrganisationType {
    match name {
        requester_type::UNIVERSITY => proto::OrganisationType::University,
        requester_type::RESEARCH_ORGANISATION => proto::OrganisationType::ResearchOrganisation,
        requester_type::START_UP => proto::OrganisationType::StartUp,
        requester_type::SME => proto::OrganisationType::Sme,
        requester_type::LARGE_COMPANY => proto::OrganisationType::LargeCompany,
        requester_type::PUBLIC_BODY => proto::OrganisationType::PublicBody,
        _ => proto::OrganisationType::Other,
    }
}

pub fn installation_access(line: InstallationAccess) -> proto::InstallationAccess {
    proto::InstallationAccess {
        installation_id: line.installation_id,
        installation_name: line.installation_name,
        infrastructure_id: line.infrastructure_id,
        provider_country: line.provider_country,
        units_offered: line.units_offered,
        units_granted: line.units_granted,
        units_delivered: line.units_delivered,
        units_used: line.units_used,
        users: line.users,
        new_users: line.new_users,
        user_projects: line.user_projects,
    }
}

pub fn screening_figure(figure: ScreeningFigure) -> proto::ScreeningFigure {
    let measure = |name: &str, value: Value| measure_value(name, value, None);
    proto::ScreeningFigure {
        home_country: figure.home_country,
        technology_area: figure.technology_area,
        held: Some(measure("held", figure.held)),
        declined: Some(measure("declined", figure.declined)),
        waited_days_median: Some(measure("waited_days_median", figure.waited_days_median)),
    }
}

pub fn denominator(count: &ResearcherCount) -> proto::Denominator {
    proto::Denominator {
        country: count.country.clone(),
        year: count.year,
        researchers_fte: count.researchers_fte,
        flag: count.flag.clone(),
        dataset: count.dataset.clone(),
        source: count.source.clone(),
    }
}

pub fn row(row: StatisticsRow) -> proto::StatisticsRow {
    proto::StatisticsRow {
        groups: row
            .groups
            .into_iter()
            .map(|(dimension, value, label)| proto::GroupValue {
                dimension: dimension.name().to_owned(),
                value,
                label,
            })
            .collect(),
        values: row
            .values
            .into_iter()
            .map(|(measure, value, denominator_used)| measure_value(measure.name(), value, denominator_used.as_ref()))
            .collect(),
    }
}

fn measure_value(name: &str, value: Value, denominator_used: Option<&ResearcherCount>) -> proto::MeasureValue {
    proto::MeasureValue {
        measure: name.to_owned(),
        value: match value {
            Value::Integer(integer) => Some(proto::measure_value::Value::Integer(integer)),
            Value::Decimal(decimal) => Some(proto::measure_value::Value::Decimal(decimal)),
            Value::Withheld(reason) => Some(proto::measure_value::Value::Withheld(withheld(reason) as i32)),
            Value::NoDenominator => Some(proto::measure_value::Value::Withheld(
                proto::WithheldReason::NoDenominator as i32,
            )),
            Value::Empty => None,
        },
        denominator: denominator_used.map(denominator),
    }
}

fn withheld(reason: Withheld) -> proto::WithheldReason {
    match reason {
        Withheld::Threshold => proto::WithheldReason::Threshold,
        Withheld::Dominance => proto::WithheldReason::Dominance,
    }
}

/// The header line of a result's CSV: each group (with a label column for installations and
/// infrastructures), each measure, and the denominator's year, flag and source after a
/// normalised measure.
pub fn csv_header(group_by: &[Dimension], measures: &[Measure]) -> String {
    let mut columns = Vec::new();
    for dimension in group_by {
        columns.push(dimension.name().to_owned());
        if matches!(dimension, Dimension::Installation | Dimension::Infrastructure) {
            columns.push(format!("{}_name", dimension.name()));
        }
    }
    for measure in measures {
        columns.push(measure.name().to_owned());
        if *measure == Measure::UsersPer1000Researchers {
            columns.extend(["denominator_year", "denominator_flag", "denominator_source"].map(str::to_owned));
        }
    }
    csv_line(&columns)
}

/// One row as a CSV line: a withheld value is "x", an empty one is empty.
pub fn csv_row(row: &StatisticsRow) -> String {
    let mut columns = Vec::new();
    for (dimension, value, label) in &row.groups {
        columns.push(value.clone());
        if matches!(dimension, Dimension::Installation | Dimension::Infrastructure) {
            columns.push(label.clone());
        }
    }
    for (measure, value, denominator) in &row.values {
        columns.push(match value {
            Value::Integer(integer) => integer.to_string(),
            Value::Decimal(decimal) => decimal.to_string(),
            Value::Withheld(_) | Value::NoDenominator => "x".to_owned(),
            Value::Empty => String::new(),
        });
        if *measure == Measure::UsersPer1000Researchers {
            match denominator {
                Some(count) => columns.extend([count.year.to_string(), count.flag.clone(), count.source.clone()]),
                None => columns.extend([String::new(), String::new(), String::new()]),
            }
        }
    }
    csv_line(&columns)
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
fn csv_line(columns: &[String]) -> String {
    let mut line = columns
        .iter()
        .map(|column| {
            if column.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", column.replace('"', "\"\""))
            } else {
                column.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_and_quotes_are_quoted() {
        assert_eq!(
            csv_line(&["a".into(), "b,c".into(), "say \"x\"".into()]),
            "a,\"b,c\",\"say \"\"x\"\"\"\r\n"
        );
    }

    #[test]
    fn a_record_with_every_field_wrong_names_them_all() {
        let record = proto::UsageRecord {
            user_id: "someone@example.org".into(),
            days_on_site: -1,
            ..proto::UsageRecord::default()
        };
        let mut violations = Violations::new();
        assert!(usage_record(&record, "record.", &mut violations).is_none());
        let fields: Vec<&str> = violations
            .as_slice()
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "record.record_id",
                "record.access_request_id",
                "record.installation_id",
                "record.user_id",
                "record.home_organisation_id",
                "record.home_organisation_type",
                "record.home_country",
                "record.period_start",
                "record.period_end",
                "record.units_used",
                "record.access_mode",
                "record.days_on_site",
            ]
        );
    }
}
