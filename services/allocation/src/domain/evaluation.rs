//! A proposal judged as a whole: the rules of [`super::eligibility`] on each requested
//! installation, under the call's rulebook in force, on the call's reference date (its close
//! time, CTRY-2). TA-15: a new rulebook version judges every proposal still in the call again,
//! with this same function.

use super::countries::CountryTable;
use super::eligibility::{self, Group, Outcome, Requester, Rulebook, Site};

/// A call as the rules read it.
#[derive(Debug, Clone, Copy)]
pub struct CallRules<'a> {
    pub rulebook: &'a Rulebook,
    /// The reference date (UTC micros): the call's close time.
    pub on: i64,
    /// The installations the call offers.
    pub sites: &'a [Site],
}

/// One requested installation with the group as the rules read it there (TA-7: whether each
/// user has used this installation before).
#[derive(Debug, Clone)]
pub struct Part {
    pub installation_id: String,
    pub group: Group,
}

/// One rule's verdict on one installation of the proposal (no installation: the whole proposal).
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalFinding {
    pub installation_id: String,
    pub rule: &'static str,
    pub outcome: Outcome,
    pub reason: String,
}

/// What an evaluation concludes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The rulebook version applied (0 without a call).
    pub rulebook_version: u32,
    pub findings: Vec<ProposalFinding>,
    /// The worst finding.
    pub eligibility: Outcome,
    /// TA-6: the group's class on the reference date; `None` without a call (unchanged).
    pub non_eu_majority: Option<bool>,
}

/// Every rule on every requested installation. `call` is `None` when the proposal names a call
/// that does not exist; `group` is the whole group without any installation's history.
pub fn evaluate_proposal(
    call: Option<CallRules<'_>>,
    call_id: &str,
    requester_country: &str,
    parts: &[Part],
    group: &Group,
) -> Evaluation {
    let table = CountryTable::shipped();
    let Some(call) = call else {
        let findings = vec![ProposalFinding {
            installation_id: String::new(),
            rule: "CALL",
            outcome: Outcome::Fail,
            reason: format!("the proposal names call {call_id:?}, which does not exist"),
        }];
        return Evaluation {
            rulebook_version: 0,
            eligibility: Outcome::Fail,
            findings,
            non_eu_majority: None,
        };
    };
    let requester = Requester {
        country: requester_country.to_owned(),
        // CTRY-5: intake's screening already declines these at submission; the country rules
        // are re-applied here on the reference date.
        russian_owned_over_half: false,
        controlled_by_country: None,
        guarantee_approved: false,
    };
    let mut findings = Vec::new();
    for part in parts {
        let Some(site) = call
            .sites
            .iter()
            .find(|site| site.installation_id == part.installation_id)
        else {
            findings.push(ProposalFinding {
                installation_id: part.installation_id.clone(),
                rule: "CALL",
                outcome: Outcome::Fail,
                reason: format!("installation {} is not offered in this call", part.installation_id),
            });
            continue;
        };
        for finding in eligibility::evaluate(call.rulebook, table, call.on, &requester, &part.group, site) {
            findings.push(ProposalFinding {
                installation_id: part.installation_id.clone(),
                rule: finding.rule,
                outcome: finding.outcome,
                reason: finding.reason,
            });
        }
    }
    Evaluation {
        rulebook_version: call.rulebook.version,
        eligibility: findings
            .iter()
            .map(|finding| finding.outcome)
            .max()
            .unwrap_or(Outcome::Pass),
        findings,
        non_eu_majority: Some(eligibility::non_eu_majority(table, call.on, group)),
    }
}

