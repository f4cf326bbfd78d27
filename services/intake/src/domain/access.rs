//! Who may see and act on what, beyond the RPC × role table (DESIGN §4): applicants act for their
//! own organisation, operators for requests that ask for their infrastructures' installations,
//! services (allocation) read everything and decline transnational proposals in review.

use rti_platform::auth::{Principal, Role};

use super::organisation::UserGroup;
use super::request::{AccessRequest, RequestStatus};
use super::{IntakeError, IntakeResult};

/// An applicant of this organisation.
pub fn owns(caller: &Principal, organisation_id: &str) -> bool {
    caller.has_role(Role::Applicant) && caller.org.as_deref() == Some(organisation_id)
}

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
    sees_everything(caller) || owns(caller, organisation_id)
}

pub fn may_see_user_group(caller: &Principal, group: &UserGroup) -> bool {
    sees_everything(caller) || owns(caller, &group.organisation_id)
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
        || owns(caller, &request.organisation_id)
        || request
            .infrastructure_ids()
            .any(|infrastructure| caller.operates(infrastructure))
}

/// An admin, or an applicant of the requesting organisation, acts for the requester.
pub fn acts_for_requester(caller: &Principal, request: &AccessRequest) -> IntakeResult<()> {
    if caller.is_admin() || owns(caller, &request.organisation_id) {
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
    /// Every requested installation (a quote prices all of them).
    All,
    /// At least one.
    Any,
    /// At least one, or the caller is a service (allocation closes what it allocated).
    AnyOrService,
}

/// An admin, or an operator of the request's installations (as `operated` asks).
pub fn operates_request(caller: &Principal, request: &AccessRequest, operated: Operated) -> IntakeResult<()> {
    let mut infrastructures = request.infrastructure_ids();
    let allowed = caller.is_admin()
        || (operated == Operated::AnyOrService && caller.has_role(Role::Service))
        || (caller.has_role(Role::Operator)
            && match operated {
                Operated::All => infrastructures.all(|infrastructure| caller.operates(infrastructure)),
                Operated::Any | Operated::AnyOrService => {
                    infrastructures.any(|infrastructure| caller.operates(infrastructure))
                }
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
/// industrial requests they cannot serve.
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
        operates_request(caller, request, Operated::Any)
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
