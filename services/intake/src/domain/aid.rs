//! Prices and State aid for the industrial lane (section E): the market price comes from the
//! installation's tariff (SA-4); a discount by requester class is aid to the requester (SA-5),
//! covered by de minimis: at most EUR 300,000 per single undertaking over any three years
//! (Regulation (EU) 2023/2831, SA-6).

use rti_platform::stored_enum;

/// SA-6: EUR 300,000, in cents.
pub const DE_MINIMIS_CEILING_EUR_CENTS: i64 = 30_000_000;

/// SA-6's "any period of three years", as the 1,096 days before the moment of the grant (three
/// years and a leap day).
pub const DE_MINIMIS_WINDOW_MICROS: i64 = 1_096 * 86_400_000_000;

stored_enum!(
    /// Who the requester is for pricing.
    RequesterClass {
        StartUp => "REQUESTER_CLASS_START_UP",
        Sme => "REQUESTER_CLASS_SME",
        Academic => "REQUESTER_CLASS_ACADEMIC",
        Other => "REQUESTER_CLASS_OTHER",
    }
);

impl RequesterClass {
    /// `START_UP`, `SME`, `ACADEMIC`, `OTHER`.
    pub fn short_name(self) -> &'static str {
        self.as_stored().trim_start_matches("REQUESTER_CLASS_")
    }
}

/// One grant of de minimis aid to a single undertaking, in EUR cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AidGrant {
    /// The request whose accepted quote granted it; empty for aid declared at registration.
    pub access_request_id: String,
    pub amount_eur_cents: i64,
    pub grant_time: i64,
    pub granting_authority: String,
    pub legal_basis: String,
}

/// SA-6: what an undertaking received in the three years before `as_of`, and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeMinimisStatement {
    pub organisation_id: String,
    pub as_of: i64,
    pub granted_eur_cents: i64,
    pub grants: Vec<AidGrant>,
}

impl DeMinimisStatement {
    pub fn ceiling_eur_cents(&self) -> i64 {
        DE_MINIMIS_CEILING_EUR_CENTS
    }

    pub fn headroom_eur_cents(&self) -> i64 {
        (DE_MINIMIS_CEILING_EUR_CENTS - self.granted_eur_cents).max(0)
    }
}

/// Discount in percent per requester class (CONFIG: a provider's price policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discounts {
    pub start_up: u8,
    pub sme: u8,
    pub academic: u8,
    pub other: u8,
}

impl Default for Discounts {
    /// This deployment's defaults, not a rule of any programme: a start-up pays 70 % and an SME
    /// 80 % of the market price, others the market price. Each provider sets its own policy.
    fn default() -> Self {
        Self {
            start_up: 30,
            sme: 20,
            academic: 0,
            other: 0,
        }
    }
}

impl Discounts {
    pub fn percent(&self, class: RequesterClass) -> u8 {
        match class {
            RequesterClass::StartUp => self.start_up,
            RequesterClass::Sme => self.sme,
            RequesterClass::Academic => self.academic,
            RequesterClass::Other => self.other,
        }
    }
}

/// A start-up before an SME: a start-up linked to a large group still gets the start-up price.
pub fn requester_class(start_up: bool, sme: bool, academic: bool) -> RequesterClass {
    if start_up {
        RequesterClass::StartUp
    } else if sme {
        RequesterClass::Sme
    } else if academic {
        RequesterClass::Academic
    } else {
        RequesterClass::Other
    }
}

/// One line's prices in minor units: market, charged (rounded half up to the cent).
pub fn line_prices(units: i64, unit_price: i64, discount_percent: u8) -> Option<(i64, i64)> {
    let market = units.checked_mul(unit_price)?;
    let kept = i128::from(100 - i64::from(discount_percent.min(100)));
    let charged = (i128::from(market) * kept + 50) / 100;
    Some((market, i64::try_from(charged).ok()?))
}

/// The sum of declared aid amounts, or the position of the one whose addition would overflow.
pub fn declared_total(amounts: impl IntoIterator<Item = i64>) -> Result<i64, usize> {
    amounts
        .into_iter()
        .enumerate()
        .try_fold(0_i64, |total, (position, amount)| {
            total.checked_add(amount).ok_or(position)
        })
}

/// SA-6: whether `aid` fits beside what the single undertaking received in the window.
pub fn check_de_minimis(granted_in_window: i64, aid: i64) -> Result<i64, String> {
    let headroom = DE_MINIMIS_CEILING_EUR_CENTS - granted_in_window;
    if aid > headroom {
        Err(format!(
            "the aid of {} would exceed the de minimis ceiling of EUR 300,000 over three years (SA-6): \
             {} received, {} left",
            euros(aid),
            euros(granted_in_window),
            euros(headroom.max(0))
        ))
    } else {
        Ok(headroom - aid)
    }
}

/// `1234567` → `EUR 12,345.67`.
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (position, digit) in whole.chars().enumerate() {
        if position > 0 && (whole.len() - position).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("EUR {sign}{grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sa5_a_discount_is_the_difference_to_the_market_price() {
        assert_eq!(line_prices(4, 25_000, 20), Some((100_000, 80_000)));
        assert_eq!(line_prices(3, 333, 30), Some((999, 699)), "699.3 rounds to 699");
        assert_eq!(line_prices(1, 5, 30), Some((5, 4)), "3.5 rounds half up");
        assert_eq!(line_prices(i64::MAX, 2, 0), None, "overflow is refused, not wrapped");
    }

    #[test]
    fn sa6_declared_aid_that_overflows_is_refused_by_position_not_wrapped() {
        assert_eq!(declared_total([10, 20, 30]), Ok(60));
        assert_eq!(declared_total([]), Ok(0));
        assert_eq!(declared_total([1, i64::MAX - 1, 5]), Err(2), "the third brings it over");
        // A ledger whose sum reached the largest value left no headroom, and no panic.
        assert!(check_de_minimis(i64::MAX, 1).is_err());
    }

    #[test]
    fn a_start_up_is_priced_as_a_start_up_before_its_sme_class() {
        assert_eq!(requester_class(true, true, false), RequesterClass::StartUp);
        assert_eq!(requester_class(false, true, false), RequesterClass::Sme);
        assert_eq!(requester_class(false, false, true), RequesterClass::Academic);
        assert_eq!(requester_class(false, false, false), RequesterClass::Other);
        assert_eq!(Discounts::default().percent(RequesterClass::Other), 0);
    }

    #[test]
    fn sa6_the_ceiling_is_300000_euros_and_the_headroom_is_stated() {
        assert_eq!(
            check_de_minimis(0, DE_MINIMIS_CEILING_EUR_CENTS),
            Ok(0),
            "exactly the ceiling fits"
        );
        assert_eq!(check_de_minimis(29_000_000, 500_000), Ok(500_000));
        let refused = check_de_minimis(29_900_000, 200_000).expect_err("over");
        assert!(refused.contains("EUR 1,000.00 left"), "{refused}");
        assert!(refused.contains("EUR 299,000.00 received"), "{refused}");
    }

    #[test]
    fn amounts_read_as_euros() {
        assert_eq!(euros(30_000_000), "EUR 300,000.00");
        assert_eq!(euros(5), "EUR 0.05");
        assert_eq!(euros(-123_456), "EUR -1,234.56");
    }
}
