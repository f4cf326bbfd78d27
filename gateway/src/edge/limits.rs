//! What the edge lets in, beyond authentication and the limits every service shares
//! (`rti_platform::limits`): which browser origins may call (CORS, for gRPC-Web and REST), how
//! many calls each caller may make ([`Quotas`], per role, applied by `rate`), and how many calls
//! may be in flight to one upstream service before more are shed (`shed`). Every value is a
//! setting with a default that suits production; `--rate-limit off` lifts the rate limits (for
//! benchmarks), `--rate-limit anonymous=100/s:200` changes one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use rti_platform::auth::{Principal, Role};
use rti_platform::config::parse_duration;

/// The most calls in flight to one upstream service, by default: well above what a service with
/// a handful of database connections answers at once, far below an unbounded queue.
pub const DEFAULT_UPSTREAM_MAX_IN_FLIGHT: usize = 256;
/// How many callers' buckets are kept at most, by default (a few MiB).
pub const DEFAULT_RATE_LIMIT_MAX_CALLERS: usize = 100_000;

/// The edge's own limits and the browser origins it answers.
#[derive(Debug, Clone, Args)]
pub struct EdgeLimits {
    /// A browser origin (scheme://host[:port]) whose pages may call the gateway over gRPC-Web and
    /// REST; repeat for several. None: no cross-origin calls.
    #[arg(long = "cors-origin", env = "RTI_GATEWAY_CORS_ORIGINS", value_delimiter = ',', value_name = "ORIGIN", value_parser = parse_origin)]
    pub cors_origins: Vec<http::HeaderValue>,
    /// Calls per caller, over the defaults: ROLE=COUNT/PERIOD[:BURST] (ROLE: anonymous, a role,
    /// or all; PERIOD: s, m, h or a duration such as 10s), ROLE=off for no limit, or off for none.
    #[arg(
        long = "rate-limit",
        env = "RTI_GATEWAY_RATE_LIMITS",
        value_delimiter = ',',
        value_name = "ROLE=COUNT/PERIOD[:BURST]"
    )]
    pub rate_limits: Vec<QuotaSetting>,
    /// How many callers' rate-limit buckets are kept at most; the idlest are forgotten first.
    #[arg(long = "rate-limit-max-callers", env = "RTI_GATEWAY_RATE_LIMIT_MAX_CALLERS", default_value_t = DEFAULT_RATE_LIMIT_MAX_CALLERS)]
    pub rate_limit_max_callers: usize,
    /// The most calls in flight to one upstream service; more are refused at once with
    /// UNAVAILABLE rather than queued.
    #[arg(long = "upstream-max-in-flight", env = "RTI_GATEWAY_UPSTREAM_MAX_IN_FLIGHT", default_value_t = DEFAULT_UPSTREAM_MAX_IN_FLIGHT)]
    pub upstream_max_in_flight: usize,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            rate_limits: Vec::new(),
            rate_limit_max_callers: DEFAULT_RATE_LIMIT_MAX_CALLERS,
            upstream_max_in_flight: DEFAULT_UPSTREAM_MAX_IN_FLIGHT,
        }
    }
}

