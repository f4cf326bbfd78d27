//! Calls as a coordinator opens them, and the steps from a proposal to a stored allocation:
//! the panel, reviews, feasibility and the committed run; then slot offers.

use rti_platform::ids::new_id;
use rti_platform::time::{date_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::pbjson_types::Timestamp;

use super::{Applicant, Site, User, World, coordinator, day, reviewer};

/// The criteria of every test call and their weights.
pub const EXCELLENCE: &str = "excellence";
pub const EXCELLENCE_WEIGHT: f64 = 3.0;
pub const FEASIBILITY: &str = "feasibility";
pub const FEASIBILITY_WEIGHT: f64 = 1.0;

/// The panel member who reviews in the tests that are not about the panel.
pub const REVIEWER: &str = "reviewer-grace";

/// The rulebook of the test calls: the programme's defaults, each written out (TA-2 applies, the
/// 20 % cap, SMEs may keep results confidential, a new-user bonus of 0.5, partial grants of at
/// least half).
pub fn rulebook() -> proto::Rulebook {
    proto::Rulebook {
        transnationality: true,
        non_eu_cap_percent: 20,
        sme_dissemination_exemption: true,
        eu_only: false,
        new_user_bonus: 0.5,
        no_equivalent_ri_bonus: 0.0,
        widening_bonus: 0.0,
        country_cap_percent: 0,
        min_grant_percent: 50,
        score_threshold: 0.0,
        ..Default::default()
    }
}

/// `units` of `site` offered in a call.
pub fn offered(site: &Site, units: i64) -> proto::CallInstallation {
    proto::CallInstallation {
        installation_id: site.id().into(),
        units,
        ..Default::default()
    }
}

/// Midnight UTC of `date` (`YYYY-MM-DD`).
pub fn on(date: &str) -> Timestamp {
    timestamp_from_micros(date_micros(date).expect("a date"))
}

/// A valid call over `installations`, closing in thirty days, under [`rulebook`].
pub fn call_request(installations: Vec<proto::CallInstallation>) -> proto::CreateCallRequest {
    proto::CreateCallRequest {
        request_id: new_id(),
        title: "Transnational access, first call".into(),
        programme: "HORIZON-INFRA-2027-SERV-01".into(),
        grant_agreement: "101188001".into(),
        public_url: "https://access.example.invalid/calls/1".into(),
        close_time: Some(timestamp_from_micros(day(30))),
        open_time: Some(timestamp_from_micros(day(-30))),
        continuous: false,
        installations,
        criteria: vec![
            proto::Criterion {
                name: EXCELLENCE.into(),
                weight: EXCELLENCE_WEIGHT,
            },
            proto::Criterion {
                name: FEASIBILITY.into(),
                weight: FEASIBILITY_WEIGHT,
            },
        ],
        rulebook: Some(rulebook()),
        grant_planned_units: 0,
        max_days_decision_to_access: 0,
    }
}

/// A score per criterion of the test calls.
pub fn scores(excellence: f64, feasibility: f64) -> Vec<proto::CriterionScore> {
    vec![
        proto::CriterionScore {
            criterion: EXCELLENCE.into(),
            score: excellence,
        },
        proto::CriterionScore {
            criterion: FEASIBILITY.into(),
            score: feasibility,
        },
    ]
}

/// A panel member, independent.
pub fn member(subject: &str) -> proto::PanelMember {
    proto::PanelMember {
        reviewer: subject.into(),
        independent: true,
        affiliation: "University of Ghent".into(),
    }
}

/// The line of `proposal_id` in an allocation.
pub fn line<'a>(allocation: &'a proto::Allocation, proposal_id: &str) -> &'a proto::AllocationLine {
    allocation
        .lines
        .iter()
        .find(|line| line.proposal_id == proposal_id)
        .unwrap_or_else(|| panic!("a line for {proposal_id} in {allocation:#?}"))
}

/// The units of `installation_id` in a list of requested or granted units (0 when absent).
pub fn units_at(units: &[proto::RequestedUnits], installation_id: &str) -> i64 {
    units
        .iter()
        .filter(|entry| entry.installation_id == installation_id)
        .map(|entry| entry.units)
        .sum()
}

/// An offer of `units` of `site`'s first window for `access_request_id`, held for the default time.
pub fn offer(access_request_id: &str, site: &Site, units: i64) -> proto::OfferSlotRequest {
    proto::OfferSlotRequest {
        request_id: new_id(),
        access_request_id: access_request_id.into(),
        installation_id: site.id().into(),
        window_id: site.window.id.clone(),
        units,
        hold_seconds: 0,
    }
}

/// A proposal granted by a committed allocation, with its call and applicant.
#[derive(Debug, Clone)]
pub struct Granted {
    pub call: proto::Call,
    pub proposal: proto::Proposal,
    pub applicant: Applicant,
}

