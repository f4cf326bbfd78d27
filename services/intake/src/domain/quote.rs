//! Quotes of the industrial lane: one line per requested installation at the tariff in force
//! (SA-4), the requester class's discount (SA-5), the aid that discount is and the de minimis
//! headroom it leaves (SA-6), and how long the quote holds.

use super::aid::{self, RequesterClass};
use super::status::{RequestStatus, refusal};
use super::{IntakeError, IntakeResult};
use rti_platform::error::InvalidInput;
use rti_platform::stored_enum;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An amount in a currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Money {
    pub currency: String,
    pub minor_units: i64,
}

impl Money {
    pub fn euro(minor_units: i64) -> Self {
        Self {
            currency: "EUR".to_owned(),
            minor_units,
        }
    }
}

stored_enum!(
    /// Under which rule the discount is aid.
    AidBasis {
        None => "AID_BASIS_NONE",
        DeMinimis => "AID_BASIS_DE_MINIMIS",
    }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    pub installation_id: String,
    pub tariff_id: String,
    pub units: i64,
    pub unit_price: Money,
    pub market_price: Money,
    pub charged_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub requester_class: RequesterClass,
    pub discount_percent: i32,
    pub discount_reason: String,
    pub market_price: Money,
    pub charged_price: Money,
    pub aid: Money,
    pub aid_basis: AidBasis,
    pub de_minimis_headroom_after: Money,
    pub quoted_by: String,
    pub quote_time: i64,
    pub valid_until: i64,
}

/// The tariff in force for one requested installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffInForce {
    pub tariff_id: String,
    pub price_per_unit: Money,
}

/// Days a quote holds: 0 asks for the default of 30; at most 180.
pub fn validity_days(requested: i32) -> Option<i64> {
    match requested {
        0 => Some(30),
        days @ 1..=180 => Some(i64::from(days)),
        _ => None,
    }
}

/// Who prices, for whom, and when.
#[derive(Debug, Clone)]
pub struct Pricing<'a> {
    pub class: RequesterClass,
    pub discount_percent: u8,
    /// De minimis aid the requester received in the window before `now` (SA-6).
    pub granted_in_window: i64,
    pub quoted_by: &'a str,
    pub now: i64,
    pub valid_days: i64,
}

/// One requested installation and its tariff in force.
#[derive(Debug, Clone, Copy)]
pub struct Priced<'a> {
    pub installation_id: &'a str,
    pub units: i64,
    pub tariff: &'a TariffInForce,
}

/// The quote of the requested installations at their tariffs: one currency per quote, and aid
/// counted in EUR only (SA-4, SA-5, SA-6).
pub fn price(requested: &[Priced<'_>], pricing: &Pricing<'_>) -> IntakeResult<Quote> {
    let discount = pricing.discount_percent;
    let mut lines = Vec::with_capacity(requested.len());
    let mut currency = None::<String>;
    let (mut market_total, mut charged_total) = (0_i64, 0_i64);
    for (position, requested) in requested.iter().enumerate() {
        let tariff = requested.tariff;
        let unit_price = tariff.price_per_unit.clone();
        match &currency {
            None => currency = Some(unit_price.currency.clone()),
            Some(first) if *first != unit_price.currency => {
                return Err(IntakeError::FailedPrecondition(format!(
                    "the tariffs are in {first} and {}: one quote has one currency",
                    unit_price.currency
                )));
            }
            Some(_) => {}
        }
        // Units times price, and the totals over the lines, are checked: an overflow names the
        // line's units, never a wrapped price.
        let overflow = || {
            IntakeError::Invalid(InvalidInput::single(
                format!("installations[{position}].units"),
                format!(
                    "{} units at {} {} per unit, with the lines above, overflow the quote's price",
                    requested.units, unit_price.minor_units, unit_price.currency
                ),
            ))
        };
        let (market, charged) =
            aid::line_prices(requested.units, unit_price.minor_units, discount).ok_or_else(overflow)?;
        market_total = market_total.checked_add(market).ok_or_else(overflow)?;
        charged_total = charged_total.checked_add(charged).ok_or_else(overflow)?;
        let money = |minor_units| Money {
            currency: unit_price.currency.clone(),
            minor_units,
        };
        lines.push(QuoteLine {
            installation_id: requested.installation_id.to_owned(),
            tariff_id: tariff.tariff_id.clone(),
            units: requested.units,
            unit_price: unit_price.clone(),
            market_price: money(market),
            charged_price: money(charged),
        });
    }
    let currency = currency.unwrap_or_else(|| "EUR".to_owned());
    // A discount never raises a price, so the difference of the two checked totals fits.
    let aid_amount = market_total.saturating_sub(charged_total);
    if aid_amount > 0 && currency != "EUR" {
        return Err(IntakeError::FailedPrecondition(format!(
            "a discount on a {currency} tariff cannot be counted in the EUR de minimis ledger"
        )));
    }
    let granted = pricing.granted_in_window;
    let headroom_after = if aid_amount > 0 {
        aid::check_de_minimis(granted, aid_amount).map_err(IntakeError::FailedPrecondition)?
    } else {
        (aid::DE_MINIMIS_CEILING_EUR_CENTS - granted).max(0)
    };
    let money = |minor_units| Money {
        currency: currency.clone(),
        minor_units,
    };
    Ok(Quote {
        lines,
        requester_class: pricing.class,
        discount_percent: i32::from(discount),
        discount_reason: format!(
            "{discount} % for the requester class {} (the provider's price policy)",
            pricing.class.short_name()
        ),
        market_price: money(market_total),
        charged_price: money(charged_total),
        aid: money(aid_amount),
        aid_basis: if aid_amount > 0 {
            AidBasis::DeMinimis
        } else {
            AidBasis::None
        },
        de_minimis_headroom_after: Money::euro(headroom_after),
        quoted_by: pricing.quoted_by.to_owned(),
        quote_time: pricing.now,
        valid_until: pricing.now + pricing.valid_days * MICROS_PER_DAY,
    })
}

/// The history line of a quote.
pub fn summary(quote: &Quote) -> String {
    format!(
        "quoted {} {} ({} % off the market price)",
        quote.charged_price.minor_units, quote.charged_price.currency, quote.discount_percent
    )
}

/// What accepting does with the request as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// QUOTED and the quote valid: record `aid` (EUR cents, SA-6) and accept.
    Accept { aid: i64 },
    /// Accepted before: the call returns the request as it is (a retry).
    AlreadyAccepted,
}

