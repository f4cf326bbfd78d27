//! Who may see and act on what, beyond the RPC × role table (DESIGN §4): applicants act for their
//! own organisation, operators for requests that ask for their infrastructures' installations,
//! services (allocation) read everything and decline transnational proposals in review.

use rti_platform::auth::{Principal, Role};

use super::organisation::UserGroup;
use super::request::{AccessRequest, RequestStatus};
use super::{IntakeError, IntakeResult};

/// Admins and services see every record.
pub fn sees_everything(caller: &Principal) -> bool {
    caller.is_admin() || caller.has_role(Role::Service)
}

/// The organisation an applicant acts for; an admin acts for the one named.
pub fn acting_organisation(caller: &Principal, named: &str, field: &str) -> IntakeResult<String> {
    if caller.is_admin() {
        return Ok(named.to_owned());
    }
    let Some(own) = caller.org.as_deref() else {
        return Err(IntakeError::PermissionDenied(
            "your token names no organisation (claim `org`)".to_owned(),
        ));
    };
    if named.is_empty() || named == own {
        Ok(own.to_owned())
    } else {
        Err(IntakeError::PermissionDenied(format!(
            "{field}: you act only for organisation {own}"
        )))
    }
}

/// The organisation whose de minimis statement the caller reads: any for admins and services,
/// an applicant's own otherwise.
pub fn statement_organisation(caller: &Principal, named: &str) -> IntakeResult<String> {
    if sees_everything(caller) {
        Ok(named.to_owned())
    } else {
        acting_organisation(caller, named, "organisation_id")
    }
}

pub fn may_see_organisation(caller: &Principal, organisation_id: &str) -> bool {
    sees_everything(caller) || caller.is_applicant_of(organisation_id)
}

pub fn may_see_user_group(caller: &Principal, group: &UserGroup) -> bool {
    sees_everything(caller) || caller.is_applicant_of(&group.organisation_id)
}

/// The refusal of a request the caller may not see, or that does not exist: the same answer
/// for both, so that ids cannot be probed.
pub fn not_yours_to_see(id: &str) -> IntakeError {
    IntakeError::PermissionDenied(format!("access request {id:?} is not yours to see"))
}

/// Admins and services all, applicants their organisation's, operators those asking for one of
/// their infrastructures' installations.
pub fn may_read_request(caller: &Principal, request: &AccessRequest) -> bool {
    sees_everything(caller)
        || caller.is_applicant_of(&request.organisation_id)
        || request
            .infrastructure_ids()
            .any(|infrastructure| caller.operates(infrastructure))
}

/// An admin, or an applicant of the requesting organisation, acts for the requester.
pub fn acts_for_requester(caller: &Principal, request: &AccessRequest) -> IntakeResult<()> {
    if caller.is_admin() || caller.is_applicant_of(&request.organisation_id) {
        Ok(())
    } else {
        Err(IntakeError::PermissionDenied(format!(
            "only the requesting organisation acts on access request {:?}",
            request.id
        )))
    }
}

/// How much of a request an operator must operate to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operated {
    /// Every requested installation: a quote prices all of them, and a decision (decline,
    /// close) ends the request at all of them, so one operator never decides for another's.
    All,
    /// At least one.
    Any,
    /// Every requested installation, or the caller is a service (allocation closes what it
    /// allocated).
    AllOrService,
}

/// An admin, or an operator of the request's installations (as `operated` asks).
pub fn operates_request(caller: &Principal, request: &AccessRequest, operated: Operated) -> IntakeResult<()> {
    let mut infrastructures = request.infrastructure_ids();
    let allowed = caller.is_admin()
        || (operated == Operated::AllOrService && caller.has_role(Role::Service))
        || (caller.has_role(Role::Operator)
            && match operated {
                Operated::All | Operated::AllOrService => {
                    infrastructures.all(|infrastructure| caller.operates(infrastructure))
                }
                Operated::Any => infrastructures.any(|infrastructure| caller.operates(infrastructure)),
            });
    if allowed {
        Ok(())
    } else {
        Err(IntakeError::PermissionDenied(format!(
            "access request {:?} asks for installations you do not operate",
            request.id
        )))
    }
}

