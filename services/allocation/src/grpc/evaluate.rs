//! Eligibility applied to a stored proposal: the rules of `domain::eligibility`, per requested
//! installation, under the call's rulebook in force, on the call's reference date (its close
//! time, CTRY-2), with the group as intake knows it.

use rti_platform::time::{micros_from_timestamp, now_micros, timestamp_from_micros};
use rti_proto::allocation as proto;
use rti_proto::common::event::Payload;
use rti_proto::intake;

use super::{AllocationApi, offered, rulebook};
use crate::domain::countries::CountryTable;
use crate::domain::eligibility::{self, Group, Member, Outcome, ProviderForm, Requester, Rulebook, Site};
use crate::error::{AllocationError, AllocationResult};
use crate::store::Change;

/// The rules' view of a call's rulebook.
pub fn domain_rulebook(rulebook: &proto::Rulebook) -> Rulebook {
    Rulebook {
        version: u32::try_from(rulebook.version).unwrap_or_default(),
        transnationality: rulebook.transnationality,
        non_eu_cap_percent: u32::try_from(rulebook.non_eu_cap_percent).unwrap_or(20),
        sme_dissemination_exemption: rulebook.sme_dissemination_exemption,
        eu_only: rulebook.eu_only,
        new_user_bonus: rulebook.new_user_bonus,
        no_equivalent_ri_bonus: rulebook.no_equivalent_ri_bonus,
        widening_bonus: rulebook.widening_bonus,
        country_cap_percent: u32::try_from(rulebook.country_cap_percent)
            .ok()
            .filter(|percent| *percent > 0),
    }
}

/// The rules' view of an offered installation.
pub fn domain_site(installation: &proto::CallInstallation) -> Site {
    Site {
        installation_id: installation.installation_id.clone(),
        countries: installation.countries.clone(),
        provider_form: match installation.provider_form() {
            proto::ProviderForm::InternationalOrganisation => ProviderForm::InternationalOrganisation,
            proto::ProviderForm::Jrc => ProviderForm::Jrc,
            proto::ProviderForm::Eric => ProviderForm::Eric,
            _ => ProviderForm::Other,
        },
        remote_set: !installation.remote_set_id.is_empty(),
        countries_with_equivalent_ri: installation.equivalent_ri_countries.clone(),
    }
}

/// The call's reference date for eligibility: its close time.
pub fn reference_date(call: &proto::Call) -> i64 {
    call.close_time.as_ref().map_or_else(now_micros, micros_from_timestamp)
}

/// The group as the rules read it, with each user's use of `installation_id` before.
pub fn domain_group(proposal: &proto::Proposal, used_before: &[String]) -> Group {
    let member = |entry: &proto::GroupMember| Member {
        work_country: entry.work_country.clone(),
        employer_is_sme: entry.employer_is_sme,
        used_installation_before: used_before.contains(&entry.person_id),
    };
    let leader = proposal.members.iter().find(|entry| entry.leader);
    Group {
        leader: leader.map(member).unwrap_or(Member {
            work_country: String::new(),
            employer_is_sme: false,
            used_installation_before: false,
        }),
        others: proposal
            .members
            .iter()
            .filter(|entry| !entry.leader)
            .map(member)
            .collect(),
        may_disseminate: proposal.may_disseminate,
    }
}

fn outcome(outcome: Outcome) -> proto::EligibilityOutcome {
    match outcome {
        Outcome::Pass => proto::EligibilityOutcome::Pass,
        Outcome::Warn => proto::EligibilityOutcome::Warn,
        Outcome::Fail => proto::EligibilityOutcome::Fail,
    }
}

impl AllocationApi {
    /// A TA proposal as intake knows it now (request, group, requester), before evaluation.
    pub(crate) async fn proposal_from_intake(
        &self,
        request: &intake::AccessRequest,
    ) -> AllocationResult<proto::Proposal> {
        let group = self.peers.user_group(&request.user_group_id).await?;
        let organisation = self.peers.organisation(&request.organisation_id).await?;
        let members = group
            .members
            .iter()
            .map(|member| proto::GroupMember {
                person_id: member.person_id.clone(),
                work_country: member.work_country.clone(),
                leader: member.leader,
                employer_is_sme: matches!(
                    member.employer_sme_category(),
                    intake::SmeCategory::Micro | intake::SmeCategory::Small | intake::SmeCategory::Medium
                ),
            })
            .collect();
        Ok(proto::Proposal {
            id: request.id.clone(),
            call_id: request.call_id.clone(),
            lane: proto::Lane::Transnational.into(),
            status: proto::ProposalStatus::InReview.into(),
            organisation_id: request.organisation_id.clone(),
            requester_country: organisation.country,
            requested: request
                .installations
                .iter()
                .map(|part| proto::RequestedUnits {
                    installation_id: part.installation_id.clone(),
                    units: part.units,
                })
                .collect(),
            members,
            // TA-5: a group that keeps results confidential does not disseminate them.
            may_disseminate: matches!(
                request.confidentiality(),
                intake::ConfidentialityLevel::Public | intake::ConfidentialityLevel::Unspecified
            ),
            create_time: request.create_time,
            ..proto::Proposal::default()
        })
    }