impl World {
    /// Creates `request` as the coordinator.
    pub async fn open_call(&self, request: proto::CreateCallRequest) -> proto::Call {
        self.create_call(&coordinator(), request)
            .await
            .expect("creates the call")
    }

    /// A call over `installations` under `rules`.
    pub async fn call_under(&self, rules: proto::Rulebook, installations: Vec<proto::CallInstallation>) -> proto::Call {
        self.open_call(proto::CreateCallRequest {
            rulebook: Some(rules),
            ..call_request(installations)
        })
        .await
    }

    /// A call offering `units` of each site, under [`rulebook`].
    pub async fn call_for(&self, offers: &[(&Site, i64)]) -> proto::Call {
        let installations = offers.iter().map(|(site, units)| offered(site, *units)).collect();
        self.open_call(call_request(installations)).await
    }

    /// Sets the call's panel to independent `reviewers`.
    pub async fn panel(&self, call_id: &str, reviewers: &[&str]) -> proto::Panel {
        let members = reviewers.iter().map(|subject| member(subject)).collect();
        self.set_panel(&coordinator(), call_id, members)
            .await
            .expect("sets the panel")
    }

    /// [`REVIEWER`] scores every criterion `score`, and the operator of every installation the
    /// proposal asks for finds it feasible. The panel must list [`REVIEWER`].
    pub async fn assess(&self, proposal: &proto::Proposal, score: f64) {
        self.submit_review(&reviewer(REVIEWER), &proposal.id, scores(score, score))
            .await
            .expect("reviews");
        for asked in &proposal.requested {
            let operator = self.site(&asked.installation_id).operator();
            self.submit_feasibility(&operator, &proposal.id, &asked.installation_id, true)
                .await
                .expect("the operator finds it feasible");
        }
    }

    /// A panel of [`REVIEWER`] for the call, and each proposal assessed with its score.
    pub async fn assess_all(&self, call_id: &str, proposals: &[(&proto::Proposal, f64)]) {
        self.panel(call_id, &[REVIEWER]).await;
        for (proposal, score) in proposals {
            self.assess(proposal, *score).await;
        }
    }

    /// Runs and stores the call's allocation as the coordinator.
    pub async fn commit(&self, call_id: &str) -> proto::RunAllocationResponse {
        self.run_allocation(&coordinator(), call_id, false)
            .await
            .expect("the allocation runs")
    }

    /// A proposal of `applicant`'s group of `users` asking `asks`, in a call that offers
    /// [`super::SITE_WINDOW_UNITS`] of each site, reviewed, feasible and granted in full.
    pub async fn granted(&self, applicant: &Applicant, asks: &[(&Site, i64)], users: &[User]) -> Granted {
        let group = self.group(applicant, users).await;
        self.granted_group(applicant, asks, &group.id).await
    }

    /// As [`World::granted`], for a group registered before.
    pub async fn granted_group(&self, applicant: &Applicant, asks: &[(&Site, i64)], user_group_id: &str) -> Granted {
        let offers: Vec<(&Site, i64)> = asks.iter().map(|(site, _)| (*site, super::SITE_WINDOW_UNITS)).collect();
        let call = self.call_for(&offers).await;
        let ids: Vec<(&str, i64)> = asks.iter().map(|(site, units)| (site.id(), *units)).collect();
        let proposal = self
            .propose_request(applicant, super::transnational(&call.id, &ids, user_group_id))
            .await;
        self.assess_all(&call.id, &[(&proposal, 8.0)]).await;
        let run = self.commit(&call.id).await;
        let allocation = run.allocation.expect("the stored allocation");
        let decided = line(&allocation, &proposal.id);
        assert_eq!(decided.decision(), proto::LineDecision::Granted, "{decided:?}");
        let proposal = self.proposal(&proposal.id).await;
        assert_eq!(proposal.status(), proto::ProposalStatus::Granted);
        Granted {
            call,
            proposal,
            applicant: applicant.clone(),
        }
    }

    /// A slot of `units` of `site` for `access_request_id`: offered by the site's operator,
    /// accepted by `applicant` and confirmed.
    pub async fn confirmed_slot(
        &self,
        access_request_id: &str,
        site: &Site,
        units: i64,
        applicant: &Applicant,
    ) -> proto::Slot {
        let held = self
            .offer_slot(&site.operator(), offer(access_request_id, site, units))
            .await
            .expect("the operator offers a slot");
        self.accept_slot(&applicant.token, &held.id)
            .await
            .expect("the applicant accepts");
        self.confirm_slot(&site.operator(), &held.id)
            .await
            .expect("the operator confirms")
    }
}
