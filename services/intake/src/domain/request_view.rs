//! What a reader is shown of an access request it may read (`access::may_read_request`). The
//! requester, admins and the suite's services see all of it. An operator who reads a request
//! because it asks for its installations sees what it needs to serve it, and no more (issue 13,
//! item 5): not the sanctions screening's hits, which name people and listed parties (SEC-7.5:
//! limit who sees them), nor the reasons screening gave, nor the quote lines of installations
//! another operator runs (their prices and discounts are that operator's and the requester's).

use rti_platform::auth::Principal;

use super::access::sees_everything;
use super::quote::{Money, Quote};
use super::request::{AccessRequest, RequestStatus};

/// What an operator reads instead of the reason of a step screening decided.
pub const SCREENING_REASON_WITHHELD: &str =
    "decided by the sanctions and security screening; its reasons are kept for the compliance officer";

/// `request` as `caller` may see it.
pub fn as_seen_by(caller: &Principal, mut request: AccessRequest) -> AccessRequest {
    if sees_everything(caller) || caller.is_applicant_of(&request.organisation_id) {
        return request;
    }
    if let Some(screening) = request.screening.as_mut() {
        screening.hits.clear();
        // SEC-3: what re-screening found names people and listed parties too.
        for rescreening in &mut screening.rescreenings {
            rescreening.hits.clear();
        }
        if let Some(review) = screening.review.as_mut() {
            review.rationale.clear();
        }
    }
    for step in &mut request.history {
        let rescreened = step.to == RequestStatus::Screening && step.from != Some(RequestStatus::Submitted);
        if step.from == Some(RequestStatus::Screening) || rescreened {
            SCREENING_REASON_WITHHELD.clone_into(&mut step.reason);
        }
    }
    let operated: Vec<&str> = request
        .installations
        .iter()
        .filter(|installation| caller.operates(&installation.infrastructure_id))
        .map(|installation| installation.installation_id.as_str())
        .collect();
    if let Some(quote) = request.quote.as_mut() {
        keep_lines(quote, &operated);
    }
    request
}

/// Keeps the lines of `installations` only, with totals over those lines: totals over every
/// line would give another operator's prices away by subtraction, and so would the aid total
/// and the requester's de minimis headroom after it, which are withheld.
fn keep_lines(quote: &mut Quote, installations: &[&str]) {
    let before = quote.lines.len();
    quote
        .lines
        .retain(|line| installations.contains(&line.installation_id.as_str()));
    if quote.lines.len() == before {
        return;
    }
    let currency = quote.market_price.currency.clone();
    let sum = |price: fn(&super::quote::QuoteLine) -> i64| Money {
        currency: currency.clone(),
        minor_units: quote.lines.iter().map(price).fold(0, i64::saturating_add),
    };
    quote.market_price = sum(|line| line.market_price.minor_units);
    quote.charged_price = sum(|line| line.charged_price.minor_units);
    quote.aid = Money::default();
    quote.de_minimis_headroom_after = Money::default();
}

#[cfg(test)]
mod tests {
    use rti_platform::auth::Role;

    use super::*;
    use crate::domain::access::principal;
    use crate::domain::aid::RequesterClass;
    use crate::domain::names::Verdict;
    use crate::domain::quote::{AidBasis, QuoteLine};
    use crate::domain::request::{Lane, StatusTransition, example};
    use crate::domain::screening_record::{Rescreening, ReviewDecision, Screening, ScreeningHit, ScreeningReview};

    fn line(installation_id: &str, market: i64, charged: i64) -> QuoteLine {
        QuoteLine {
            installation_id: installation_id.to_owned(),
            tariff_id: format!("tariff-of-{installation_id}"),
            units: 1,
            unit_price: Money::euro(market),
            market_price: Money::euro(market),
            charged_price: Money::euro(charged),
        }
    }

