//! Quotes: the tariffs in force, the requester class's discount, and the de minimis check of the
//! aid (SA-4, SA-5, SA-6).

use rti_platform::time::timestamp_from_micros;
use rti_proto::common::Money;
use rti_proto::intake as proto;

use super::server::IntakeApi;
use super::validate;
use crate::domain::{IntakeError, IntakeResult, aid};

impl IntakeApi {
    /// The quote for a request in FEASIBILITY: tariffs in force, the requester's class discount,
    /// and the de minimis check of its aid (SA-4, SA-5, SA-6).
    pub(super) async fn price(
        &self,
        request: &proto::AccessRequest,
        valid_days: i64,
        quoted_by: &str,
    ) -> IntakeResult<proto::Quote> {
        let organisation = self.store.get_organisation(&request.organisation_id).await?;
        let assessment = organisation.assessment.clone().unwrap_or_default();
        let academic = matches!(
            organisation.kind(),
            proto::OrganisationKind::University | proto::OrganisationKind::ResearchOrganisation
        );
        let class = aid::requester_class(assessment.start_up, validate::is_sme(&organisation), academic);
        let discount = self.rules.discounts.percent(class);
        let now = crate::store::now();
        let mut lines = Vec::with_capacity(request.installations.len());
        let mut currency = None::<String>;
        let (mut market_total, mut charged_total) = (0_i64, 0_i64);
        for requested in &request.installations {
            let tariff = self
                .catalogue
                .tariff_at(&requested.installation_id, now)
                .await?
                .ok_or_else(|| {
                    IntakeError::FailedPrecondition(format!(
                        "installation {} has no tariff in force: its operator sets one with SetTariff",
                        requested.installation_id
                    ))
                })?;
            let unit_price = tariff.price_per_unit.clone().unwrap_or_default();
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
            let overflow = || IntakeError::FailedPrecondition("the price is too large to compute".to_owned());
            let (market, charged) =
                aid::line_prices(requested.units, unit_price.minor_units, discount).ok_or_else(overflow)?;
            market_total = market_total.checked_add(market).ok_or_else(overflow)?;
            charged_total = charged_total.checked_add(charged).ok_or_else(overflow)?;
            let money = |minor_units| {
                Some(Money {
                    currency: unit_price.currency.clone(),
                    minor_units,
                })
            };
            lines.push(proto::QuoteLine {
                installation_id: requested.installation_id.clone(),
                tariff_id: tariff.id.clone(),
                units: requested.units,
                unit_price: Some(unit_price.clone()),
                market_price: money(market),
                charged_price: money(charged),
            });
        }
        let currency = currency.unwrap_or_else(|| "EUR".to_owned());
        let aid_amount = market_total - charged_total;
        if aid_amount > 0 && currency != "EUR" {
            return Err(IntakeError::FailedPrecondition(format!(
                "a discount on a {currency} tariff cannot be counted in the EUR de minimis ledger"
            )));
        }
        let granted = self.store.de_minimis_granted(&organisation.id, now).await?;
        let headroom_after = if aid_amount > 0 {
            aid::check_de_minimis(granted, aid_amount).map_err(IntakeError::FailedPrecondition)?
        } else {
            (aid::DE_MINIMIS_CEILING_EUR_CENTS - granted).max(0)
        };
        let money = |minor_units| {
            Some(Money {
                currency: currency.clone(),
                minor_units,
            })
        };
        Ok(proto::Quote {
            lines,
            requester_class: requester_class(class).into(),
            discount_percent: i32::from(discount),
            discount_reason: format!(
                "{discount} % for the requester class {} (the provider's price policy)",
                requester_class(class)
                    .as_str_name()
                    .trim_start_matches("REQUESTER_CLASS_")
            ),
            market_price: money(market_total),
            charged_price: money(charged_total),
            aid: money(aid_amount),
            aid_basis: if aid_amount > 0 {
                proto::AidBasis::DeMinimis
            } else {
                proto::AidBasis::None
            }
            .into(),
            de_minimis_headroom_after: Some(Money {
                currency: "EUR".into(),
                minor_units: headroom_after,
            }),
            quoted_by: quoted_by.to_owned(),
            quote_time: Some(timestamp_from_micros(now)),
            valid_until: Some(timestamp_from_micros(now + valid_days * 86_400_000_000)),
        })
    }
}

fn requester_class(class: aid::RequesterClass) -> proto::RequesterClass {
    match class {
        aid::RequesterClass::StartUp => proto::RequesterClass::StartUp,
        aid::RequesterClass::Sme => proto::RequesterClass::Sme,
        aid::RequesterClass::Academic => proto::RequesterClass::Academic,
        aid::RequesterClass::Other => proto::RequesterClass::Other,
    }
}
