//! Who takes part in the journey, each with the token an identity provider would give them: the
//! admin, the operators of a cleanroom in Austria and of a beamline in France, a Polish SME and a
//! Polish university's research group, the coordinator of a transnational-access call and its
//! panel, and the national funders of Poland and Germany. Organisations and people carry ids their clients choose,
//! since a token names its organisation before the organisation is registered.

use std::time::Duration;

use rti_platform::auth::{Claims, Role};
use rti_platform::testing::{sign, token};

const TTL: Duration = Duration::from_secs(3600);

/// The reviewers on the call's panel, by token subject.
pub(crate) const REVIEWERS: [&str; 2] = ["journey-reviewer-ostrava", "journey-reviewer-utrecht"];

/// The ids the clients choose for what they register.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    /// The SME, a company of twelve people in Gdańsk.
    pub(crate) company: String,
    /// Its engineer, the request's contact and the one who uses the cleanroom.
    pub(crate) engineer: String,
    /// The university of the research group.
    pub(crate) university: String,
    /// The group's leader first, then its two members.
    pub(crate) researchers: [String; 3],
    pub(crate) user_group: String,
}

impl Ids {
    fn new() -> Self {
        let id = || uuid::Uuid::now_v7().to_string();
        Self {
            company: id(),
            engineer: id(),
            university: id(),
            researchers: [id(), id(), id()],
            user_group: id(),
        }
    }
}

/// The tokens of everyone in the journey; the operators' once their infrastructures exist.
#[derive(Debug, Clone)]
pub(crate) struct Cast {
    pub(crate) ids: Ids,
    pub(crate) admin: String,
    pub(crate) sme: String,
    pub(crate) research_group: String,
    pub(crate) coordinator: String,
    pub(crate) reviewers: Vec<String>,
    pub(crate) polish_funder: String,
    /// A national funder of a country the journey does not touch.
    pub(crate) german_funder: String,
}

impl Cast {
    pub(crate) fn new() -> Self {
        let ids = Ids::new();
        let applicant = |subject: &str, organisation: &str| {
            let mut claims = Claims::new(subject, &[Role::Applicant], TTL);
            claims.org = Some(organisation.to_owned());
            sign(claims)
        };
        let funder = |country: &str| {
            let mut claims = Claims::new(format!("journey-funder-{country}"), &[Role::Funder], TTL);
            claims.country = Some(country.to_owned());
            sign(claims)
        };
        Self {
            admin: token(Role::Admin),
            sme: applicant("journey-sme-engineer", &ids.company),
            research_group: applicant("journey-group-leader", &ids.university),
            coordinator: sign(Claims::new("journey-coordinator", &[Role::Coordinator], TTL)),
            reviewers: REVIEWERS
                .iter()
                .map(|subject| sign(Claims::new(*subject, &[Role::Reviewer], TTL)))
                .collect(),
            polish_funder: funder("PL"),
            german_funder: funder("DE"),
            ids,
        }
    }
}

/// An operator of `infrastructure_id`.
pub(crate) fn operator_of(subject: &str, infrastructure_id: &str) -> String {
    let mut claims = Claims::new(subject, &[Role::Operator], TTL);
    claims.infrastructures = vec![infrastructure_id.to_owned()];
    sign(claims)
}
