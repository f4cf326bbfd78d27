//! Registering organisations (their size class computed, SME-1 to SME-4), people and user
//! groups, reading them back, and an organisation's de minimis statement (SA-6).

use rti_platform::auth::Principal;
use rti_platform::error::{InvalidInput, Violations};
use rti_platform::validate::reference;

use super::{IntakeService, now};
use crate::domain::aid::DeMinimisStatement;
use crate::domain::organisation::{Organisation, OrganisationProfile, Person, UserGroup, assess};
use crate::domain::{Checked, IntakeError, IntakeResult, access, chosen_id, read};
use rti_platform::store::IdempotencyKey;

/// `RegisterOrganisation`, converted.
#[derive(Debug)]
pub struct RegisterOrganisation {
    pub key: Checked<Option<IdempotencyKey>>,
    /// The id the caller names, if any.
    pub id: String,
    pub profile: Checked<OrganisationProfile>,
}

/// A person as the caller describes them.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub id: String,
    pub full_name: String,
    pub work_country_override: String,
    pub work_country_evidence: String,
    pub nationality: String,
}

/// `RegisterPerson`, converted.
#[derive(Debug)]
pub struct RegisterPerson {
    pub key: Checked<Option<IdempotencyKey>>,
    /// The employer the caller names, if any.
    pub organisation_id: String,
    pub person: Checked<NewPerson>,
}

/// A user group as the caller describes it.
#[derive(Debug, Clone)]
pub struct NewUserGroup {
    pub id: String,
    pub name: String,
    pub leader_person_id: String,
    pub member_person_ids: Vec<String>,
}

/// `CreateUserGroup`, converted.
#[derive(Debug)]
pub struct CreateUserGroup {
    pub key: Checked<Option<IdempotencyKey>>,
    pub organisation_id: String,
    pub group: Checked<NewUserGroup>,
}

impl IntakeService {
    /// Registers an organisation for the one the caller acts for, its size class computed as of
    /// now (SME-1 to SME-4); once per idempotency key.
    pub async fn register_organisation(
        &self,
        caller: &Principal,
        command: RegisterOrganisation,
    ) -> IntakeResult<Organisation> {
        let acting = access::acting_organisation(caller, &command.id, "organisation.id")?;
        let mut violations = Violations::new();
        let key = command.key.report_to(&mut violations);
        let profile = command.profile.report_to(&mut violations);
        let id = chosen_id(&acting, "organisation.id", &mut violations);
        violations.into_result()?;
        let (key, profile) = (read(key)?, read(profile)?);
        let now = now();
        let assessment = assess(
            &profile,
            self.rules.small_mid_cap,
            self.rules.start_up_max_age_years,
            now,
        )?;
        let organisation = Organisation {
            id,
            profile,
            assessment,
            create_time: now,
        };
        self.store.register_organisation(organisation, key.as_ref()).await
    }

    pub async fn get_organisation(&self, caller: &Principal, id: &str) -> IntakeResult<Organisation> {
        if !access::may_see_organisation(caller, id) {
            return Err(IntakeError::PermissionDenied(format!(
                "organisation {id:?} is not yours to see"
            )));
        }
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        self.store.get_organisation(id).await
    }

    /// Registers a person employed by the organisation the caller acts for.
    pub async fn register_person(&self, caller: &Principal, command: RegisterPerson) -> IntakeResult<Person> {
        let organisation_id = access::acting_organisation(caller, &command.organisation_id, "person.organisation_id")?;
        let mut violations = Violations::new();
        let key = command.key.report_to(&mut violations);
        let person = command.person.report_to(&mut violations);
        reference(&organisation_id, "person.organisation_id", &mut violations);
        violations.into_result()?;
        let (key, person) = (read(key)?, read(person)?);
        let person = Person {
            id: person.id,
            full_name: person.full_name,
            organisation_id,
            // TA-2: worked out from the employer when read.
            work_country: String::new(),
            work_country_override: person.work_country_override,
            work_country_evidence: person.work_country_evidence,
            nationality: person.nationality,
            create_time: now(),
        };
        self.store.register_person(person, key.as_ref()).await
    }

    /// Registers a user group of the organisation the caller acts for (TA-1).
    pub async fn create_user_group(&self, caller: &Principal, command: CreateUserGroup) -> IntakeResult<UserGroup> {
        let organisation_id =
            access::acting_organisation(caller, &command.organisation_id, "user_group.organisation_id")?;
        let mut violations = Violations::new();
        let key = command.key.report_to(&mut violations);
        reference(&organisation_id, "user_group.organisation_id", &mut violations);
        let group = command.group.report_to(&mut violations);
        violations.into_result()?;
        let (key, group) = (read(key)?, read(group)?);
        let group = UserGroup {
            id: group.id,
            name: group.name,
            leader_person_id: group.leader_person_id,
            member_person_ids: group.member_person_ids,
            organisation_id,
            members: Vec::new(),
            create_time: now(),
        };
        self.store.create_user_group(group, key.as_ref()).await
    }

    pub async fn get_user_group(&self, caller: &Principal, id: &str) -> IntakeResult<UserGroup> {
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        let not_yours = || IntakeError::PermissionDenied(format!("user group {id:?} is not yours to see"));
        let group = match self.store.get_user_group(id).await {
            Ok(group) => group,
            // Whether an id exists is told only to who may see every group (issue 13, item 5).
            Err(IntakeError::NotFound { .. }) if !access::sees_everything(caller) => return Err(not_yours()),
            Err(error) => return Err(error),
        };
        if !access::may_see_user_group(caller, &group) {
            return Err(not_yours());
        }
        Ok(group)
    }

    /// SA-6: the aid the organisation received in the last three years and what is left.
    pub async fn de_minimis_statement(
        &self,
        caller: &Principal,
        organisation_id: &str,
    ) -> IntakeResult<DeMinimisStatement> {
        let organisation_id = access::statement_organisation(caller, organisation_id)?;
        if organisation_id.is_empty() {
            return Err(InvalidInput::single("organisation_id", "is required").into());
        }
        self.store.get_organisation(&organisation_id).await?;
        self.store.de_minimis_statement(&organisation_id, now()).await
    }
}
