//! Submission with research-security screening (SEC-7): the newest sanctions list's name index,
//! the facts of everything a request involves, the outcome's steps; a person's review of a held
//! request (SEC-3, SEC-4); and importing a version of the EU sanctions list (SEC-2).

use std::sync::Arc;

use rti_platform::auth::Principal;
use rti_platform::error::InvalidInput;
use rti_platform::ids::new_id;

use super::{IntakeService, now};
use crate::domain::lifecycle::{self, Submission};
use crate::domain::names::NameIndex;
use crate::domain::organisation::Organisation;
use crate::domain::request::{AccessRequest, AgreementAcceptance, RequestStatus, agreement_refusal};
use crate::domain::sanctions::{self, NewSanctionsList, SanctionsListFormat, SanctionsListVersion};
use crate::domain::screening::{self, Facts, OrganisationFacts, Owner, Subject, SubjectKind};
use crate::domain::screening_record::{ReviewDecision, Screening, ScreeningReview, decline_reason};
use crate::domain::{IntakeError, IntakeResult};

/// `ReviewScreening`, converted and checked.
#[derive(Debug, Clone)]
pub struct ReviewScreening {
    pub id: String,
    pub decision: ReviewDecision,
    pub rationale: String,
    pub conditions: String,
}

/// `ImportSanctionsList`, converted and checked: the file as published.
#[derive(Debug, Clone)]
pub struct ImportSanctionsList {
    pub format: SanctionsListFormat,
    pub content: Vec<u8>,
}

impl IntakeService {
    /// The requester submits a draft: it accepts the agreement in force (IND-7b), is screened
    /// against the newest sanctions list (SEC-7) and goes on as screening decided. A request
    /// submitted before comes back as it is.
    pub async fn submit_access_request(
        &self,
        caller: &Principal,
        id: &str,
        accept_agreement: bool,
    ) -> IntakeResult<AccessRequest> {
        let request = self.own_request(caller, id).await?;
        if lifecycle::submission(&request)? == Submission::AlreadySubmitted {
            return Ok(request);
        }
        if let Some(refusal) = agreement_refusal(request.lane, accept_agreement) {
            return Err(refusal.into());
        }
        let now = now();
        let kind = request.agreement_kind;
        let template = self
            .store
            .agreement_templates(Some(kind), now)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                IntakeError::FailedPrecondition(format!("no {} agreement template is in force", kind.as_stored()))
            })?;
        let (list, index) = self.sanctions_index().await?;
        let facts = self.screening_facts(&request).await?;
        let outcome = screening::screen(&facts, &index);
        let record = Screening::of(&outcome, &list, now);
        let generation = rfc3339(list.generation_time);
        let steps = lifecycle::submission_steps(
            &caller.subject,
            request.lane,
            &generation,
            outcome.decision(),
            decline_reason(&outcome),
        );
        let acceptance = AgreementAcceptance {
            template_id: template.id,
            kind: template.kind,
            version: template.version,
            accepted_by: caller.subject.clone(),
            accept_time: now,
        };
        let mut change = self.store.begin_change(id).await?;
        if change.request().status != RequestStatus::Draft {
            // A concurrent submission won; this one returns its result.
            return change.commit(Vec::new()).await;
        }
        let request = change.request_mut();
        request.agreement_acceptance = Some(acceptance);
        request.screening = Some(record);
        change.commit(steps).await
    }

    /// The newest list's version and its name index, rebuilt when a newer list was imported
    /// (by this replica or another).
    async fn sanctions_index(&self) -> IntakeResult<(SanctionsListVersion, Arc<NameIndex>)> {
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
        let names = self.store.sanctions_names(&version.id).await?;
        // Normalising tens of thousands of names is CPU work: off the async workers.
        let index = Arc::new(
            tokio::task::spawn_blocking(move || NameIndex::new(names))
                .await
                .map_err(|error| IntakeError::Task(format!("building the sanctions name index stopped: {error}")))?,
        );
        *cached = Some((version.id.clone(), index.clone()));
        Ok((version, index))
    }

    /// Everything a request involves that screening looks at (SEC-7 step 1).
    async fn screening_facts(&self, request: &AccessRequest) -> IntakeResult<Facts> {
        let mut facts = self.screening_parties(request).await?;
        for installation_id in request.installation_ids() {
            let published = self
                .catalogue
                .published_installation(installation_id)
                .await?
                .ok_or_else(|| {
                    IntakeError::FailedPrecondition(format!("installation {installation_id} is no longer published"))
                })?;
            facts.installations.push(published.facts);
        }
        Ok(facts)
    }

    /// The organisations and people a request involves, as screened against the list.
    pub(super) async fn screening_parties(&self, request: &AccessRequest) -> IntakeResult<Facts> {
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
        Ok(facts)
    }

    /// An admin reviews a request held in SCREENING (SEC-3, SEC-4): approval lets it on,
    /// rejection declines it.
    pub async fn review_screening(&self, caller: &Principal, command: ReviewScreening) -> IntakeResult<AccessRequest> {
        let review = ScreeningReview {
            decision: command.decision,
            rationale: command.rationale,
            conditions: command.conditions,
            reviewer: caller.subject.clone(),
            review_time: now(),
        };
        let mut change = self.store.begin_change(&command.id).await?;
        let step = lifecycle::apply_review(change.request_mut(), review)?;
        change.commit(vec![step]).await
    }

    /// Stores a version of the list once per file (SEC-2).
    pub async fn import_sanctions_list(
        &self,
        caller: &Principal,
        command: ImportSanctionsList,
    ) -> IntakeResult<SanctionsListVersion> {
        // Parsing and hashing tens of megabytes is CPU work: off the async workers.
        let format = command.format;
        let (parsed, sha256, content) = tokio::task::spawn_blocking(move || {
            let parsed = sanctions::parse(format, &command.content);
            let sha256 = crate::store::sha256_hex(&command.content);
            (parsed, sha256, command.content)
        })
        .await
        .map_err(|error| IntakeError::Task(format!("reading the sanctions list stopped: {error}")))?;
        let parsed = parsed.map_err(|problem| InvalidInput::single("content", problem))?;
        let version = self
            .store
            .import_sanctions_list(NewSanctionsList {
                id: new_id(),
                generation_time: parsed.generation_time,
                format,
                sha256,
                parties: parsed.parties,
                names: parsed.names,
                imported_by: caller.subject.clone(),
                imported_at: now(),
                raw: content,
            })
            .await?;
        tracing::info!(list = %version.id, parties = version.parties, names = version.names, "sanctions list imported");
        self.rescreen_soon();
        Ok(version)
    }
}

fn add_organisation(facts: &mut Facts, organisation: &Organisation) {
    facts.subjects.push(Subject {
        kind: SubjectKind::Organisation,
        id: organisation.id.clone(),
        name: organisation.profile.legal_name.clone(),
    });
    let owners: Vec<Owner> = organisation
        .profile
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
        name: organisation.profile.legal_name.clone(),
        country: organisation.profile.country.clone(),
        owners,
    });
}

/// A time as RFC 3339 text, as the history names the list's generation.
fn rfc3339(micros: i64) -> String {
    serde_json::to_string(&rti_platform::time::timestamp_from_micros(micros))
        .unwrap_or_default()
        .replace('"', "")
}
