//! Intake's side of the world: requesting organisations and their applicants, people employed in
//! various countries, user groups, and requests submitted so that allocation receives them.

use rti_platform::ids::new_id;
use rti_proto::allocation as proto;
use rti_proto::intake;

use super::{World, admin, applicant_token, eventually, with_token};

/// Every person of the tests carries this surname, so that a test can check that no output of
/// allocation names anyone.
pub const SURNAME: &str = "Quillfeather";

/// A requesting organisation with its applicant's token.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub organisation: intake::Organisation,
    pub token: String,
}

impl Applicant {
    pub fn id(&self) -> &str {
        &self.organisation.id
    }
}

/// A small company (12 staff, EUR 1.5 M turnover: an SME) established in `country`.
pub fn sme(country: &str, name: &str) -> intake::Organisation {
    intake::Organisation {
        legal_name: name.into(),
        country: country.into(),
        kind: intake::OrganisationKind::Company as i32,
        legal_form: "Ltd".into(),
        figures: Some(intake::Figures {
            headcount_awu: 12.0,
            turnover_eur_cents: 150_000_000,
            balance_sheet_eur_cents: 90_000_000,
        }),
        reference_year: 2025,
        ..Default::default()
    }
}

/// A large company (4,000 staff: not an SME) established in `country`.
pub fn company(country: &str, name: &str) -> intake::Organisation {
    intake::Organisation {
        figures: Some(intake::Figures {
            headcount_awu: 4000.0,
            turnover_eur_cents: 90_000_000_000,
            balance_sheet_eur_cents: 80_000_000_000,
        }),
        ..sme(country, name)
    }
}

/// A public university established in `country` (not an SME).
pub fn university(country: &str, name: &str) -> intake::Organisation {
    intake::Organisation {
        legal_name: name.into(),
        country: country.into(),
        kind: intake::OrganisationKind::University as i32,
        legal_form: "public university".into(),
        public_control_percent: 100.0,
        ..Default::default()
    }
}

/// Who employs a user.
#[derive(Debug, Clone)]
enum Employer {
    /// A university established in this country.
    In(String),
    /// This organisation.
    Organisation(String),
}

/// One user of a group, as intake registers the person. The first user of a list is the leader.
#[derive(Debug, Clone)]
pub struct User {
    employer: Employer,
    work_country_override: Option<String>,
    nationality: Option<String>,
}

/// A user employed by a university established in `country` (and so working there).
pub fn works_in(country: &str) -> User {
    User {
        employer: Employer::In(country.into()),
        work_country_override: None,
        nationality: None,
    }
}

/// A user employed by `organisation_id`.
pub fn employed_by(organisation_id: &str) -> User {
    User {
        employer: Employer::Organisation(organisation_id.into()),
        work_country_override: None,
        nationality: None,
    }
}

/// `count` users working in `country`.
pub fn users_in(country: &str, count: usize) -> Vec<User> {
    vec![works_in(country); count]
}

impl User {
    /// The user actually works in `country`, not where the employer is established (with evidence).
    pub fn working_in(self, country: &str) -> Self {
        Self {
            work_country_override: Some(country.into()),
            ..self
        }
    }

    /// The user's nationality, which no rule reads.
    pub fn national_of(self, country: &str) -> Self {
        Self {
            nationality: Some(country.into()),
            ..self
        }
    }
}

