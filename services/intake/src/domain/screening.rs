//! The screening of an access request at submission (SEC-7), as a pure function of what the
//! request involves: hard checks that block (a sanctions MATCH, SEC-1; establishment in Russia
//! or Belarus or majority Russian ownership, CTRY-5 and CTRY-6), a POSSIBLE name match that a
//! person decides (SEC-3), and risk flags that send the request to a security review (SEC-4,
//! SEC-5). Nothing here looks at anyone's nationality: people are screened by name only, and
//! organisations by where they are established and who owns them.

use super::names::{NameIndex, Verdict};

/// What is screened by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Organisation,
    /// An owner named in a holding of the requesting organisation.
    Owner,
    Person,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Organisation => "organisation",
            SubjectKind::Owner => "owner",
            SubjectKind::Person => "person",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The organisation's or person's id; empty for an owner.
    pub id: String,
    pub name: String,
}

/// An owner's stake in an organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub name: String,
    pub country: String,
    pub share_percent: f64,
}

/// An organisation the request involves: the requester, or a user's employer.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationFacts {
    pub id: String,
    pub name: String,
    pub country: String,
    pub owners: Vec<Owner>,
}

/// What the registry says of a requested installation that matters to research security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationFacts {
    pub id: String,
    pub name: String,
    /// SEC-5 areas, as short names (e.g. `QUANTUM`).
    pub critical_technology_areas: Vec<String>,
    /// SEC-4 Annex I categories, 0 to 9.
    pub dual_use_categories: Vec<i32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub subjects: Vec<Subject>,
    pub organisations: Vec<OrganisationFacts>,
    pub installations: Vec<InstallationFacts>,
    /// SEC-4: results, samples or software leave the EU.
    pub outputs_leave_eu: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub subject: Subject,
    pub listed_party: String,
    pub listed_name: String,
    pub score: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The worst name verdict.
    pub verdict: Verdict,
    pub hits: Vec<Hit>,
    /// Hard eligibility blocks other than the sanctions list, one line each.
    pub blocks: Vec<String>,
    /// Why a security review is needed; empty when it is not.
    pub security_flags: Vec<String>,
}

/// What screening decides for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A sanctions MATCH or an eligibility block: the request is declined.
    Decline,
    /// A POSSIBLE match or a security flag: a person decides.
    Hold,
    Proceed,
}

impl Outcome {
    pub fn decision(&self) -> Decision {
        if self.verdict == Verdict::Match || !self.blocks.is_empty() {
            Decision::Decline
        } else if self.verdict == Verdict::Possible || !self.security_flags.is_empty() {
            Decision::Hold
        } else {
            Decision::Proceed
        }
    }
}

/// CTRY-5: Russia; CTRY-6: Belarus.
const BLOCKED_ESTABLISHMENT: [(&str, &str); 2] = [
    ("RU", "Russia (CTRY-5, Regulation (EU) 833/2014 Art. 5l)"),
    ("BY", "Belarus (CTRY-6, Regulation (EC) 765/2006 Art. 1t)"),
];

/// SEC-5: the four areas that need collective risk assessment first.
const HIGHEST_RISK_AREAS: [&str; 4] = [
    "SEMICONDUCTORS",
    "ARTIFICIAL_INTELLIGENCE",
    "QUANTUM",
    "BIOTECHNOLOGIES",
];

/// Screens everything the request involves against the newest sanctions list and the rules.
pub fn screen(facts: &Facts, index: &NameIndex) -> Outcome {
    let mut hits = Vec::new();
    for subject in &facts.subjects {
        for hit in index.screen(&subject.name).hits {
            hits.push(Hit {
                subject: subject.clone(),
                listed_party: hit.party,
                listed_name: hit.listed_name,
                score: hit.score,
                verdict: hit.verdict,
            });
        }
    }
    let verdict = hits.iter().map(|hit| hit.verdict).max().unwrap_or(Verdict::Clear);
    Outcome {
        verdict,
        hits,
        blocks: facts.organisations.iter().flat_map(establishment_blocks).collect(),
        security_flags: security_flags(facts),
    }
}

fn establishment_blocks(organisation: &OrganisationFacts) -> Vec<String> {
    let mut blocks = Vec::new();
    for (country, rule) in BLOCKED_ESTABLISHMENT {
        if organisation.country == country {
            blocks.push(format!("{:?} is established in {rule}", organisation.name));
        }
    }
    // CTRY-5: more than 50 % owned by Russian legal persons, directly, summed over owners.
    let russian: f64 = organisation
        .owners
        .iter()
        .filter(|owner| owner.country == "RU")
        .map(|owner| owner.share_percent)
        .sum();
    if russian > 50.0 {
        blocks.push(format!(
            "{:?} is {russian} % owned by legal persons established in Russia (CTRY-5: more than 50 % makes it ineligible)",
            organisation.name
        ));
    }
    blocks
}

