//! Tariffs and the capacity calendar: windows of bookable units, downtime that closes them, and
//! reservations that take units from one window. The arithmetic lives here, free of storage:
//! how much downtime closes, what is free per day, which window is next.

use rti_platform::error::Violations;
use rti_platform::stored_enum;

use super::catalogue::TariffBasis;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// The longest window, downtime and availability range: a year and a day.
pub const MAX_SPAN_DAYS: i64 = 366;
pub const MAX_WINDOW_UNITS: i64 = 1_000_000_000;
pub const MAX_REFERENCE_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffFields {
    /// ISO 4217, upper case.
    pub currency: String,
    /// Minor units (cents) per unit of access.
    pub price_minor_units: i64,
    pub basis: Option<TariffBasis>,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
}

impl TariffFields {
    pub fn validate(&mut self, prefix: &str, violations: &mut Violations) {
        self.currency = self.currency.trim().to_ascii_uppercase();
        if self.currency.len() != 3 || !self.currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
            violations.add(
                format!("{prefix}.price_per_unit.currency"),
                "must be an ISO 4217 code such as EUR",
            );
        }
        if self.price_minor_units < 0 {
            violations.add(format!("{prefix}.price_per_unit.minor_units"), "must not be negative");
        }
        if self.basis.is_none() {
            violations.add(
                format!("{prefix}.basis"),
                "must be market price, full cost or negotiated",
            );
        }
        match (self.valid_from, self.valid_to) {
            (None, _) => violations.add(format!("{prefix}.valid_from"), "is required"),
            (Some(from), Some(to)) if to <= from => {
                violations.add(format!("{prefix}.valid_to"), "must be after valid_from")
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub id: String,
    pub installation_id: String,
    pub fields: TariffFields,
    pub created_at: i64,
}

impl Tariff {
    pub fn valid_from(&self) -> i64 {
        self.fields.valid_from.unwrap_or(i64::MIN)
    }

    pub fn valid_to(&self) -> i64 {
        self.fields.valid_to.unwrap_or(i64::MAX)
    }

    /// Valid at `now` or later.
    pub fn current_or_future(&self, now: i64) -> bool {
        self.valid_to() > now
    }
}

/// A window as a caller asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewWindow {
    pub start: i64,
    pub end: i64,
    pub units: i64,
}

/// Checks a number of units is within 1..=[`MAX_WINDOW_UNITS`].
pub fn units(units: i64, field: &str, violations: &mut Violations) {
    if !(1..=MAX_WINDOW_UNITS).contains(&units) {
        violations.add(field, format!("must be between 1 and {MAX_WINDOW_UNITS}"));
    }
}

/// The whole UTC days a period `[from, to)` touches: the first and the last, and the span in
/// microseconds from the first's midnight to the midnight after the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub first_day: i64,
    pub last_day: i64,
    pub start: i64,
    pub end: i64,
}

/// The days of `[from, to)` for an availability query; a period that does not end after it
/// starts, or touches more than [`MAX_SPAN_DAYS`] days, is named on `to`.
pub fn day_span(from: i64, to: i64, violations: &mut Violations) -> Option<DaySpan> {
    // Checked first: `to - 1` overflows when `to` is the earliest time there is.
    if to <= from {
        violations.add("to", "must be after from");
        return None;
    }
    let first_day = from.div_euclid(MICROS_PER_DAY);
    let last_day = (to - 1).div_euclid(MICROS_PER_DAY);
    if last_day - first_day >= MAX_SPAN_DAYS {
        violations.add("to", format!("must be at most {MAX_SPAN_DAYS} days after from"));
        return None;
    }
    // The midnights around the first and last day of i64's range lie outside it.
    let start = first_day.checked_mul(MICROS_PER_DAY);
    let end = last_day
        .checked_add(1)
        .and_then(|next| next.checked_mul(MICROS_PER_DAY));
    let (Some(start), Some(end)) = (start, end) else {
        violations.add("to", "the period must lie within the years the calendar counts");
        return None;
    };
    Some(DaySpan {
        first_day,
        last_day,
        start,
        end,
    })
}

