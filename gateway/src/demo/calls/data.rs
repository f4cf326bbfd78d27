//! The allocation demo's data, `gateway/demo/calls.json`: organisations and people in proto3 JSON
//! or plain fields, and per call its installations, rulebook, panel and proposals with what each
//! goes through (reviews, conflicts, feasibility, withdrawal, slots).

use std::collections::BTreeMap;

use rti_proto::allocation as proto;
use serde::Deserialize;

pub(super) use crate::demo::people::{DemoOrganisation, DemoPerson};

const DATA: &str = include_str!("../../../demo/calls.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoData {
    #[serde(rename = "_note")]
    pub(super) _note: String,
    pub(super) organisations: Vec<DemoOrganisation>,
    pub(super) people: Vec<DemoPerson>,
    pub(super) calls: Vec<DemoCall>,
    /// Slots for the accepted industrial-lane request of intake's demo.
    pub(super) industrial_slots: Vec<DemoSlot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Stage {
    /// Proposals evaluated, nothing reviewed.
    Open,
    /// A panel, reviews, conflicts, feasibility, a ranking and a dry run.
    InReview,
    /// As in review, then the committed allocation and slots.
    Allocated,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoCall {
    pub(super) key: String,
    pub(super) title: String,
    pub(super) programme: String,
    pub(super) grant_agreement: String,
    pub(super) opened_days_ago: i64,
    pub(super) closes_in_days: i64,
    pub(super) continuous: bool,
    pub(super) stage: Stage,
    pub(super) installations: Vec<DemoOffered>,
    pub(super) criteria: Vec<proto::Criterion>,
    pub(super) rulebook: proto::Rulebook,
    pub(super) panel: Vec<proto::PanelMember>,
    pub(super) proposals: Vec<DemoProposal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoOffered {
    /// `infrastructure-key/installation-key` of the demo catalogue.
    pub(super) installation: String,
    pub(super) units: i64,
    #[serde(default)]
    pub(super) equivalent_ri_countries: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoProposal {
    pub(super) number: u8,
    pub(super) group: DemoGroup,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) asks: Vec<DemoAsk>,
    #[serde(default)]
    pub(super) reviews: Vec<DemoReview>,
    #[serde(default)]
    pub(super) conflicts: Vec<DemoConflict>,
    /// The operator's finding on every installation asked for; none yet when absent.
    #[serde(default)]
    pub(super) feasible: Option<bool>,
    #[serde(default)]
    pub(super) feasibility_note: String,
    /// Withdrawn in intake, for this reason, before the panel meets.
    #[serde(default)]
    pub(super) withdraw: Option<String>,
    #[serde(default)]
    pub(super) slots: Vec<DemoSlot>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoGroup {
    pub(super) name: String,
    /// People by number; the first leads.
    pub(super) members: Vec<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoAsk {
    pub(super) installation: String,
    pub(super) units: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoReview {
    pub(super) reviewer: String,
    pub(super) scores: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) comment: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoConflict {
    pub(super) reviewer: String,
    pub(super) reason: String,
}

/// Where a slot rests once loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SlotTarget {
    Held,
    Declined,
    Accepted,
    Confirmed,
    Delivered,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoSlot {
    /// Empty for the industrial request's slots: its one installation.
    #[serde(default)]
    pub(super) installation: String,
    pub(super) units: i64,
    /// The installation's capacity window from now on, counting from 0; a later one when this
    /// one has too few free units.
    pub(super) window: usize,
    pub(super) until: SlotTarget,
    #[serde(default)]
    pub(super) delivered: i64,
    #[serde(default)]
    pub(super) lost: i64,
    #[serde(default)]
    pub(super) lost_reason: String,
    /// Why it was declined.
    #[serde(default)]
    pub(super) reason: String,
}

pub(super) fn parse() -> Result<DemoData, tonic::Status> {
    serde_json::from_str(DATA).map_err(|error| tonic::Status::internal(format!("demo file calls.json: {error}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn people_by_number(data: &DemoData) -> BTreeMap<u8, &DemoPerson> {
        data.people.iter().map(|person| (person.number, person)).collect()
    }

    fn work_country(data: &DemoData, person: &DemoPerson) -> String {
        if !person.works_in.is_empty() {
            return person.works_in.clone();
        }
        data.organisations
            .iter()
            .find(|organisation| organisation.number == person.employer)
            .map(|organisation| organisation.organisation.country.clone())
            .unwrap_or_default()
    }

    #[test]
    fn every_name_is_marked_and_every_reference_resolves() {
        let data = parse().expect("calls.json parses");
        let people = people_by_number(&data);
        let organisations: BTreeSet<u8> = data.organisations.iter().map(|entry| entry.number).collect();
        assert_eq!(
            organisations.len(),
            data.organisations.len(),
            "organisation numbers are unique"
        );
        assert_eq!(people.len(), data.people.len(), "person numbers are unique");
        for entry in &data.organisations {
            assert!(entry.organisation.legal_name.ends_with("(demo)"), "{entry:?}");
        }
        for person in &data.people {
            assert!(person.full_name.ends_with("(demo)"), "{person:?}");
            assert!(organisations.contains(&person.employer), "{person:?}");
            assert_eq!(
                person.works_in.is_empty(),
                person.work_evidence.is_empty(),
                "{person:?}"
            );
        }
        let catalogue: BTreeMap<String, rti_proto::registry::Installation> = crate::demo::catalogue::installations()
            .expect("the catalogue parses")
            .into_iter()
            .collect();
        let mut numbers = BTreeSet::new();
        for call in &data.calls {
            assert!(call.title.ends_with("(demo)"), "{}", call.title);
            let offered: BTreeSet<&str> = call
                .installations
                .iter()
                .map(|entry| entry.installation.as_str())
                .collect();
            for key in &offered {
                let installation = catalogue
                    .get(*key)
                    .unwrap_or_else(|| panic!("{key} is not in the catalogue"));
                // Intake holds requests for these for a security review; the demo's go to review.
                assert!(installation.critical_technology_areas.is_empty(), "{key}");
                assert!(installation.dual_use_categories.is_empty(), "{key}");
            }
            let panel: BTreeSet<&str> = call.panel.iter().map(|member| member.reviewer.as_str()).collect();
            for proposal in &call.proposals {
                assert!(numbers.insert(proposal.number), "proposal {} twice", proposal.number);
                assert!(proposal.title.ends_with("(demo)") && proposal.group.name.ends_with("(demo)"));
                for member in &proposal.group.members {
                    assert!(
                        people.contains_key(member),
                        "proposal {}: person {member}",
                        proposal.number
                    );
                }
                for ask in &proposal.asks {
                    assert!(
                        offered.contains(ask.installation.as_str()),
                        "proposal {}",
                        proposal.number
                    );
                }
                let conflicted: BTreeSet<&str> = proposal.conflicts.iter().map(|c| c.reviewer.as_str()).collect();
                for review in &proposal.reviews {
                    assert!(panel.contains(review.reviewer.as_str()), "proposal {}", proposal.number);
                    assert!(
                        !conflicted.contains(review.reviewer.as_str()),
                        "proposal {}",
                        proposal.number
                    );
                    let criteria: BTreeSet<&str> = call.criteria.iter().map(|c| c.name.as_str()).collect();
                    assert_eq!(
                        review.scores.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                        criteria
                    );
                }
                for conflict in &proposal.conflicts {
                    assert!(
                        panel.contains(conflict.reviewer.as_str()),
                        "proposal {}",
                        proposal.number
                    );
                }
                for slot in &proposal.slots {
                    assert_eq!(call.stage, Stage::Allocated, "slots follow a committed allocation");
                    assert!(
                        offered.contains(slot.installation.as_str()),
                        "proposal {}",
                        proposal.number
                    );
                    assert!(slot.delivered + slot.lost <= slot.units);
                    assert_eq!(slot.lost > 0, !slot.lost_reason.is_empty());
                }
            }
        }
    }

    #[test]
    fn the_demo_spans_countries_call_stages_and_slot_states() {
        let data = parse().expect("calls.json parses");
        let people = people_by_number(&data);
        let proposals: Vec<&DemoProposal> = data.calls.iter().flat_map(|call| &call.proposals).collect();
        assert!((15..=30).contains(&proposals.len()), "{} proposals", proposals.len());
        let stages: BTreeSet<Stage> = data.calls.iter().map(|call| call.stage).collect();
        assert_eq!(stages.len(), 3, "open, in review and allocated calls");
        let mixed = proposals
            .iter()
            .filter(|proposal| {
                let countries: BTreeSet<String> = proposal
                    .group
                    .members
                    .iter()
                    .map(|number| work_country(&data, people[number]))
                    .collect();
                countries.len() > 1
            })
            .count();
        assert!(mixed * 2 > proposals.len(), "most groups work in several countries");
        let targets: BTreeSet<String> = data
            .calls
            .iter()
            .flat_map(|call| &call.proposals)
            .flat_map(|proposal| &proposal.slots)
            .chain(&data.industrial_slots)
            .map(|slot| format!("{:?}", slot.until))
            .collect();
        assert_eq!(targets.len(), 5, "every state a slot can rest in: {targets:?}");
        assert!(
            data.industrial_slots
                .iter()
                .any(|slot| slot.until == SlotTarget::Delivered)
        );
    }
}