/// Allocation's panel (a service) declines transnational proposals in review; operators decline
/// industrial requests they cannot serve, when they operate every installation the request names
/// (issue 13, item 5: an operator of one installation does not end a request at another's).
pub fn may_decline(caller: &Principal, request: &AccessRequest) -> IntakeResult<()> {
    if request.status == RequestStatus::InReview {
        if sees_everything(caller) {
            Ok(())
        } else {
            Err(IntakeError::PermissionDenied(
                "a proposal in review is declined by allocation's panel".to_owned(),
            ))
        }
    } else if !caller.is_admin() && caller.has_role(Role::Service) && !caller.has_role(Role::Operator) {
        Err(IntakeError::PermissionDenied(
            "a service declines only transnational proposals in review".to_owned(),
        ))
    } else {
        operates_request(caller, request, Operated::All)
    }
}

/// Which requests a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestScope {
    All,
    /// An applicant: its organisation's requests.
    Organisation(String),
    /// An operator: requests that ask for an installation of one of these infrastructures.
    Infrastructures(Vec<String>),
}

pub fn listing_scope(caller: &Principal) -> RequestScope {
    if sees_everything(caller) {
        RequestScope::All
    } else if let (true, Some(org)) = (caller.has_role(Role::Applicant), caller.org.as_ref()) {
        RequestScope::Organisation(org.clone())
    } else {
        operated_scope(caller)
    }
}

/// An admin's overdue list holds every request; an operator's those of its infrastructures.
pub fn overdue_scope(caller: &Principal) -> RequestScope {
    if caller.is_admin() {
        RequestScope::All
    } else {
        operated_scope(caller)
    }
}

fn operated_scope(caller: &Principal) -> RequestScope {
    RequestScope::Infrastructures(caller.infrastructures.iter().cloned().collect())
}

/// IND-7d: an admin sets the default clock; an operator that of an installation of its own
/// infrastructure (`None` for the default).
pub fn may_set_clock(caller: &Principal, installation: Option<(&str, &str)>) -> IntakeResult<()> {
    match installation {
        None if caller.is_admin() => Ok(()),
        None => Err(IntakeError::PermissionDenied(
            "only an admin sets the default clock; name your installation".to_owned(),
        )),
        Some((_, infrastructure_id)) if caller.operates(infrastructure_id) => Ok(()),
        Some((installation_id, _)) => Err(IntakeError::PermissionDenied(format!(
            "you do not operate installation {installation_id:?}"
        ))),
    }
}