impl EdgeLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.upstream_max_in_flight == 0 || self.rate_limit_max_callers == 0 {
            return Err(
                "the most calls in flight per upstream and the most rate-limited callers must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// The quotas: the defaults, changed by the settings in order.
    pub(crate) fn quotas(&self) -> Quotas {
        Quotas::from_settings(&self.rate_limits)
    }
}

/// An origin as browsers send it: `https://portal.example` or `http://localhost:8081`.
pub fn parse_origin(text: &str) -> Result<http::HeaderValue, String> {
    let invalid = || format!("{text:?} is not an origin like https://portal.example (scheme://host[:port], no path)");
    let uri: http::Uri = text.parse().map_err(|_| invalid())?;
    let scheme = uri.scheme_str().filter(|scheme| matches!(*scheme, "http" | "https"));
    let has_path = uri.path_and_query().is_some_and(|path| path.as_str() != "/") || text.ends_with('/');
    match (scheme, uri.authority()) {
        (Some(scheme), Some(authority)) if !has_path && !authority.as_str().contains('@') => {
            http::HeaderValue::from_str(&format!("{scheme}://{authority}").to_ascii_lowercase()).map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

/// Whose quota applies to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Caller {
    /// No token: public reads, keyed by peer address.
    Anonymous,
    /// A valid token with none of the known roles: the anonymous quota, keyed by subject.
    NoRole,
    Role(Role),
}

impl fmt::Display for Caller {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Anonymous => formatter.write_str("anonymous"),
            Caller::NoRole => formatter.write_str("role-less"),
            Caller::Role(role) => formatter.write_str(role.as_str()),
        }
    }
}

/// A token bucket's shape: `count` calls per `period`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quota {
    count: u32,
    period: Duration,
    burst: u32,
}

impl Quota {
    const fn new(count: u32, period_secs: u64, burst: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(period_secs),
            burst,
        }
    }

    pub(crate) fn per_second(self) -> f64 {
        f64::from(self.count) / self.period.as_secs_f64()
    }

    pub(crate) fn burst(self) -> f64 {
        f64::from(self.burst)
    }

    /// A higher rate, or the same rate with a larger burst.
    fn is_more_generous_than(self, other: Quota) -> bool {
        self.per_second()
            .total_cmp(&other.per_second())
            .then(self.burst.cmp(&other.burst))
            .is_gt()
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} calls per {} s (bursts of {})",
            self.count,
            self.period.as_secs_f64(),
            self.burst
        )
    }
}

/// `COUNT/PERIOD[:BURST]`: `20/s`, `600/m:100`, `5/10s`. The burst defaults to the count.
impl FromStr for Quota {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text:?} is not a rate like 20/s, 600/m:100 or 5/10s");
        let (rate, burst) = match text.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let (count, period) = rate.split_once('/').ok_or_else(invalid)?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        let period = period.trim();
        let period = match period {
            "s" | "m" | "h" | "d" => parse_duration(&format!("1{period}")),
            "min" => parse_duration("1m"),
            other => parse_duration(other),
        }
        .map_err(|_| invalid())?;
        let burst = match burst {
            Some(burst) => burst.trim().parse().map_err(|_| invalid())?,
            None => count,
        };
        if count == 0 || burst == 0 || period.is_zero() {
            return Err(format!(
                "{text:?}: the count, the burst and the period must be above zero (use off for no limit)"
            ));
        }
        Ok(Self { count, period, burst })
    }
}

/// One `--rate-limit` value.
#[derive(Debug, Clone, PartialEq)]
pub enum QuotaSetting {
    /// `off`: no rate limit for anyone.
    Off,
    /// `ROLE=COUNT/PERIOD[:BURST]` or `ROLE=off`; `all=…` sets every caller's.
    For { who: Who, quota: Option<QuotaValue> },
}

/// Whose quota a setting changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    All,
    Anonymous,
    Role(Role),
}

/// A quota as set on the command line (opaque outside the gateway).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaValue(Quota);

impl FromStr for QuotaSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "off" {
            return Ok(QuotaSetting::Off);
        }
        let (who, quota) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not ROLE=COUNT/PERIOD[:BURST], ROLE=off or off"))?;
        let who = match who.trim() {
            "all" => Who::All,
            "anonymous" => Who::Anonymous,
            name => Role::ALL
                .into_iter()
                .find(|role| role.as_str() == name)
                .map(Who::Role)
                .ok_or_else(|| {
                    format!("{name:?} is not anonymous, all or a role (applicant, operator, reviewer, coordinator, funder, admin, service)")
                })?,
        };
        let quota = match quota.trim() {
            "off" => None,
            quota => Some(QuotaValue(quota.parse()?)),
        };
        Ok(QuotaSetting::For { who, quota })
    }
}