/// QUOTED → ACCEPTED while the quote (of a request in `status`) is valid at `now`.
pub fn acceptance(status: RequestStatus, quote: Option<&Quote>, now: i64) -> IntakeResult<Acceptance> {
    match status {
        RequestStatus::Accepted => return Ok(Acceptance::AlreadyAccepted),
        RequestStatus::Quoted => {}
        status => {
            return Err(IntakeError::FailedPrecondition(refusal(
                status,
                RequestStatus::Accepted,
            )));
        }
    }
    let (valid_until, aid) = quote.map_or((0, 0), |quote| (quote.valid_until, quote.aid.minor_units));
    if valid_until < now {
        return Err(IntakeError::FailedPrecondition(
            "the quote is no longer valid: the operator quotes again".to_owned(),
        ));
    }
    Ok(Acceptance::Accept { aid })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff(currency: &str, minor_units: i64) -> TariffInForce {
        TariffInForce {
            tariff_id: "tariff-1".to_owned(),
            price_per_unit: Money {
                currency: currency.to_owned(),
                minor_units,
            },
        }
    }

    fn pricing(granted_in_window: i64) -> Pricing<'static> {
        Pricing {
            class: RequesterClass::Sme,
            discount_percent: 20,
            granted_in_window,
            quoted_by: "operator",
            now: 0,
            valid_days: 30,
        }
    }

    /// Two units of one installation at `tariff`.
    fn quote(tariff: &TariffInForce, granted_in_window: i64) -> IntakeResult<Quote> {
        let requested = [Priced {
            installation_id: "installation-1",
            units: 2,
            tariff,
        }];
        price(&requested, &pricing(granted_in_window))
    }

    #[test]
    fn a_quote_holds_30_days_by_default_and_at_most_180() {
        assert_eq!(validity_days(0), Some(30));
        assert_eq!(validity_days(180), Some(180));
        assert_eq!(validity_days(181), None);
        assert_eq!(validity_days(-1), None);
    }

    #[test]
    fn sa5_the_discount_is_aid_under_de_minimis() {
        let quote = quote(&tariff("EUR", 10_000), 0).expect("allowed");
        assert_eq!(quote.market_price, Money::euro(20_000));
        assert_eq!(quote.charged_price, Money::euro(16_000));
        assert_eq!(quote.aid, Money::euro(4_000));
        assert_eq!(quote.aid_basis, AidBasis::DeMinimis);
        assert_eq!(quote.valid_until, 30 * MICROS_PER_DAY);
        assert_eq!(summary(&quote), "quoted 16000 EUR (20 % off the market price)");
    }

    #[test]
    fn sa6_a_discount_beyond_the_headroom_or_outside_eur_is_refused() {
        assert!(quote(&tariff("EUR", 10_000), aid::DE_MINIMIS_CEILING_EUR_CENTS).is_err());
        assert!(quote(&tariff("CHF", 10_000), 0).is_err());
        let two_currencies = [
            Priced {
                installation_id: "installation-1",
                units: 1,
                tariff: &tariff("EUR", 0),
            },
            Priced {
                installation_id: "installation-2",
                units: 1,
                tariff: &tariff("CHF", 0),
            },
        ];
        assert!(
            price(&two_currencies, &pricing(0)).is_err(),
            "one quote has one currency"
        );
    }

    fn field_of(outcome: IntakeResult<Quote>) -> String {
        match outcome {
            Err(IntakeError::Invalid(invalid)) => invalid.0[0].field.clone(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn units_times_price_and_the_total_over_lines_that_overflow_name_the_line() {
        let dear = tariff("EUR", i64::MAX / 3);
        let line = |units| Priced {
            installation_id: "installation-1",
            units,
            tariff: &dear,
        };
        assert_eq!(
            field_of(price(&[line(1), line(4)], &pricing(0))),
            "installations[1].units"
        );
        // Each line fits (two thirds of the largest price), their sum does not.
        assert!(
            matches!(price(&[line(2)], &pricing(0)), Err(IntakeError::FailedPrecondition(_))),
            "the line's price fits; its aid is beyond de minimis"
        );
        assert_eq!(
            field_of(price(&[line(2), line(2)], &pricing(0))),
            "installations[1].units"
        );
    }

    #[test]
    fn a_quote_is_accepted_while_it_holds_and_once() {
        let quote = quote(&tariff("EUR", 10_000), 0).expect("allowed");
        let quoted = |now| acceptance(RequestStatus::Quoted, Some(&quote), now);
        assert_eq!(quoted(1).expect("allowed"), Acceptance::Accept { aid: 4_000 });
        assert!(quoted(31 * MICROS_PER_DAY).is_err(), "expired");
        assert_eq!(
            acceptance(RequestStatus::Accepted, Some(&quote), 31 * MICROS_PER_DAY).expect("allowed"),
            Acceptance::AlreadyAccepted
        );
        assert!(acceptance(RequestStatus::Feasibility, Some(&quote), 1).is_err());
    }
}