/// A caller for tests: `roles`, acting for `org`, operating `infrastructures`.
#[cfg(test)]
pub(crate) fn principal(roles: &[Role], org: Option<&str>, infrastructures: &[&str]) -> Principal {
    Principal {
        subject: "someone".to_owned(),
        roles: roles.iter().copied().collect(),
        org: org.map(str::to_owned),
        infrastructures: infrastructures.iter().map(|id| (*id).to_owned()).collect(),
        country: None,
        eu: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{Lane, example};

    #[test]
    fn an_applicant_acts_only_for_its_own_organisation() {
        let applicant = principal(&[Role::Applicant], Some("org-1"), &[]);
        assert_eq!(acting_organisation(&applicant, "", "field").expect("allowed"), "org-1");
        assert_eq!(
            acting_organisation(&applicant, "org-1", "field").expect("allowed"),
            "org-1"
        );
        assert!(acting_organisation(&applicant, "org-2", "field").is_err());
        let nobody = principal(&[Role::Applicant], None, &[]);
        assert!(acting_organisation(&nobody, "", "field").is_err());
        let admin = principal(&[Role::Admin], None, &[]);
        assert_eq!(acting_organisation(&admin, "org-2", "field").expect("allowed"), "org-2");
    }

    #[test]
    fn a_request_is_read_by_its_requester_its_operators_and_services_only() {
        let request = example(Lane::Industrial, RequestStatus::Feasibility);
        assert!(may_read_request(
            &principal(&[Role::Applicant], Some("org-1"), &[]),
            &request
        ));
        assert!(!may_read_request(
            &principal(&[Role::Applicant], Some("org-2"), &[]),
            &request
        ));
        assert!(may_read_request(
            &principal(&[Role::Operator], None, &["infra-1"]),
            &request
        ));
        assert!(!may_read_request(
            &principal(&[Role::Operator], None, &["infra-2"]),
            &request
        ));
        assert!(may_read_request(&principal(&[Role::Service], None, &[]), &request));
    }

    #[test]
    fn an_operator_acts_only_on_requests_for_installations_it_operates() {
        let mut request = example(Lane::Industrial, RequestStatus::Feasibility);
        let operator = principal(&[Role::Operator], None, &["infra-1"]);
        assert!(operates_request(&operator, &request, Operated::All).is_ok());
        let mut second = request.installations[0].clone();
        second.infrastructure_id = "infra-2".to_owned();
        request.installations.push(second);
        assert!(operates_request(&operator, &request, Operated::Any).is_ok());
        assert!(
            operates_request(&operator, &request, Operated::All).is_err(),
            "a quote needs an operator of every installation"
        );
        let service = principal(&[Role::Service], None, &[]);
        assert!(operates_request(&service, &request, Operated::Any).is_err());
        assert!(operates_request(&service, &request, Operated::AllOrService).is_ok());
        assert!(
            operates_request(&operator, &request, Operated::AllOrService).is_err(),
            "closing needs an operator of every installation"
        );
        let both = principal(&[Role::Operator], None, &["infra-1", "infra-2"]);
        assert!(operates_request(&both, &request, Operated::AllOrService).is_ok());
    }

    #[test]
    fn a_proposal_in_review_is_declined_by_allocation_and_a_request_in_feasibility_by_its_operator() {
        let service = principal(&[Role::Service], None, &[]);
        let operator = principal(&[Role::Operator], None, &["infra-1"]);
        let in_review = example(Lane::Transnational, RequestStatus::InReview);
        assert!(may_decline(&service, &in_review).is_ok());
        assert!(may_decline(&operator, &in_review).is_err());
        let mut feasibility = example(Lane::Industrial, RequestStatus::Feasibility);
        assert!(may_decline(&service, &feasibility).is_err());
        assert!(may_decline(&operator, &feasibility).is_ok());
        let mut second = feasibility.installations[0].clone();
        second.infrastructure_id = "infra-2".to_owned();
        feasibility.installations.push(second);
        assert!(
            may_decline(&operator, &feasibility).is_err(),
            "declining needs an operator of every installation the request names"
        );
        let both = principal(&[Role::Operator], None, &["infra-1", "infra-2"]);
        assert!(may_decline(&both, &feasibility).is_ok());
    }

    #[test]
    fn applicants_list_their_organisation_and_operators_their_infrastructures() {
        assert_eq!(
            listing_scope(&principal(&[Role::Applicant], Some("org-1"), &[])),
            RequestScope::Organisation("org-1".to_owned())
        );
        assert_eq!(
            listing_scope(&principal(&[Role::Operator], None, &["infra-1"])),
            RequestScope::Infrastructures(vec!["infra-1".to_owned()])
        );
        assert_eq!(
            listing_scope(&principal(&[Role::Service], None, &[])),
            RequestScope::All
        );
        assert_eq!(
            overdue_scope(&principal(&[Role::Service], None, &[])),
            RequestScope::Infrastructures(Vec::new()),
            "the overdue list is the operators' and the admins'"
        );
    }

    #[test]
    fn the_default_clock_is_the_admins_and_an_installations_its_operators() {
        let operator = principal(&[Role::Operator], None, &["infra-1"]);
        assert!(may_set_clock(&operator, None).is_err());
        assert!(may_set_clock(&principal(&[Role::Admin], None, &[]), None).is_ok());
        assert!(may_set_clock(&operator, Some(("installation-1", "infra-1"))).is_ok());
        assert!(may_set_clock(&operator, Some(("installation-2", "infra-2"))).is_err());
    }
}
