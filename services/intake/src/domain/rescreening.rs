//! Screening again when the sanctions list changes (SEC-3: "re-screen when the list changes
//! (delta) and before each allocation and visit"). A party screened CLEAR at submission may be
//! listed later: every open request is screened again against the names a newer version adds
//! or changes since the version it was last screened with. A new MATCH suspends the request
//! (and allocation suspends its slots), a new POSSIBLE holds it for a person; either way the
//! request goes back to SCREENING, and a reviewer's approval resumes it where it was. Each
//! re-screening is recorded with its list version, once per version.

use super::names::Verdict;
use super::request::{AccessRequest, INTAKE, RequestStatus as Status, Transition};
use super::sanctions::SanctionsListVersion;
use super::screening::Outcome;
use super::screening_record::{Rescreening, hits_of};

/// Submitted and not ended: the requests whose parties may still get access (a slot exists only
/// for such a request).
pub fn is_open(status: Status) -> bool {
    matches!(
        status,
        Status::Screening | Status::Feasibility | Status::Quoted | Status::Accepted | Status::InReview
    )
}

/// The version to screen the delta against, when `request` is due a re-screening with `list`:
/// open, screened before, and last screened with another version.
pub fn due(request: &AccessRequest, list: &SanctionsListVersion) -> Option<String> {
    if !is_open(request.status) {
        return None;
    }
    let baseline = request.screening.as_ref()?.baseline_list_id();
    (!baseline.is_empty() && baseline != list.id).then(|| baseline.to_owned())
}

/// Whether `list` is newer than `baseline`, in the order the newest version is chosen: by
/// generation date, then by import.
pub fn newer(list: &SanctionsListVersion, baseline: &SanctionsListVersion) -> bool {
    (list.generation_time, list.import_time) > (baseline.generation_time, baseline.import_time)
}

