//! Screening records, quotes and sanctions list versions in their protobuf form; the first two
//! both ways, as the store keeps them as JSON.

use rti_proto::intake as proto;

use super::{
    aid_basis_from_proto, aid_basis_to_proto, list_format_to_proto, micros, money_from_proto, money_to_proto,
    requester_class_from_proto, requester_class_to_proto, review_decision_from_proto, review_decision_to_proto, time,
    unreadable, verdict_from_proto, verdict_to_proto,
};
use crate::domain::quote::{Quote, QuoteLine};
use crate::domain::sanctions::SanctionsListVersion;
use crate::domain::screening_record::{Rescreening, Screening, ScreeningHit, ScreeningReview};

fn hits_to_proto(hits: &[ScreeningHit]) -> Vec<proto::ScreeningHit> {
    hits.iter()
        .map(|hit| proto::ScreeningHit {
            subject_kind: hit.subject_kind.clone(),
            subject_id: hit.subject_id.clone(),
            screened_name: hit.screened_name.clone(),
            listed_name: hit.listed_name.clone(),
            listed_party: hit.listed_party.clone(),
            score: hit.score,
            verdict: verdict_to_proto(hit.verdict),
        })
        .collect()
}

fn hits_from_proto(hits: Vec<proto::ScreeningHit>) -> Result<Vec<ScreeningHit>, String> {
    hits.into_iter()
        .map(|hit| {
            Ok(ScreeningHit {
                verdict: verdict_from_proto(hit.verdict).ok_or_else(|| unreadable("screening verdict"))?,
                subject_kind: hit.subject_kind,
                subject_id: hit.subject_id,
                screened_name: hit.screened_name,
                listed_name: hit.listed_name,
                listed_party: hit.listed_party,
                score: hit.score,
            })
        })
        .collect()
}

pub fn screening_to_proto(screening: &Screening) -> proto::Screening {
    proto::Screening {
        verdict: verdict_to_proto(screening.verdict),
        sanctions_list_id: screening.sanctions_list_id.clone(),
        list_generation_time: time(screening.list_generation_time),
        hits: hits_to_proto(&screening.hits),
        blocks: screening.blocks.clone(),
        security_flags: screening.security_flags.clone(),
        screen_time: time(screening.screen_time),
        review: screening.review.as_ref().map(|review| proto::ScreeningReview {
            decision: review_decision_to_proto(review.decision),
            rationale: review.rationale.clone(),
            conditions: review.conditions.clone(),
            reviewer: review.reviewer.clone(),
            review_time: time(review.review_time),
        }),
        rescreenings: screening
            .rescreenings
            .iter()
            .map(|rescreening| proto::Rescreening {
                sanctions_list_id: rescreening.sanctions_list_id.clone(),
                list_generation_time: time(rescreening.list_generation_time),
                baseline_list_id: rescreening.baseline_list_id.clone(),
                verdict: verdict_to_proto(rescreening.verdict),
                hits: hits_to_proto(&rescreening.hits),
                screen_time: time(rescreening.screen_time),
            })
            .collect(),
    }
}

pub fn screening_from_proto(screening: proto::Screening) -> Result<Screening, String> {
    let verdict = |value| verdict_from_proto(value).ok_or_else(|| unreadable("screening verdict"));
    let hits = hits_from_proto(screening.hits)?;
    let rescreenings = screening
        .rescreenings
        .into_iter()
        .map(|rescreening| {
            Ok(Rescreening {
                verdict: verdict(rescreening.verdict)?,
                list_generation_time: micros(rescreening.list_generation_time.as_ref()),
                screen_time: micros(rescreening.screen_time.as_ref()),
                hits: hits_from_proto(rescreening.hits)?,
                sanctions_list_id: rescreening.sanctions_list_id,
                baseline_list_id: rescreening.baseline_list_id,
            })
        })
        .collect::<Result<_, String>>()?;
    let review = match screening.review {
        Some(review) => Some(ScreeningReview {
            decision: review_decision_from_proto(review.decision).ok_or_else(|| unreadable("review decision"))?,
            review_time: micros(review.review_time.as_ref()),
            rationale: review.rationale,
            conditions: review.conditions,
            reviewer: review.reviewer,
        }),
        None => None,
    };
    Ok(Screening {
        verdict: verdict(screening.verdict)?,
        sanctions_list_id: screening.sanctions_list_id,
        list_generation_time: micros(screening.list_generation_time.as_ref()),
        hits,
        blocks: screening.blocks,
        security_flags: screening.security_flags,
        screen_time: micros(screening.screen_time.as_ref()),
        review,
        rescreenings,
    })
}

pub fn quote_to_proto(quote: &Quote) -> proto::Quote {
    proto::Quote {
        lines: quote
            .lines
            .iter()
            .map(|line| proto::QuoteLine {
                installation_id: line.installation_id.clone(),
                tariff_id: line.tariff_id.clone(),
                units: line.units,
                unit_price: money_to_proto(&line.unit_price),
                market_price: money_to_proto(&line.market_price),
                charged_price: money_to_proto(&line.charged_price),
            })
            .collect(),
        requester_class: requester_class_to_proto(quote.requester_class),
        discount_percent: quote.discount_percent,
        discount_reason: quote.discount_reason.clone(),
        market_price: money_to_proto(&quote.market_price),
        charged_price: money_to_proto(&quote.charged_price),
        aid: money_to_proto(&quote.aid),
        aid_basis: aid_basis_to_proto(quote.aid_basis),
        de_minimis_headroom_after: money_to_proto(&quote.de_minimis_headroom_after),
        quoted_by: quote.quoted_by.clone(),
        quote_time: time(quote.quote_time),
        valid_until: time(quote.valid_until),
    }
}

pub fn quote_from_proto(quote: proto::Quote) -> Result<Quote, String> {
    Ok(Quote {
        lines: quote
            .lines
            .into_iter()
            .map(|line| QuoteLine {
                unit_price: money_from_proto(line.unit_price.as_ref()),
                market_price: money_from_proto(line.market_price.as_ref()),
                charged_price: money_from_proto(line.charged_price.as_ref()),
                installation_id: line.installation_id,
                tariff_id: line.tariff_id,
                units: line.units,
            })
            .collect(),
        requester_class: requester_class_from_proto(quote.requester_class)
            .ok_or_else(|| unreadable("requester class"))?,
        discount_percent: quote.discount_percent,
        market_price: money_from_proto(quote.market_price.as_ref()),
        charged_price: money_from_proto(quote.charged_price.as_ref()),
        aid: money_from_proto(quote.aid.as_ref()),
        aid_basis: aid_basis_from_proto(quote.aid_basis).ok_or_else(|| unreadable("aid basis"))?,
        de_minimis_headroom_after: money_from_proto(quote.de_minimis_headroom_after.as_ref()),
        quote_time: micros(quote.quote_time.as_ref()),
        valid_until: micros(quote.valid_until.as_ref()),
        discount_reason: quote.discount_reason,
        quoted_by: quote.quoted_by,
    })
}

pub fn sanctions_list_to_proto(version: &SanctionsListVersion) -> proto::SanctionsListVersion {
    proto::SanctionsListVersion {
        id: version.id.clone(),
        generation_time: time(version.generation_time),
        format: list_format_to_proto(version.format),
        sha256: version.sha256.clone(),
        parties: version.parties,
        names: version.names,
        imported_by: version.imported_by.clone(),
        import_time: time(version.import_time),
    }
}
