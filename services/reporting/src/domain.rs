//! The reporting domain: what statistics are grouped by and what they measure (KPI-4), the words
//! their values use, usage records and their checks, the disclosure control, and the researcher
//! counts that normalise them (NORM-1). No tonic, sqlx or proto here.

pub mod cells;
pub mod disclosure;
pub mod facts;
pub mod projection;
pub mod query;
pub mod reports;
pub mod researchers;
pub mod usage;

/// What a statistics row can be grouped and filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Country of the user's home organisation (usage), or of the requesting organisation.
    HomeCountry,
    Installation,
    Infrastructure,
    /// Country of the seat of the provider that runs the infrastructure.
    ProviderCountry,
    Month,
    Quarter,
    Year,
    AccessMode,
    Lane,
    RequesterType,
    FundingScheme,
}

impl Dimension {
    pub const ALL: [Dimension; 11] = [
        Dimension::HomeCountry,
        Dimension::Installation,
        Dimension::Infrastructure,
        Dimension::ProviderCountry,
        Dimension::Month,
        Dimension::Quarter,
        Dimension::Year,
        Dimension::AccessMode,
        Dimension::Lane,
        Dimension::RequesterType,
        Dimension::FundingScheme,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::HomeCountry => "home_country",
            Dimension::Installation => "installation",
            Dimension::Infrastructure => "infrastructure",
            Dimension::ProviderCountry => "provider_country",
            Dimension::Month => "month",
            Dimension::Quarter => "quarter",
            Dimension::Year => "year",
            Dimension::AccessMode => "access_mode",
            Dimension::Lane => "lane",
            Dimension::RequesterType => "requester_type",
            Dimension::FundingScheme => "funding_scheme",
        }
    }

    pub fn parse(text: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|dimension| dimension.name() == text)
    }

    /// A period dimension: its values come from the fact's month.
    pub fn is_period(self) -> bool {
        matches!(self, Dimension::Month | Dimension::Quarter | Dimension::Year)
    }
}

/// The fact a measure is computed from; each has its own dimensions' meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    /// Usage records (operators' word on who used what, when).
    Usage,
    /// Access requests, per requested installation, by the month they were submitted.
    Requests,
    /// Units granted per request and installation, by the month of the decision.
    Grants,
    /// Slots whose delivery was recorded, by the month the slot was offered in.
    Deliveries,
    /// Missed decision-clock milestones, by the month they fell due (IND-7d).
    Breaches,
    /// Units that transnational-access calls offered per installation, and the units their
    /// proposals asked for, by the month the call closed.
    Calls,
}

impl Fact {
    /// Whether a statistic of this fact can be split (or filtered) by `dimension`. Only usage
    /// records know how the user reached the installation; what a call offers belongs to no
    /// requester.
    pub fn splits_by(self, dimension: Dimension) -> bool {
        match self {
            Fact::Usage => true,
            Fact::Calls => matches!(
                dimension,
                Dimension::Installation
                    | Dimension::Infrastructure
                    | Dimension::ProviderCountry
                    | Dimension::Month
                    | Dimension::Quarter
                    | Dimension::Year
            ),
            Fact::Requests | Fact::Grants | Fact::Deliveries | Fact::Breaches => dimension != Dimension::AccessMode,
        }
    }
}

/// What a statistics row can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    UnitsGranted,
    UnitsDelivered,
    UnitsLost,
    UnitsUsed,
    /// Distinct users (pseudonymous ids).
    Users,
    NewUsers,
    /// Distinct user groups, i.e. the access requests the users came under.
    UserGroups,
    /// Users per 1000 researchers (FTE) of their home country (NORM-1).
    UsersPer1000Researchers,
    RequestsReceived,
    RequestsAccepted,
    RequestsDeclined,
    /// Accepted ÷ (accepted + declined), in percent.
    AcceptanceRate,
    /// Days from submission to decision.
    DecisionDaysMedian,
    DecisionDaysP90,
    /// Days from the decision to the first slot offered.
    FirstSlotDaysMedian,
    /// Units asked for by transnational-access proposals ÷ units their calls offered.
    Oversubscription,
    /// TA-6: units granted to groups whose majority works outside EU/associated countries, in
    /// percent of units granted.
    NonEuShare,
    ClockBreaches,
}