impl World {
    /// Registers `organisation` as its own applicant would, and returns it with that token.
    pub async fn applicant(&self, organisation: intake::Organisation) -> Applicant {
        let id = new_id();
        let token = applicant_token(&id);
        let registered = self
            .intake()
            .register_organisation(with_token(
                intake::RegisterOrganisationRequest {
                    organisation: Some(intake::Organisation {
                        id: id.clone(),
                        ..organisation
                    }),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .expect("registers the organisation")
            .into_inner();
        Applicant {
            organisation: registered,
            token,
        }
    }

    /// The university that employs users "working in" `country`, registered on first use.
    async fn employer(&self, country: &str) -> String {
        let mut employers = self.employers.lock().await;
        if let Some(id) = employers.get(country) {
            return id.clone();
        }
        let id = new_id();
        self.intake()
            .register_organisation(with_token(
                intake::RegisterOrganisationRequest {
                    organisation: Some(intake::Organisation {
                        id: id.clone(),
                        ..university(country, &format!("University of {country}"))
                    }),
                    ..Default::default()
                },
                &admin(),
            ))
            .await
            .expect("registers the employer");
        employers.insert(country.to_owned(), id.clone());
        id
    }

    /// Registers `user` as a person (by an admin, since employers differ from the applicant).
    pub async fn person(&self, user: &User) -> intake::Person {
        let organisation_id = match &user.employer {
            Employer::In(country) => self.employer(country).await,
            Employer::Organisation(id) => id.clone(),
        };
        let (work_country_override, work_country_evidence) = match &user.work_country_override {
            Some(country) => (country.clone(), format!("employment contract for a post in {country}")),
            None => (String::new(), String::new()),
        };
        self.intake()
            .register_person(with_token(
                intake::RegisterPersonRequest {
                    person: Some(intake::Person {
                        full_name: format!("Ada {SURNAME} {}", self.next()),
                        organisation_id,
                        work_country_override,
                        work_country_evidence,
                        nationality: user.nationality.clone().unwrap_or_default(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &admin(),
            ))
            .await
            .expect("registers the person")
            .into_inner()
    }

    /// A user group of `applicant`'s organisation: the first user leads.
    pub async fn group(&self, applicant: &Applicant, users: &[User]) -> intake::UserGroup {
        let (leader, members) = users.split_first().expect("a group has a leader");
        let leader = self.person(leader).await;
        let mut member_ids = Vec::with_capacity(members.len());
        for member in members {
            member_ids.push(self.person(member).await.id);
        }
        self.intake()
            .create_user_group(with_token(
                intake::CreateUserGroupRequest {
                    user_group: Some(intake::UserGroup {
                        name: "Sensor team".into(),
                        leader_person_id: leader.id,
                        member_person_ids: member_ids,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &applicant.token,
            ))
            .await
            .expect("creates the group")
            .into_inner()
    }

    /// Creates `request` as a draft of `applicant` and submits it; intake's answer.
    pub async fn submit(&self, applicant: &Applicant, request: intake::AccessRequest) -> intake::AccessRequest {
        let draft = self
            .intake()
            .create_access_request(with_token(
                intake::CreateAccessRequestRequest {
                    idempotency_key: new_id(),
                    access_request: Some(request),
                },
                &applicant.token,
            ))
            .await
            .expect("creates the draft")
            .into_inner();
        self.intake()
            .submit_access_request(with_token(
                intake::SubmitAccessRequestRequest {
                    id: draft.id,
                    accept_agreement: true,
                },
                &applicant.token,
            ))
            .await
            .expect("submits")
            .into_inner()
    }

    /// A TA proposal of `applicant` to `call_id` by a new group of `users`, asking `asks`
    /// (installation id, units): submitted in intake, in review there, and as allocation has
    /// received it from intake's events.
    pub async fn propose(
        &self,
        applicant: &Applicant,
        call_id: &str,
        asks: &[(&str, i64)],
        users: &[User],
    ) -> proto::Proposal {
        let group = self.group(applicant, users).await;
        self.propose_request(applicant, transnational(call_id, asks, &group.id))
            .await
    }

    /// Submits a TA `request` and waits until allocation has it.
    pub async fn propose_request(&self, applicant: &Applicant, request: intake::AccessRequest) -> proto::Proposal {
        let submitted = self.submit(applicant, request).await;
        assert_eq!(
            submitted.status(),
            intake::AccessRequestStatus::InReview,
            "intake hands the proposal over: {:?}",
            submitted.screening
        );
        self.proposal(&submitted.id).await
    }

    /// The proposal as allocation has it, polled as an admin until allocation has received it.
    pub async fn proposal(&self, id: &str) -> proto::Proposal {
        eventually(&format!("allocation to receive {id}"), || async {
            match self.get_proposal(&admin(), id).await {
                Ok(proposal) => Some(proposal),
                Err(status) if status.code() == tonic::Code::NotFound => None,
                Err(status) => panic!("GetProposal {id}: {status:?}"),
            }
        })
        .await
    }

    /// The proposal once every finding is under rulebook `version` (an amendment re-evaluates
    /// the call's proposals).
    pub async fn evaluated_under(&self, id: &str, version: i32) -> proto::Proposal {
        eventually(&format!("{id} to be evaluated under version {version}"), || async {
            let proposal = self.proposal(id).await;
            let evaluated = !proposal.findings.is_empty()
                && proposal
                    .findings
                    .iter()
                    .all(|finding| finding.rulebook_version == version);
            evaluated.then_some(proposal)
        })
        .await
    }

    /// An industrial-lane request of `applicant` for `units` of `installation_id`, quoted by
    /// `operator` and accepted, as allocation has received it.
    pub async fn accepted_industrial(
        &self,
        applicant: &Applicant,
        installation_id: &str,
        units: i64,
        operator: &str,
    ) -> proto::Proposal {
        let submitted = self.submit(applicant, industrial(installation_id, units)).await;
        assert_eq!(submitted.status(), intake::AccessRequestStatus::Feasibility);
        self.intake()
            .quote_access_request(with_token(
                intake::QuoteAccessRequestRequest {
                    id: submitted.id.clone(),
                    valid_days: 0,
                },
                operator,
            ))
            .await
            .expect("the operator quotes");
        let accepted = self
            .intake()
            .accept_quote(with_token(
                intake::AcceptQuoteRequest {
                    id: submitted.id.clone(),
                },
                &applicant.token,
            ))
            .await
            .expect("the applicant accepts the quote")
            .into_inner();
        assert_eq!(accepted.status(), intake::AccessRequestStatus::Accepted);
        self.proposal(&submitted.id).await
    }
}

/// A TA draft to `call_id` by `user_group_id`, public, under the TA user agreement.
pub fn transnational(call_id: &str, asks: &[(&str, i64)], user_group_id: &str) -> intake::AccessRequest {
    intake::AccessRequest {
        lane: intake::Lane::Transnational as i32,
        installations: asks
            .iter()
            .map(|(installation_id, units)| intake::RequestedInstallation {
                installation_id: (*installation_id).into(),
                units: *units,
            })
            .collect(),
        title: "Strain mapping of sensor wafers".into(),
        description: "Beam time to map strain in prototype sensor wafers.".into(),
        confidentiality: intake::ConfidentialityLevel::Public as i32,
        agreement_kind: intake::AgreementKind::TaUserAgreement as i32,
        user_group_id: user_group_id.into(),
        call_id: call_id.into(),
        ..Default::default()
    }
}

/// An industrial-lane draft for `units` of `installation_id`.
pub fn industrial(installation_id: &str, units: i64) -> intake::AccessRequest {
    intake::AccessRequest {
        lane: intake::Lane::Industrial as i32,
        installations: vec![intake::RequestedInstallation {
            installation_id: installation_id.into(),
            units,
        }],
        title: "Lithography for a sensor prototype".into(),
        description: "Patterning test wafers for a sensor prototype.".into(),
        confidentiality: intake::ConfidentialityLevel::Confidential as i32,
        ip_regime: intake::IpRegime::UserOwns as i32,
        agreement_kind: intake::AgreementKind::ServiceContract as i32,
        ..Default::default()
    }
}