/// The quota of each kind of caller; a caller without one is not limited.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Quotas {
    by_caller: BTreeMap<Caller, Quota>,
}

impl Quotas {
    /// The defaults: anonymous reads lowest, people by what their work needs, admins and the
    /// suite's services highest.
    pub(crate) fn defaults() -> Self {
        let by_caller = [
            (Caller::Anonymous, Quota::new(20, 1, 50)),
            (Caller::NoRole, Quota::new(20, 1, 50)),
            (Caller::Role(Role::Applicant), Quota::new(20, 1, 50)),
            (Caller::Role(Role::Reviewer), Quota::new(20, 1, 50)),
            // Statistics queries are the heaviest calls there are.
            (Caller::Role(Role::Funder), Quota::new(10, 1, 30)),
            (Caller::Role(Role::Operator), Quota::new(50, 1, 100)),
            (Caller::Role(Role::Coordinator), Quota::new(50, 1, 100)),
            (Caller::Role(Role::Admin), Quota::new(200, 1, 1_000)),
            (Caller::Role(Role::Service), Quota::new(500, 1, 1_000)),
        ]
        .into_iter()
        .collect();
        Self { by_caller }
    }

    /// The defaults, changed by `settings` in order.
    pub(crate) fn from_settings(settings: &[QuotaSetting]) -> Self {
        let mut quotas = Self::defaults();
        for setting in settings {
            match setting {
                QuotaSetting::Off => quotas.by_caller.clear(),
                QuotaSetting::For { who, quota } => {
                    let callers: Vec<Caller> = match who {
                        Who::All => std::iter::once(Caller::Anonymous)
                            .chain(std::iter::once(Caller::NoRole))
                            .chain(Role::ALL.into_iter().map(Caller::Role))
                            .collect(),
                        // The role-less share the anonymous quota.
                        Who::Anonymous => vec![Caller::Anonymous, Caller::NoRole],
                        Who::Role(role) => vec![Caller::Role(*role)],
                    };
                    for caller in callers {
                        match quota {
                            Some(QuotaValue(quota)) => quotas.by_caller.insert(caller, *quota),
                            None => quotas.by_caller.remove(&caller),
                        };
                    }
                }
            }
        }
        quotas
    }

    /// The quota of `caller`, `None` when it is not limited.
    pub(crate) fn of(&self, caller: Caller) -> Option<Quota> {
        self.by_caller.get(&caller).copied()
    }

    /// Whose quota applies to a call of `principal` (`None`: anonymous), and that quota: the
    /// highest among the token's roles, so an admin who is also an applicant is not throttled as
    /// an applicant.
    pub(crate) fn of_principal(&self, principal: Option<&Principal>) -> (Caller, Option<Quota>) {
        let Some(principal) = principal else {
            return (Caller::Anonymous, self.of(Caller::Anonymous));
        };
        let mut best: Option<(Caller, Option<Quota>)> = None;
        for caller in principal.roles.iter().copied().map(Caller::Role) {
            let quota = self.of(caller);
            let better = match (&best, quota) {
                (None, _) | (Some((_, Some(_))), None) => true,
                (Some((_, Some(held))), Some(quota)) => quota.is_more_generous_than(*held),
                (Some((_, None)), _) => false,
            };
            if better {
                best = Some((caller, quota));
            }
        }
        best.unwrap_or((Caller::NoRole, self.of(Caller::NoRole)))
    }