/// Checks `start < end` within [`MAX_SPAN_DAYS`], naming `{prefix}.end_time`.
pub fn span(start: i64, end: i64, prefix: &str, violations: &mut Violations) {
    if end <= start {
        violations.add(format!("{prefix}.end_time"), "must be after start_time");
    } else if end
        .checked_sub(start)
        .is_none_or(|length| length > MAX_SPAN_DAYS * MICROS_PER_DAY)
    {
        // A length past i64's range (a start long before 1970, an end long after) is too long
        // too; unchecked, it wrapped to a negative length and such a span was accepted.
        violations.add(
            format!("{prefix}.end_time"),
            format!("must be at most {MAX_SPAN_DAYS} days after start_time"),
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityWindow {
    pub id: String,
    pub installation_id: String,
    pub start: i64,
    pub end: i64,
    pub units: i64,
    pub reserved_units: i64,
    pub closed_units: i64,
    pub created_at: i64,
}

impl CapacityWindow {
    /// Units still bookable; never negative, even when downtime closed reserved units.
    pub fn free_units(&self) -> i64 {
        (self.units - self.closed_units - self.reserved_units).max(0)
    }

    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start < end && start < self.end
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downtime {
    pub id: String,
    pub installation_id: String,
    pub start: i64,
    pub end: i64,
    pub reason: String,
    pub created_at: i64,
}

stored_enum!(
    /// A reservation holds its units while active.
    ReservationState { Active => "active", Released => "released" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub reservation_id: String,
    pub window_id: String,
    pub installation_id: String,
    pub units: i64,
    pub reference: String,
    pub state: ReservationState,
    pub created_at: i64,
    pub released_at: Option<i64>,
}

/// What `AddDowntime` did: the downtime, the windows it closed units of, and the active
/// reservations in them the operator must now look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DowntimeAdded {
    pub downtime: Downtime,
    pub windows: Vec<CapacityWindow>,
    pub affected: Vec<Reservation>,
}

/// The units of a window that downtime closes: its capacity in proportion to the share of the
/// window the downtime covers (overlapping downtimes counted once), rounded up, so that a
/// closed day is never offered.
pub fn closed_units(window: &CapacityWindow, downtimes: &[(i64, i64)]) -> i64 {
    let mut spans: Vec<(i64, i64)> = downtimes
        .iter()
        .map(|&(start, end)| (start.max(window.start), end.min(window.end)))
        .filter(|(start, end)| start < end)
        .collect();
    spans.sort_unstable();
    let mut covered: i128 = 0;
    let mut reach = i64::MIN;
    for (start, end) in spans {
        let start = start.max(reach);
        if end > start {
            covered += i128::from(end - start);
            reach = end;
        }
    }
    let length = i128::from(window.end - window.start);
    let closed = (i128::from(window.units) * covered + length - 1) / length;
    i64::try_from(closed).unwrap_or(window.units).min(window.units)
}

/// One UTC day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayAvailability {
    /// Days since 1970-01-01.
    pub day: i64,
    pub free_units: i64,
    pub capacity_units: i64,
    pub downtime: bool,
}

/// Free units per UTC day from `first_day` to `last_day` inclusive: each window open on a day
/// counts its free units and capacity on that day; a day entirely inside downtime is closed.
pub fn availability(
    first_day: i64,
    last_day: i64,
    windows: &[CapacityWindow],
    downtimes: &[(i64, i64)],
) -> Vec<DayAvailability> {
    (first_day..=last_day)
        .map(|day| {
            let (start, end) = (day * MICROS_PER_DAY, (day + 1) * MICROS_PER_DAY);
            let downtime = covered_entirely(start, end, downtimes);
            let open = windows.iter().filter(|window| window.overlaps(start, end));
            let (mut free_units, mut capacity_units) = (0, 0);
            for window in open {
                capacity_units += window.units;
                free_units += window.free_units();
            }
            DayAvailability {
                day,
                free_units: if downtime { 0 } else { free_units },
                capacity_units,
                downtime,
            }
        })
        .collect()
}

fn covered_entirely(start: i64, end: i64, downtimes: &[(i64, i64)]) -> bool {
    let mut spans: Vec<(i64, i64)> = downtimes
        .iter()
        .copied()
        .filter(|&(from, to)| from < end && start < to)
        .collect();
    spans.sort_unstable();
    let mut reach = start;
    for (from, to) in spans {
        if from > reach {
            return false;
        }
        reach = reach.max(to);
    }
    reach >= end
}

/// The window with free units that opens first among those not yet ended at `now`.
pub fn next_free_window(windows: &[CapacityWindow], now: i64) -> Option<&CapacityWindow> {
    windows
        .iter()
        .filter(|window| window.end > now && window.free_units() > 0)
        .min_by_key(|window| (window.start, window.id.as_str()))
}

/// "YYYY-MM-DD" of a day counted from 1970-01-01 (the proleptic Gregorian calendar).
pub fn date_of_day(day: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day_of_month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = MICROS_PER_DAY;

    fn window(start_day: i64, days: i64, units: i64) -> CapacityWindow {
        CapacityWindow {
            id: format!("w{start_day}"),
            installation_id: "i".into(),
            start: start_day * DAY,
            end: (start_day + days) * DAY,
            units,
            reserved_units: 0,
            closed_units: 0,
            created_at: 0,
        }
    }

    /// Found by `fuzz/` (registry_requests): a window from before year 0 to after 9999 has a
    /// length past i64's range, which wrapped to a negative one and passed the check.
    #[test]
    fn refuses_a_span_whose_length_overflows() {
        let mut violations = Violations::new();
        span(-1, i64::MAX, "window", &mut violations);
        span(i64::MIN, 1, "downtime", &mut violations);
        let fields: Vec<&str> = violations
            .as_slice()
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(fields, ["window.end_time", "downtime.end_time"]);
        let mut within = Violations::new();
        span(-DAY, DAY, "window", &mut within);
        assert!(within.is_empty(), "two days across 1970 are a span");
    }

    /// Found by `fuzz/` (registry_requests): availability asked up to the earliest time there is,
    /// or into the last day i64 can hold, overflowed computing its days.
    #[test]
    fn day_span_refuses_periods_at_the_ends_of_time_without_overflow() {
        let mut violations = Violations::new();
        assert_eq!(day_span(0, i64::MIN, &mut violations), None);
        assert_eq!(day_span(i64::MAX - DAY, i64::MAX, &mut violations), None);
        assert_eq!(day_span(i64::MIN, i64::MIN + DAY, &mut violations), None);
        assert_eq!(violations.as_slice().len(), 3);
        let mut none = Violations::new();
        assert_eq!(
            day_span(DAY + 1, 3 * DAY, &mut none),
            Some(DaySpan {
                first_day: 1,
                last_day: 2,
                start: DAY,
                end: 3 * DAY
            })
        );
        assert!(none.is_empty());
    }

    #[test]
    fn downtime_closes_its_share_rounded_up_and_overlaps_count_once() {
        let ten_days = window(0, 10, 20);
        assert_eq!(closed_units(&ten_days, &[]), 0);
        assert_eq!(closed_units(&ten_days, &[(2 * DAY, 4 * DAY)]), 4);
        assert_eq!(closed_units(&ten_days, &[(2 * DAY, 4 * DAY), (3 * DAY, 5 * DAY)]), 6);
        assert_eq!(
            closed_units(&ten_days, &[(0, DAY / 24)]),
            1,
            "an hour of downtime still closes a unit"
        );
        assert_eq!(closed_units(&ten_days, &[(-5 * DAY, 50 * DAY)]), 20);
        assert_eq!(
            closed_units(&ten_days, &[(10 * DAY, 12 * DAY)]),
            0,
            "touching is not overlapping"
        );
    }

    #[test]
    fn free_units_never_go_below_zero() {
        let mut window = window(0, 10, 10);
        window.reserved_units = 8;
        window.closed_units = 5;
        assert_eq!(window.free_units(), 0);
    }

    #[test]
    fn availability_counts_open_windows_and_closes_downtime_days() {
        let mut first = window(0, 3, 6);
        first.reserved_units = 2;
        let second = window(5, 2, 4);
        let days = availability(0, 6, &[first, second], &[(DAY, 2 * DAY), (6 * DAY, 6 * DAY + 1)]);
        let summary: Vec<_> = days
            .iter()
            .map(|day| (day.free_units, day.capacity_units, day.downtime))
            .collect();
        assert_eq!(
            summary,
            [
                (4, 6, false),
                (0, 6, true),
                (4, 6, false),
                (0, 0, false),
                (0, 0, false),
                (4, 4, false),
                (4, 4, false),
            ]
        );
    }

    #[test]
    fn next_free_window_skips_ended_and_full_ones() {
        let ended = window(0, 2, 5);
        let mut full = window(3, 2, 5);
        full.reserved_units = 5;
        let later = window(9, 2, 5);
        let open = window(6, 2, 5);
        let windows = [later, ended, full, open];
        let next = next_free_window(&windows, 2 * DAY).map(|window| window.id.as_str());
        assert_eq!(next, Some("w6"));
        assert_eq!(next_free_window(&windows, 20 * DAY), None);
    }

    #[test]
    fn dates_are_civil_utc_days() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(19_723), "2024-01-01");
        assert_eq!(date_of_day(19_782), "2024-02-29");
        assert_eq!(date_of_day(-1), "1969-12-31");
    }

    #[test]
    fn windows_and_tariffs_name_their_bad_fields() {
        let mut violations = Violations::new();
        span(5, 5, "window", &mut violations);
        units(0, "window.units", &mut violations);
        span(0, 400 * DAY, "window", &mut violations);
        units(1, "window.units", &mut violations);
        let mut tariff = TariffFields {
            currency: "euro".into(),
            price_minor_units: -1,
            basis: None,
            valid_from: Some(10),
            valid_to: Some(10),
        };
        tariff.validate("tariff", &mut violations);
        let fields: Vec<_> = violations.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "window.end_time",
                "window.units",
                "window.end_time",
                "tariff.price_per_unit.currency",
                "tariff.price_per_unit.minor_units",
                "tariff.basis",
                "tariff.valid_to"
            ]
        );
    }
}