    /// Evaluates every rule on every requested installation and returns the proposal with its
    /// findings, plus the event to store with it.
    pub(crate) async fn evaluate(
        &self,
        call: Option<&proto::Call>,
        mut proposal: proto::Proposal,
    ) -> AllocationResult<(proto::Proposal, Change)> {
        let table = CountryTable::shipped();
        let mut findings = Vec::new();
        let mut version = 0;
        match call {
            None => findings.push(proto::Finding {
                rule: "CALL".to_owned(),
                outcome: proto::EligibilityOutcome::Fail.into(),
                reason: format!("the proposal names call {:?}, which does not exist", proposal.call_id),
                ..proto::Finding::default()
            }),
            Some(call) => {
                let rules = rulebook(call)?;
                version = rules.version;
                let domain_rules = domain_rulebook(rules);
                let on = reference_date(call);
                let requester = Requester {
                    country: proposal.requester_country.clone(),
                    // CTRY-5: intake's screening already declines these at submission; the
                    // country rules are re-applied here on the reference date.
                    russian_owned_over_half: false,
                    controlled_by_country: None,
                    guarantee_approved: false,
                };
                let person_ids: Vec<String> = proposal.members.iter().map(|m| m.person_id.clone()).collect();
                for part in &proposal.requested {
                    let Some(installation) = offered(call, &part.installation_id) else {
                        findings.push(proto::Finding {
                            installation_id: part.installation_id.clone(),
                            rule: "CALL".to_owned(),
                            outcome: proto::EligibilityOutcome::Fail.into(),
                            reason: format!("installation {} is not offered in this call", part.installation_id),
                            rulebook_version: version,
                        });
                        continue;
                    };
                    let used = self
                        .store
                        .used_before(&proposal.id, &part.installation_id, &person_ids)
                        .await?;
                    let group = domain_group(&proposal, &used);
                    let site = domain_site(installation);
                    for finding in eligibility::evaluate(&domain_rules, table, on, &requester, &group, &site) {
                        findings.push(proto::Finding {
                            installation_id: part.installation_id.clone(),
                            rule: finding.rule.to_owned(),
                            outcome: outcome(finding.outcome).into(),
                            reason: finding.reason,
                            rulebook_version: version,
                        });
                    }
                }
                proposal.non_eu_majority = eligibility::non_eu_majority(table, on, &domain_group(&proposal, &[]));
            }
        }
        let worst = findings
            .iter()
            .map(proto::Finding::outcome)
            .max_by_key(|outcome| *outcome as i32)
            .unwrap_or(proto::EligibilityOutcome::Pass);
        proposal.eligibility = worst.into();
        proposal.findings = findings;
        proposal.evaluate_time = Some(timestamp_from_micros(now_micros()));
        let event = Payload::EligibilityEvaluated(proto::EligibilityEvaluated {
            proposal_id: proposal.id.clone(),
            call_id: proposal.call_id.clone(),
            rulebook_version: version,
            eligibility: proposal.eligibility,
            findings: proposal.findings.clone(),
            non_eu_majority: proposal.non_eu_majority,
            work_countries: leader_first(&proposal),
        });
        Ok((proposal.clone(), (proposal.id, event)))
    }

    /// Reads a TA request from intake, evaluates it and stores it (with the feed's cursor
    /// when an event caused it).
    pub(crate) async fn receive_proposal(
        &self,
        request: &intake::AccessRequest,
        cursor: Option<(&str, i64)>,
    ) -> AllocationResult<proto::Proposal> {
        let fresh = self.proposal_from_intake(request).await?;
        let previous = self.store.find_proposal(&request.id).await?;
        let fresh = match previous {
            // A re-evaluation keeps the decision already taken.
            Some(previous) => proto::Proposal {
                status: previous.status,
                create_time: previous.create_time,
                ..fresh
            },
            None => fresh,
        };
        let call = match self.store.get_call(&fresh.call_id).await {
            Ok(call) => Some(call),
            Err(AllocationError::NotFound { .. }) => None,
            Err(error) => return Err(error),
        };
        let (proposal, event) = self.evaluate(call.as_ref(), fresh).await?;
        self.store.save_proposal(&proposal, cursor, vec![event]).await?;
        self.store.get_proposal(&proposal.id).await
    }
}

fn leader_first(proposal: &proto::Proposal) -> Vec<String> {
    let mut members: Vec<&proto::GroupMember> = proposal.members.iter().collect();
    members.sort_by_key(|member| !member.leader);
    members.iter().map(|member| member.work_country.clone()).collect()
}