/// TA-7 (+ CTRY-4): the best priority bonus over the requested installations the call offers,
/// with its reasons.
pub fn best_priority_bonus(call: CallRules<'_>, parts: &[Part]) -> (f64, Vec<String>) {
    let table = CountryTable::shipped();
    let (mut bonus, mut reasons) = (0.0_f64, Vec::new());
    for part in parts {
        let Some(site) = call
            .sites
            .iter()
            .find(|site| site.installation_id == part.installation_id)
        else {
            continue;
        };
        let (points, why) = eligibility::priority_bonus(call.rulebook, table, call.on, &part.group, site);
        if points > bonus {
            (bonus, reasons) = (points, why);
        }
    }
    (bonus, reasons)
}

/// The members' work countries, the leader's first (as the events report them).
pub fn leader_first<'a>(members: impl Iterator<Item = (bool, &'a str)>) -> Vec<String> {
    let mut members: Vec<(bool, &str)> = members.collect();
    members.sort_by_key(|(leader, _)| !leader);
    members.iter().map(|(_, country)| (*country).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::{Member, ProviderForm};

    fn member(country: &str) -> Member {
        Member {
            work_country: country.to_owned(),
            employer_is_sme: false,
            used_installation_before: false,
        }
    }

    fn group(leader: &str, others: &[&str]) -> Group {
        Group {
            leader: member(leader),
            others: others.iter().map(|country| member(country)).collect(),
            may_disseminate: true,
        }
    }

    fn site(installation_id: &str, country: &str) -> Site {
        Site {
            installation_id: installation_id.to_owned(),
            countries: vec![country.to_owned()],
            provider_form: ProviderForm::Other,
            remote_set: false,
            countries_with_equivalent_ri: Vec::new(),
        }
    }

    fn part(installation_id: &str, group: &Group) -> Part {
        Part {
            installation_id: installation_id.to_owned(),
            group: group.clone(),
        }
    }

    /// 1 January 2026, UTC micros.
    const ON: i64 = 1_767_225_600_000_000;

    #[test]
    fn a_proposal_naming_a_missing_call_fails_as_a_whole() {
        let group = group("DE", &[]);
        let evaluation = evaluate_proposal(None, "c-1", "DE", &[part("i-1", &group)], &group);
        assert_eq!(evaluation.eligibility, Outcome::Fail);
        assert_eq!(evaluation.findings.len(), 1);
        assert_eq!(evaluation.findings[0].rule, "CALL");
        assert_eq!(evaluation.non_eu_majority, None);
    }

    #[test]
    fn an_installation_the_call_does_not_offer_fails_under_call() {
        let rulebook = Rulebook::default();
        let sites = [site("i-1", "FR")];
        let call = CallRules {
            rulebook: &rulebook,
            on: ON,
            sites: &sites,
        };
        let group = group("DE", &[]);
        let evaluation = evaluate_proposal(Some(call), "c-1", "DE", &[part("i-2", &group)], &group);
        assert_eq!(evaluation.eligibility, Outcome::Fail);
        assert!(
            evaluation
                .findings
                .iter()
                .any(|finding| finding.rule == "CALL" && finding.installation_id == "i-2")
        );
    }

    #[test]
    fn ta15_the_evaluation_carries_the_version_of_the_rulebook_applied() {
        let rulebook = Rulebook {
            version: 3,
            ..Rulebook::default()
        };
        let sites = [site("i-1", "FR")];
        let call = CallRules {
            rulebook: &rulebook,
            on: ON,
            sites: &sites,
        };
        let group = group("DE", &["DE"]);
        let evaluation = evaluate_proposal(Some(call), "c-1", "DE", &[part("i-1", &group)], &group);
        assert_eq!(evaluation.rulebook_version, 3);
        assert_eq!(evaluation.eligibility, Outcome::Pass, "{:?}", evaluation.findings);
        assert_eq!(evaluation.non_eu_majority, Some(false));
    }

    #[test]
    fn the_leaders_work_country_comes_first() {
        let members = [(false, "US"), (true, "DE"), (false, "FR")];
        assert_eq!(leader_first(members.into_iter()), ["DE", "US", "FR"]);
    }
}