/// Records `outcome`, the screening of `request` against the names `list` adds since
/// `baseline`, and returns the step it takes: to SCREENING for a new MATCH (suspended) or a new
/// POSSIBLE (held for review), none for CLEAR or a request already held.
pub fn apply(
    request: &mut AccessRequest,
    outcome: &Outcome,
    list: &SanctionsListVersion,
    baseline: &str,
    at: i64,
) -> Option<Transition> {
    let screening = request.screening.as_mut()?;
    screening.rescreenings.push(Rescreening {
        sanctions_list_id: list.id.clone(),
        list_generation_time: list.generation_time,
        baseline_list_id: baseline.to_owned(),
        verdict: outcome.verdict,
        hits: hits_of(outcome),
        screen_time: at,
    });
    screening.verdict = screening.verdict.max(outcome.verdict);
    if request.status == Status::Screening {
        return None;
    }
    let parties = |verdict: Verdict| {
        let mut parties: Vec<String> = outcome
            .hits
            .iter()
            .filter(|hit| hit.verdict == verdict)
            .map(|hit| format!("{} ~ listed party {}", hit.subject.kind.as_str(), hit.listed_party))
            .collect();
        parties.dedup();
        parties.join(", ")
    };
    let reason = match outcome.verdict {
        Verdict::Clear => return None,
        Verdict::Match => format!(
            "suspended by re-screening against sanctions list version {} (SEC-1, SEC-3): {}; its slots are \
             suspended until a compliance officer reviews it",
            list.id,
            parties(Verdict::Match)
        ),
        Verdict::Possible => format!(
            "held for review by re-screening against sanctions list version {} (SEC-3): possible match {}",
            list.id,
            parties(Verdict::Possible)
        ),
    };
    Some(Transition::by(INTAKE, Status::Screening, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{Lane, StatusTransition};
    use crate::domain::screening::{Hit, Subject, SubjectKind};
    use crate::domain::screening_record::Screening;

    fn list(id: &str, generation_time: i64) -> SanctionsListVersion {
        SanctionsListVersion {
            id: id.to_owned(),
            generation_time,
            format: crate::domain::sanctions::SanctionsListFormat::Csv,
            sha256: String::new(),
            parties: 1,
            names: 1,
            imported_by: "admin".to_owned(),
            import_time: generation_time,
        }
    }

    fn accepted() -> AccessRequest {
        let mut request = crate::domain::request::example(Lane::Industrial, Status::Accepted);
        request.history.push(StatusTransition {
            from: Some(Status::Quoted),
            to: Status::Accepted,
            actor: "applicant".to_owned(),
            reason: String::new(),
            time: 1,
        });
        request.screening = Some(Screening {
            verdict: Verdict::Clear,
            sanctions_list_id: "v1".to_owned(),
            list_generation_time: 1,
            hits: Vec::new(),
            blocks: Vec::new(),
            security_flags: Vec::new(),
            screen_time: 1,
            review: None,
            rescreenings: Vec::new(),
        });
        request
    }

    fn outcome(verdict: Verdict) -> Outcome {
        let hits = match verdict {
            Verdict::Clear => Vec::new(),
            _ => vec![Hit {
                subject: Subject {
                    kind: SubjectKind::Organisation,
                    id: "org-1".to_owned(),
                    name: "Listed Later GmbH".to_owned(),
                },
                listed_party: "FICT.0900".to_owned(),
                listed_name: "Listed Later GmbH".to_owned(),
                score: 1.0,
                verdict,
            }],
        };
        Outcome {
            verdict,
            hits,
            blocks: Vec::new(),
            security_flags: Vec::new(),
        }
    }

    #[test]
    fn sec3_an_open_request_is_due_once_per_newer_version() {
        let mut request = accepted();
        let v2 = list("v2", 2);
        assert_eq!(due(&request, &v2).as_deref(), Some("v1"));
        assert_eq!(apply(&mut request, &outcome(Verdict::Clear), &v2, "v1", 5), None);
        assert_eq!(due(&request, &v2), None, "recorded with v2: not due again");
        assert_eq!(
            due(&request, &list("v3", 3)).as_deref(),
            Some("v2"),
            "the delta is against v2 now"
        );
        let rescreenings = &request.screening.as_ref().expect("screened").rescreenings;
        assert_eq!(rescreenings.len(), 1);
        assert_eq!(
            (rescreenings[0].sanctions_list_id.as_str(), rescreenings[0].verdict),
            ("v2", Verdict::Clear)
        );
        for status in [Status::Draft, Status::Closed, Status::Declined, Status::Withdrawn] {
            request.status = status;
            assert_eq!(due(&request, &list("v3", 3)), None, "{status:?} is not open");
        }
        assert!(newer(&list("v2", 2), &list("v1", 1)));
        assert!(
            !newer(&list("v1", 1), &list("v2", 2)),
            "an older version is never screened again"
        );
    }

    #[test]
    fn sec3_a_new_match_suspends_and_a_new_possible_holds_for_review() {
        let v2 = list("v2", 2);
        let mut matched = accepted();
        let step = apply(&mut matched, &outcome(Verdict::Match), &v2, "v1", 5).expect("a step");
        assert_eq!(step.to, Status::Screening);
        assert!(
            step.reason.starts_with("suspended") && step.reason.contains("FICT.0900"),
            "{}",
            step.reason
        );
        assert!(step.reason.contains("v2"), "the list version is named");
        assert_eq!(
            matched.screening.as_ref().map(|screening| screening.verdict),
            Some(Verdict::Match)
        );

        let mut possible = accepted();
        let step = apply(&mut possible, &outcome(Verdict::Possible), &v2, "v1", 5).expect("a step");
        assert!(step.reason.starts_with("held for review"), "{}", step.reason);

        let mut clear = accepted();
        assert_eq!(apply(&mut clear, &outcome(Verdict::Clear), &v2, "v1", 5), None);
        assert_eq!(
            clear.screening.as_ref().map(|screening| screening.verdict),
            Some(Verdict::Clear)
        );

        // Already held for a person: recorded, no second step.
        let mut held = accepted();
        held.status = Status::Screening;
        assert_eq!(apply(&mut held, &outcome(Verdict::Match), &v2, "v1", 5), None);
        assert_eq!(
            held.screening.as_ref().map(|screening| screening.rescreenings.len()),
            Some(1)
        );
    }
}