fn security_flags(facts: &Facts) -> Vec<String> {
    let mut flags = Vec::new();
    for installation in &facts.installations {
        if !installation.critical_technology_areas.is_empty() {
            let highest = installation
                .critical_technology_areas
                .iter()
                .any(|area| HIGHEST_RISK_AREAS.contains(&area.as_str()));
            flags.push(format!(
                "installation {:?} works in critical technology areas {} (SEC-5{})",
                installation.name,
                installation.critical_technology_areas.join(", "),
                if highest { ", highest-risk" } else { "" }
            ));
        }
        if !installation.dual_use_categories.is_empty() {
            let categories: Vec<String> = installation.dual_use_categories.iter().map(i32::to_string).collect();
            flags.push(format!(
                "installation {:?} is tagged with dual-use Annex I categories {} (SEC-4){}",
                installation.name,
                categories.join(", "),
                if facts.outputs_leave_eu {
                    ", and results leave the EU: export-control review"
                } else {
                    ""
                }
            ));
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::ListedName;

    fn index() -> NameIndex {
        NameIndex::new([
            ListedName {
                party: "FICT.0001".into(),
                name: "Boris Invented-Testname".into(),
            },
            ListedName {
                party: "FICT.0002".into(),
                name: "Imaginary Heavy Industries".into(),
            },
        ])
    }

    fn organisation(country: &str, owners: Vec<Owner>) -> OrganisationFacts {
        OrganisationFacts {
            id: "org".into(),
            name: "Acme Photonics".into(),
            country: country.into(),
            owners,
        }
    }

    fn person(name: &str) -> Subject {
        Subject {
            kind: SubjectKind::Person,
            id: "p".into(),
            name: name.into(),
        }
    }

    fn clean_facts() -> Facts {
        Facts {
            subjects: vec![person("Anna Example")],
            organisations: vec![organisation("DE", vec![])],
            installations: vec![InstallationFacts {
                id: "i".into(),
                name: "Cleanroom".into(),
                critical_technology_areas: vec![],
                dual_use_categories: vec![],
            }],
            outputs_leave_eu: false,
        }
    }

    #[test]
    fn nothing_listed_nothing_flagged_proceeds() {
        let outcome = screen(&clean_facts(), &index());
        assert_eq!(outcome.verdict, Verdict::Clear);
        assert_eq!(outcome.decision(), Decision::Proceed);
    }

    #[test]
    fn sec1_a_listed_person_declines_the_request() {
        let mut facts = clean_facts();
        facts.subjects.push(person("Boris Invented-Testname"));
        let outcome = screen(&facts, &index());
        assert_eq!(outcome.verdict, Verdict::Match);
        assert_eq!(outcome.decision(), Decision::Decline);
        assert_eq!(outcome.hits[0].listed_party, "FICT.0001");
    }

    #[test]
    fn sec1_a_listed_owner_is_screened_too() {
        let mut facts = clean_facts();
        facts.subjects.push(Subject {
            kind: SubjectKind::Owner,
            id: String::new(),
            name: "Imaginary Heavy Industries Ltd".into(),
        });
        assert_eq!(screen(&facts, &index()).decision(), Decision::Decline);
    }

    #[test]
    fn sec3_a_near_name_is_held_for_a_person() {
        let mut facts = clean_facts();
        facts.subjects.push(person("Borys Invented-Testnam"));
        let outcome = screen(&facts, &index());
        assert_eq!(outcome.verdict, Verdict::Possible);
        assert_eq!(outcome.decision(), Decision::Hold);
    }

    #[test]
    fn ctry5_ctry6_establishment_in_russia_or_belarus_blocks() {
        for country in ["RU", "BY"] {
            let mut facts = clean_facts();
            facts.organisations = vec![organisation(country, vec![])];
            let outcome = screen(&facts, &index());
            assert_eq!(outcome.decision(), Decision::Decline, "{country}");
            assert_eq!(outcome.blocks.len(), 1);
        }
    }

    #[test]
    fn ctry5_majority_russian_ownership_blocks_and_half_does_not() {
        let owner = |share| Owner {
            name: "Holding".into(),
            country: "RU".into(),
            share_percent: share,
        };
        let mut facts = clean_facts();
        facts.organisations = vec![organisation("DE", vec![owner(30.0), owner(25.0)])];
        assert_eq!(
            screen(&facts, &index()).decision(),
            Decision::Decline,
            "30 % + 25 % is a majority"
        );
        facts.organisations = vec![organisation("DE", vec![owner(50.0)])];
        assert_eq!(
            screen(&facts, &index()).decision(),
            Decision::Proceed,
            "exactly half is not more than 50 %"
        );
    }

    #[test]
    fn sec4_sec5_flags_send_the_request_to_a_security_review() {
        let mut facts = clean_facts();
        facts.installations[0].critical_technology_areas = vec!["QUANTUM".into()];
        let outcome = screen(&facts, &index());
        assert_eq!(outcome.decision(), Decision::Hold);
        assert!(
            outcome.security_flags[0].contains("highest-risk"),
            "{:?}",
            outcome.security_flags
        );

        let mut facts = clean_facts();
        facts.installations[0].dual_use_categories = vec![6];
        facts.outputs_leave_eu = true;
        let outcome = screen(&facts, &index());
        assert_eq!(outcome.decision(), Decision::Hold);
        assert!(
            outcome.security_flags[0].contains("export-control"),
            "{:?}",
            outcome.security_flags
        );
    }

    #[test]
    fn a_block_outranks_a_hold() {
        let mut facts = clean_facts();
        facts.installations[0].critical_technology_areas = vec!["ENERGY".into()];
        facts.organisations = vec![organisation("BY", vec![])];
        assert_eq!(screen(&facts, &index()).decision(), Decision::Decline);
    }
}