    /// The quota that refills slowest, if any caller is limited.
    pub(crate) fn slowest(&self) -> Option<Quota> {
        self.by_caller
            .values()
            .copied()
            .min_by(|one, other| (one.per_second() / one.burst()).total_cmp(&(other.per_second() / other.burst())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(text: &str) -> QuotaSetting {
        text.parse().expect("a setting")
    }

    #[test]
    fn reads_rates_with_periods_and_bursts() {
        let quota: Quota = "20/s".parse().expect("parses");
        assert_eq!(quota, Quota::new(20, 1, 20));
        assert_eq!("600/m:100".parse::<Quota>(), Ok(Quota::new(600, 60, 100)));
        assert_eq!("600/min:100".parse::<Quota>(), Ok(Quota::new(600, 60, 100)));
        assert_eq!("5/10s".parse::<Quota>(), Ok(Quota::new(5, 10, 5)));
        assert!((Quota::new(600, 60, 100).per_second() - 10.0).abs() < f64::EPSILON);
    }

    #[test]
    fn refuses_rates_that_would_refuse_everything_or_mean_nothing() {
        for bad in ["0/s", "5/s:0", "5/0s", "5", "five/s", "5/fortnight", "5/s:x"] {
            assert!(bad.parse::<Quota>().is_err(), "{bad}");
        }
        let error = "applicant=0/s".parse::<QuotaSetting>().expect_err("zero");
        assert!(error.contains("use off"), "{error}");
        let error = "visitor=5/s".parse::<QuotaSetting>().expect_err("no such role");
        assert!(error.contains("\"visitor\" is not anonymous, all or a role"), "{error}");
    }

    #[test]
    fn anonymous_reads_get_the_lowest_quota_and_admins_the_highest_by_default() {
        let quotas = Quotas::defaults();
        let anonymous = quotas.of(Caller::Anonymous).expect("limited");
        for role in Role::ALL {
            let quota = quotas.of(Caller::Role(role)).expect("every role is limited");
            assert!(
                quota.per_second() >= anonymous.per_second() || role == Role::Funder,
                "{role:?}"
            );
            let admin = quotas.of(Caller::Role(Role::Admin)).expect("limited");
            assert!(
                admin.per_second() >= quota.per_second() || role == Role::Service,
                "{role:?}"
            );
        }
    }

    #[test]
    fn settings_change_the_defaults_in_order() {
        let quotas = Quotas::from_settings(&[setting("off"), setting("admin=1/s")]);
        assert_eq!(quotas.of(Caller::Anonymous), None);
        assert_eq!(quotas.of(Caller::Role(Role::Admin)), Some(Quota::new(1, 1, 1)));

        let quotas = Quotas::from_settings(&[setting("all=1000/s:2000"), setting("funder=off")]);
        assert_eq!(quotas.of(Caller::Anonymous), Some(Quota::new(1_000, 1, 2_000)));
        assert_eq!(quotas.of(Caller::Role(Role::Funder)), None);
        assert_eq!(
            quotas.of(Caller::Role(Role::Operator)),
            Some(Quota::new(1_000, 1, 2_000))
        );

        let quotas = Quotas::from_settings(&[setting("anonymous=1/m")]);
        assert_eq!(quotas.of(Caller::NoRole), Some(Quota::new(1, 60, 1)));
        assert_eq!(
            quotas.of(Caller::Role(Role::Applicant)),
            Quotas::defaults().of(Caller::Role(Role::Applicant))
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            parse_origin("https://Portal.Example").expect("an origin"),
            "https://portal.example"
        );
        assert_eq!(
            parse_origin("http://localhost:8081").expect("an origin"),
            "http://localhost:8081"
        );
        for bad in [
            "portal.example",
            "https://portal.example/",
            "https://portal.example/app",
            "ftp://portal.example",
            "https://user@portal.example",
            "*",
        ] {
            let error = parse_origin(bad).expect_err(bad);
            assert!(error.contains("is not an origin"), "{error}");
        }
    }

    #[test]
    fn the_edge_needs_room_for_at_least_one_call() {
        assert!(EdgeLimits::default().validate().is_ok());
        let none = EdgeLimits {
            upstream_max_in_flight: 0,
            ..EdgeLimits::default()
        };
        assert!(none.validate().is_err());
    }
}
