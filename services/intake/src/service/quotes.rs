//! Quotes of the industrial lane: an operator of every requested installation prices the
//! request in FEASIBILITY at the tariffs in force (SA-4), with the requester's discount (SA-5)
//! checked against the de minimis ceiling (SA-6); the requester accepts while the quote holds.

use rti_platform::auth::Principal;
use rti_platform::error::InvalidInput;

use super::{IntakeService, now};
use crate::domain::access::Operated;
use crate::domain::aid::requester_class;
use crate::domain::quote::{self, Acceptance, Priced, Pricing, Quote};
use crate::domain::request::{AccessRequest, RequestStatus, Transition};
use crate::domain::request_view::as_seen_by;
use crate::domain::{IntakeError, IntakeResult, lifecycle};

impl IntakeService {
    /// Quotes a request in FEASIBILITY, valid for `valid_days` (0 for the default).
    pub async fn quote_access_request(
        &self,
        caller: &Principal,
        id: &str,
        valid_days: i32,
    ) -> IntakeResult<AccessRequest> {
        let request = self.operated_request(caller, id, Operated::All).await?;
        let valid_days = quote::validity_days(valid_days)
            .ok_or_else(|| InvalidInput::single("valid_days", "must be from 1 to 180, or 0 for 30"))?;
        lifecycle::quotable(&request)?;
        let quote = self.price(&request, valid_days, &caller.subject).await?;
        let summary = quote::summary(&quote);
        let mut change = self.store.begin_change(id).await?;
        change.request_mut().quote = Some(quote);
        let quoted = change
            .commit(vec![Transition::by(&caller.subject, RequestStatus::Quoted, summary)])
            .await?;
        Ok(as_seen_by(caller, quoted))
    }

    /// The quote: tariffs in force from the registry, the requester's class discount, and the
    /// de minimis check of its aid (SA-4, SA-5, SA-6).
    async fn price(&self, request: &AccessRequest, valid_days: i64, quoted_by: &str) -> IntakeResult<Quote> {
        let organisation = self.store.get_organisation(&request.organisation_id).await?;
        let class = requester_class(
            organisation.assessment.start_up,
            organisation.is_sme(),
            organisation.is_academic(),
        );
        let now = now();
        let mut tariffs = Vec::with_capacity(request.installations.len());
        for installation_id in request.installation_ids() {
            let tariff = self.catalogue.tariff_at(installation_id, now).await?.ok_or_else(|| {
                IntakeError::FailedPrecondition(format!(
                    "installation {installation_id} has no tariff in force: its operator sets one with SetTariff"
                ))
            })?;
            tariffs.push(tariff);
        }
        let granted_in_window = self.store.de_minimis_granted(&organisation.id, now).await?;
        let requested: Vec<Priced<'_>> = request
            .installations
            .iter()
            .zip(&tariffs)
            .map(|(installation, tariff)| Priced {
                installation_id: &installation.installation_id,
                units: installation.units,
                tariff,
            })
            .collect();
        quote::price(
            &requested,
            &Pricing {
                class,
                discount_percent: self.rules.discounts.percent(class),
                granted_in_window,
                quoted_by,
                now,
                valid_days,
            },
        )
    }

    /// QUOTED → ACCEPTED while the quote holds: the requester accepts, and the quote's aid is
    /// checked against the ledger again and recorded in the same transaction (SA-6).
    pub async fn accept_quote(&self, caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        self.own_request(caller, id).await?;
        let mut change = self.store.begin_change(id).await?;
        let at = now();
        let request = change.request();
        let aid = match quote::acceptance(request.status, request.quote.as_ref(), at)? {
            Acceptance::AlreadyAccepted => return Ok(change.into_request()),
            Acceptance::Accept { aid } => aid,
        };
        if aid > 0 {
            change.grant_aid(aid, at).await?;
        }
        let step = Transition::by(
            &caller.subject,
            RequestStatus::Accepted,
            "quote accepted by the requester",
        );
        change.commit(vec![step]).await
    }
}