impl Measure {
    pub const ALL: [Measure; 18] = [
        Measure::UnitsGranted,
        Measure::UnitsDelivered,
        Measure::UnitsLost,
        Measure::UnitsUsed,
        Measure::Users,
        Measure::NewUsers,
        Measure::UserGroups,
        Measure::UsersPer1000Researchers,
        Measure::RequestsReceived,
        Measure::RequestsAccepted,
        Measure::RequestsDeclined,
        Measure::AcceptanceRate,
        Measure::DecisionDaysMedian,
        Measure::DecisionDaysP90,
        Measure::FirstSlotDaysMedian,
        Measure::Oversubscription,
        Measure::NonEuShare,
        Measure::ClockBreaches,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::UnitsGranted => "units_granted",
            Measure::UnitsDelivered => "units_delivered",
            Measure::UnitsLost => "units_lost",
            Measure::UnitsUsed => "units_used",
            Measure::Users => "users",
            Measure::NewUsers => "new_users",
            Measure::UserGroups => "user_groups",
            Measure::UsersPer1000Researchers => "users_per_1000_researchers",
            Measure::RequestsReceived => "requests_received",
            Measure::RequestsAccepted => "requests_accepted",
            Measure::RequestsDeclined => "requests_declined",
            Measure::AcceptanceRate => "acceptance_rate",
            Measure::DecisionDaysMedian => "decision_days_median",
            Measure::DecisionDaysP90 => "decision_days_p90",
            Measure::FirstSlotDaysMedian => "first_slot_days_median",
            Measure::Oversubscription => "oversubscription",
            Measure::NonEuShare => "non_eu_share",
            Measure::ClockBreaches => "clock_breaches",
        }
    }

    pub fn parse(text: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|measure| measure.name() == text)
    }

    pub fn fact(self) -> Fact {
        match self {
            Measure::UnitsUsed
            | Measure::Users
            | Measure::NewUsers
            | Measure::UserGroups
            | Measure::UsersPer1000Researchers => Fact::Usage,
            Measure::RequestsReceived
            | Measure::RequestsAccepted
            | Measure::RequestsDeclined
            | Measure::AcceptanceRate
            | Measure::DecisionDaysMedian
            | Measure::DecisionDaysP90
            | Measure::FirstSlotDaysMedian => Fact::Requests,
            Measure::Oversubscription => Fact::Calls,
            Measure::UnitsGranted | Measure::NonEuShare => Fact::Grants,
            Measure::UnitsDelivered | Measure::UnitsLost => Fact::Deliveries,
            Measure::ClockBreaches => Fact::Breaches,
        }
    }
}

/// The two lanes of intake.
pub mod lane {
    pub const INDUSTRIAL: &str = "industrial";
    pub const TRANSNATIONAL: &str = "transnational";
    pub const ALL: [&str; 2] = [INDUSTRIAL, TRANSNATIONAL];
}

/// How access was paid for: EU-funded transnational or virtual access (TA-4, TA-14), the
/// industrial lane's market access, or anything else (national, internal).
pub mod funding_scheme {
    pub const EU_TRANSNATIONAL_ACCESS: &str = "eu_transnational_access";
    pub const EU_VIRTUAL_ACCESS: &str = "eu_virtual_access";
    pub const MARKET: &str = "market";
    pub const OTHER: &str = "other";
    pub const ALL: [&str; 4] = [EU_TRANSNATIONAL_ACCESS, EU_VIRTUAL_ACCESS, MARKET, OTHER];
}

/// Access modes of a usage record.
pub mod access_mode {
    pub const PHYSICAL: &str = "physical";
    pub const REMOTE: &str = "remote";
    pub const VIRTUAL: &str = "virtual";
    pub const ALL: [&str; 3] = [PHYSICAL, REMOTE, VIRTUAL];
}

/// KPI-4's sectors of a requester or a user's home organisation.
pub mod requester_type {
    pub const UNIVERSITY: &str = "university";
    pub const RESEARCH_ORGANISATION: &str = "research_organisation";
    pub const START_UP: &str = "start_up";
    pub const SME: &str = "sme";
    pub const LARGE_COMPANY: &str = "large_company";
    pub const PUBLIC_BODY: &str = "public_body";
    pub const OTHER: &str = "other";
    pub const ALL: [&str; 7] = [
        UNIVERSITY,
        RESEARCH_ORGANISATION,
        START_UP,
        SME,
        LARGE_COMPANY,
        PUBLIC_BODY,
        OTHER,
    ];
}

