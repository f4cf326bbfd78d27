//! What screening at submission needs: the newest sanctions list's index, the facts of everything
//! a request involves, and the record and reasons it leaves (SEC-7).

use std::sync::Arc;

use rti_platform::time::timestamp_from_micros;
use rti_proto::intake as proto;

use super::server::IntakeApi;
use crate::domain::names::{NameIndex, Verdict};
use crate::domain::screening::{self, Facts, OrganisationFacts, Owner, Subject, SubjectKind};
use crate::domain::{IntakeError, IntakeResult};

impl IntakeApi {
    /// The newest list's version and its name index, rebuilt when a newer list was imported
    /// (by this replica or another).
    pub(super) async fn sanctions_index(&self) -> IntakeResult<(proto::SanctionsListVersion, Arc<NameIndex>)> {
        let version = self.store.newest_sanctions_list().await?.ok_or_else(|| {
            IntakeError::FailedPrecondition(
                "no sanctions list has been imported: an admin imports the EU consolidated list with \
                 ImportSanctionsList before requests can be screened (SEC-1)"
                    .to_owned(),
            )
        })?;
        let mut cached = self.index.lock().await;
        if let Some((id, index)) = cached.as_ref()
            && *id == version.id
        {
            return Ok((version, index.clone()));
        }
        let index = Arc::new(NameIndex::new(self.store.sanctions_names(&version.id).await?));
        *cached = Some((version.id.clone(), index.clone()));
        Ok((version, index))
    }

    /// Everything a request involves that screening looks at (SEC-7 step 1).
    pub(super) async fn screening_facts(&self, request: &proto::AccessRequest) -> IntakeResult<Facts> {
        let mut facts = Facts {
            outputs_leave_eu: request.outputs_leave_eu,
            ..Facts::default()
        };
        let organisation = self.store.get_organisation(&request.organisation_id).await?;
        add_organisation(&mut facts, &organisation);
        let mut people = Vec::new();
        if !request.contact_person_id.is_empty() {
            people.push(request.contact_person_id.clone());
        }
        if !request.user_group_id.is_empty() {
            let group = self.store.get_user_group(&request.user_group_id).await?;
            people.push(group.leader_person_id);
            people.extend(group.member_person_ids);
        }
        for id in people {
            let person = self.store.get_person(&id).await?;
            facts.subjects.push(Subject {
                kind: SubjectKind::Person,
                id: person.id,
                name: person.full_name,
            });
            if !facts
                .organisations
                .iter()
                .any(|known| known.id == person.organisation_id)
            {
                let employer = self.store.get_organisation(&person.organisation_id).await?;
                add_organisation(&mut facts, &employer);
            }
        }
        for installation in &request.installations {
            let published = self
                .catalogue
                .published_installation(&installation.installation_id)
                .await?
                .ok_or_else(|| {
                    IntakeError::FailedPrecondition(format!(
                        "installation {} is no longer published",
                        installation.installation_id
                    ))
                })?;
            facts.installations.push(published.facts);
        }
        Ok(facts)
    }
}

fn add_organisation(facts: &mut Facts, organisation: &proto::Organisation) {
    facts.subjects.push(Subject {
        kind: SubjectKind::Organisation,
        id: organisation.id.clone(),
        name: organisation.legal_name.clone(),
    });
    let owners: Vec<Owner> = organisation
        .holdings
        .iter()
        .filter(|holding| holding.owner)
        .map(|holding| Owner {
            name: holding.name.clone(),
            country: holding.country.clone(),
            share_percent: holding.share_percent,
        })
        .collect();
    for owner in &owners {
        facts.subjects.push(Subject {
            kind: SubjectKind::Owner,
            id: String::new(),
            name: owner.name.clone(),
        });
    }
    facts.organisations.push(OrganisationFacts {
        id: organisation.id.clone(),
        name: organisation.legal_name.clone(),
        country: organisation.country.clone(),
        owners,
    });
}

pub(super) fn screening_record(
    outcome: &screening::Outcome,
    list: &proto::SanctionsListVersion,
    at: i64,
) -> proto::Screening {
    let verdict = |verdict: Verdict| match verdict {
        Verdict::Clear => proto::ScreeningVerdict::Clear,
        Verdict::Possible => proto::ScreeningVerdict::Possible,
        Verdict::Match => proto::ScreeningVerdict::Match,
    };
    proto::Screening {
        verdict: verdict(outcome.verdict).into(),
        sanctions_list_id: list.id.clone(),
        list_generation_time: list.generation_time,
        hits: outcome
            .hits
            .iter()
            .map(|hit| proto::ScreeningHit {
                subject_kind: hit.subject.kind.as_str().to_owned(),
                subject_id: hit.subject.id.clone(),
                screened_name: hit.subject.name.clone(),
                listed_name: hit.listed_name.clone(),
                listed_party: hit.listed_party.clone(),
                score: hit.score,
                verdict: verdict(hit.verdict).into(),
            })
            .collect(),
        blocks: outcome.blocks.clone(),
        security_flags: outcome.security_flags.clone(),
        screen_time: Some(timestamp_from_micros(at)),
        review: None,
    }
}

/// Why screening declined, in one line.
pub(super) fn decline_reason(outcome: &screening::Outcome) -> String {
    let mut reasons: Vec<String> = outcome
        .hits
        .iter()
        .filter(|hit| hit.verdict == Verdict::Match)
        .map(|hit| {
            format!(
                "{} matches listed party {} on the EU sanctions list (SEC-1)",
                hit.subject.kind.as_str(),
                hit.listed_party
            )
        })
        .collect();
    reasons.extend(outcome.blocks.iter().cloned());
    reasons.join("; ")
}