    /// A quoted request for two installations of two infrastructures, screened with a POSSIBLE
    /// hit that an admin cleared.
    fn screened_and_quoted() -> AccessRequest {
        let mut request = example(Lane::Industrial, RequestStatus::Quoted);
        let mut second = request.installations[0].clone();
        second.installation_id = "installation-2".to_owned();
        second.infrastructure_id = "infra-2".to_owned();
        request.installations.push(second);
        request.screening = Some(Screening {
            verdict: Verdict::Possible,
            sanctions_list_id: "list-1".to_owned(),
            list_generation_time: 0,
            hits: vec![ScreeningHit {
                subject_kind: "person".to_owned(),
                subject_id: "person-1".to_owned(),
                screened_name: "Boris Someone".to_owned(),
                listed_name: "Boris Invented-Testname".to_owned(),
                listed_party: "EU.FICT.1".to_owned(),
                score: 0.9,
                verdict: Verdict::Possible,
            }],
            blocks: Vec::new(),
            security_flags: Vec::new(),
            screen_time: 0,
            review: Some(ScreeningReview {
                decision: ReviewDecision::Approve,
                rationale: "Boris Someone is not the listed Boris".to_owned(),
                conditions: String::new(),
                reviewer: "officer".to_owned(),
                review_time: 0,
            }),
            rescreenings: Vec::new(),
        });
        request.history.push(StatusTransition {
            from: Some(RequestStatus::Screening),
            to: RequestStatus::Feasibility,
            actor: "officer".to_owned(),
            reason: "screening review approved: Boris Someone is not the listed Boris".to_owned(),
            time: 0,
        });
        request.quote = Some(Quote {
            lines: vec![line("installation-1", 1_000, 800), line("installation-2", 5_000, 4_000)],
            requester_class: RequesterClass::Sme,
            discount_percent: 20,
            discount_reason: "SME".to_owned(),
            market_price: Money::euro(6_000),
            charged_price: Money::euro(4_800),
            aid: Money::euro(1_200),
            aid_basis: AidBasis::DeMinimis,
            de_minimis_headroom_after: Money::euro(29_998_800),
            quoted_by: "operator-of-both".to_owned(),
            quote_time: 0,
            valid_until: 1,
        });
        request
    }

    #[test]
    fn sec7_an_operator_sees_neither_screening_hits_nor_their_reasons() {
        let operator = principal(&[Role::Operator], None, &["infra-1", "infra-2"]);
        let seen = as_seen_by(&operator, screened_and_quoted());
        let screening = seen.screening.expect("the verdict stays");
        assert_eq!(screening.verdict, Verdict::Possible, "the verdict is shown");
        assert!(screening.hits.is_empty(), "{:?}", screening.hits);
        assert_eq!(screening.review.expect("the decision stays").rationale, "");
        let step = seen.history.last().expect("a step");
        assert_eq!(step.reason, SCREENING_REASON_WITHHELD);
        assert_eq!(step.to, RequestStatus::Feasibility, "the step itself is shown");
    }

    #[test]
    fn sec3_an_operator_sees_neither_re_screening_hits_nor_why_it_held_the_request() {
        let mut suspended = screened_and_quoted();
        let screening = suspended.screening.as_mut().expect("screened");
        screening.rescreenings.push(Rescreening {
            sanctions_list_id: "list-2".to_owned(),
            list_generation_time: 1,
            baseline_list_id: "list-1".to_owned(),
            verdict: Verdict::Match,
            hits: screening.hits.clone(),
            screen_time: 1,
        });
        suspended.history.push(StatusTransition {
            from: Some(RequestStatus::Quoted),
            to: RequestStatus::Screening,
            actor: "intake".to_owned(),
            reason: "suspended by re-screening against sanctions list version list-2: person ~ listed party EU.FICT.1"
                .to_owned(),
            time: 1,
        });
        let operator = principal(&[Role::Operator], None, &["infra-1", "infra-2"]);
        let seen = as_seen_by(&operator, suspended.clone());
        let rescreening = &seen.screening.as_ref().expect("screened").rescreenings[0];
        assert_eq!((rescreening.verdict, rescreening.hits.len()), (Verdict::Match, 0));
        assert_eq!(seen.history.last().expect("a step").reason, SCREENING_REASON_WITHHELD);
        let admin = principal(&[Role::Admin], None, &[]);
        assert_eq!(
            as_seen_by(&admin, suspended.clone()),
            suspended,
            "the compliance officer sees all"
        );
    }

    #[test]
    fn an_operator_sees_only_the_quote_lines_of_its_own_installations() {
        let operator = principal(&[Role::Operator], None, &["infra-1"]);
        let quote = as_seen_by(&operator, screened_and_quoted()).quote.expect("a quote");
        let lines: Vec<&str> = quote.lines.iter().map(|line| line.installation_id.as_str()).collect();
        assert_eq!(lines, ["installation-1"]);
        assert_eq!(quote.market_price, Money::euro(1_000), "totals over the lines shown");
        assert_eq!(quote.charged_price, Money::euro(800));
        assert_eq!(quote.aid, Money::default());
        assert_eq!(quote.de_minimis_headroom_after, Money::default());
        let of_both = principal(&[Role::Operator], None, &["infra-1", "infra-2"]);
        let whole = as_seen_by(&of_both, screened_and_quoted()).quote.expect("a quote");
        assert_eq!(whole, screened_and_quoted().quote.expect("a quote"));
    }

    #[test]
    fn the_requester_admins_and_services_see_the_whole_request() {
        for reader in [
            principal(&[Role::Applicant], Some("org-1"), &[]),
            principal(&[Role::Admin], None, &[]),
            principal(&[Role::Service], None, &[]),
        ] {
            assert_eq!(as_seen_by(&reader, screened_and_quoted()), screened_and_quoted());
        }
    }
}