/// The funding scheme of a usage record: EU-funded access is transnational or, when virtual,
/// virtual access (TA-14); the industrial lane pays market prices.
pub fn usage_funding_scheme(lane: &str, eu_funded: bool, access_mode: &str) -> &'static str {
    match (eu_funded, lane) {
        (true, _) if access_mode == access_mode::VIRTUAL => funding_scheme::EU_VIRTUAL_ACCESS,
        (true, _) => funding_scheme::EU_TRANSNATIONAL_ACCESS,
        (false, lane::INDUSTRIAL) => funding_scheme::MARKET,
        (false, _) => funding_scheme::OTHER,
    }
}

/// The funding scheme of a request or a grant, by its lane.
pub fn request_funding_scheme(lane: &str) -> &'static str {
    if lane == lane::INDUSTRIAL {
        funding_scheme::MARKET
    } else {
        funding_scheme::EU_TRANSNATIONAL_ACCESS
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The month of an instant, as YYYYMM (UTC).
pub fn month_of(micros: i64) -> i32 {
    let (year, month, _) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    year * 100 + month
}

/// The first instant of a YYYYMM month.
pub fn month_start(month: i32) -> i64 {
    days_from_civil(month / 100, month % 100, 1) * MICROS_PER_DAY
}

/// A period value as statistics rows show it: "2026-03", "2026-Q1", "2026".
pub fn period_label(dimension: Dimension, month: i32) -> String {
    let (year, month_of_year) = (month / 100, month % 100);
    match dimension {
        Dimension::Month => format!("{year}-{month_of_year:02}"),
        Dimension::Quarter => format!("{year}-Q{}", (month_of_year + 2) / 3),
        _ => format!("{year}"),
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, i32, i32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        i32::try_from(month).unwrap_or(1),
        i32::try_from(day).unwrap_or(1),
    )
}

fn days_from_civil(year: i32, month: i32, day: i32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_computed_in_utc_across_year_ends() {
        // 2026-01-01T00:00:00Z and one microsecond before it.
        let new_year = 1_767_225_600_000_000;
        assert_eq!(month_of(new_year), 202_601);
        assert_eq!(month_of(new_year - 1), 202_512);
        assert_eq!(month_start(202_601), new_year);
        assert_eq!(
            month_of(month_start(202_402) + 28 * MICROS_PER_DAY),
            202_402,
            "2024 is a leap year"
        );
    }

    #[test]
    fn periods_read_as_months_quarters_and_years() {
        assert_eq!(period_label(Dimension::Month, 202_603), "2026-03");
        assert_eq!(period_label(Dimension::Quarter, 202_603), "2026-Q1");
        assert_eq!(period_label(Dimension::Quarter, 202_610), "2026-Q4");
        assert_eq!(period_label(Dimension::Year, 202_610), "2026");
    }

    #[test]
    fn every_name_parses_back() {
        for dimension in Dimension::ALL {
            assert_eq!(Dimension::parse(dimension.name()), Some(dimension));
        }
        for measure in Measure::ALL {
            assert_eq!(Measure::parse(measure.name()), Some(measure));
        }
        assert_eq!(Measure::parse("revenue"), None);
    }

    #[test]
    fn only_usage_splits_by_access_mode_and_calls_by_no_requester() {
        assert!(Fact::Usage.splits_by(Dimension::AccessMode));
        assert!(!Fact::Requests.splits_by(Dimension::AccessMode));
        assert!(Fact::Requests.splits_by(Dimension::Installation));
        assert!(Fact::Calls.splits_by(Dimension::Quarter));
        assert!(!Fact::Calls.splits_by(Dimension::HomeCountry));
    }

    #[test]
    fn eu_funded_virtual_access_is_its_own_scheme() {
        assert_eq!(
            usage_funding_scheme("transnational", true, "virtual"),
            "eu_virtual_access"
        );
        assert_eq!(
            usage_funding_scheme("transnational", true, "physical"),
            "eu_transnational_access"
        );
        assert_eq!(usage_funding_scheme("industrial", false, "physical"), "market");
        assert_eq!(usage_funding_scheme("transnational", false, "remote"), "other");
    }
}
