//! Organisations (the profile kept as JSON beside the columns that are queried), people, user
//! groups with their members' eligibility facts, and the agreement templates.

use rti_platform::db::WriteTx;
use rti_proto::common::event::Payload;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IdempotencyKey, IntakeStore, NewRecord, aid, proto, require_row, stored};
use crate::domain::organisation::{Organisation, Person, UserGroup, UserGroupMember, work_country};
use crate::domain::request::{AgreementKind, AgreementTemplate};
use crate::domain::sme::SmeCategory;
use crate::domain::{IntakeError, IntakeResult};

impl IntakeStore {
    pub async fn register_organisation(
        &self,
        organisation: Organisation,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<Organisation> {
        let created = self.create_once(key, &organisation).await?;
        self.get_organisation(created.id()).await
    }

    pub async fn get_organisation(&self, id: &str) -> IntakeResult<Organisation> {
        let row = sqlx::query("SELECT profile FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?
            .ok_or_else(|| IntakeError::not_found("organisation", id))?;
        proto::organisation_from_json(&row.try_get::<String, _>(0)?)
    }

    pub async fn register_person(&self, person: Person, key: Option<&IdempotencyKey>) -> IntakeResult<Person> {
        let created = self.create_once(key, &person).await?;
        self.get_person(created.id()).await
    }

    /// A person with the work country worked out: the override, else the employer's country.
    pub async fn get_person(&self, id: &str) -> IntakeResult<Person> {
        let row = sqlx::query(
            "SELECT p.id, p.full_name, p.organisation_id, p.work_country_override, p.work_country_evidence, \
             p.created_at, o.country, p.nationality FROM people p JOIN organisations o ON o.id = p.organisation_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| IntakeError::not_found("person", id))?;
        person_from_row(&row)
    }

    /// One user as eligibility reads it: work country and employer, never the name.
    async fn member_facts(&self, person_id: &str, leader: bool) -> IntakeResult<UserGroupMember> {
        let row = sqlx::query(
            "SELECT p.organisation_id, p.work_country_override, o.country, o.sme_category \
             FROM people p JOIN organisations o ON o.id = p.organisation_id WHERE p.id = $1",
        )
        .bind(person_id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| IntakeError::not_found("person", person_id))?;
        let override_country: String = row.try_get(1)?;
        let employer_country: String = row.try_get(2)?;
        let category: String = row.try_get(3)?;
        Ok(UserGroupMember {
            person_id: person_id.to_owned(),
            leader,
            work_country: work_country(&override_country, &employer_country),
            organisation_id: row.try_get(0)?,
            employer_sme_category: SmeCategory::from_stored(&category),
        })
    }

    pub async fn create_user_group(&self, group: UserGroup, key: Option<&IdempotencyKey>) -> IntakeResult<UserGroup> {
        let created = self.create_once(key, &group).await?;
        self.get_user_group(created.id()).await
    }

    pub async fn get_user_group(&self, id: &str) -> IntakeResult<UserGroup> {
        let row = sqlx::query(
            "SELECT id, name, organisation_id, leader_person_id, created_at FROM user_groups WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.database.readers())
        .await?
        .ok_or_else(|| IntakeError::not_found("user group", id))?;
        let leader: String = row.try_get(3)?;
        let members =
            sqlx::query("SELECT m.person_id FROM user_group_members m WHERE m.user_group_id = $1 ORDER BY m.position")
                .bind(id)
                .fetch_all(self.database.readers())
                .await?
                .iter()
                .map(|member| member.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()?;
        let mut facts = Vec::with_capacity(members.len() + 1);
        for (person_id, is_leader) in std::iter::once((&leader, true)).chain(members.iter().map(|m| (m, false))) {
            facts.push(self.member_facts(person_id, is_leader).await?);
        }
        Ok(UserGroup {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            organisation_id: row.try_get(2)?,
            leader_person_id: leader,
            member_person_ids: members,
            members: facts,
            create_time: row.try_get(4)?,
        })
    }

    /// Adds the shipped templates that are not stored yet; a stored version is never changed.
    pub async fn seed_agreement_templates(&self, templates: &[AgreementTemplate]) -> IntakeResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for template in templates {
            sqlx::query(
                "INSERT INTO agreement_templates (id, kind, version, title, jurisdiction, text_uri, text_sha256, \
                 effective_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, version) DO NOTHING",
            )
            .bind(&template.id)
            .bind(template.kind.as_stored())
            .bind(template.version)
            .bind(&template.title)
            .bind(&template.jurisdiction)
            .bind(&template.text_uri)
            .bind(&template.text_sha256)
            .bind(template.effective_from)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The templates in force at `now`, newest version of each kind first, of one kind or all.
    pub async fn agreement_templates(
        &self,
        kind: Option<AgreementKind>,
        now: i64,
    ) -> IntakeResult<Vec<AgreementTemplate>> {
        let rows = sqlx::query(
            "SELECT id, kind, version, title, jurisdiction, text_uri, text_sha256, effective_from \
             FROM agreement_templates WHERE ($1 = '' OR kind = $1) AND effective_from <= $2 \
             ORDER BY kind, version DESC",
        )
        .bind(kind.map_or("", AgreementKind::as_stored))
        .bind(now)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AgreementTemplate {
                    id: row.try_get(0)?,
                    kind: stored(row, 1, AgreementKind::from_stored)?,
                    version: row.try_get(2)?,
                    title: row.try_get(3)?,
                    jurisdiction: row.try_get(4)?,
                    text_uri: row.try_get(5)?,
                    text_sha256: row.try_get(6)?,
                    effective_from: row.try_get(7)?,
                })
            })
            .collect()
    }
}

impl NewRecord for Organisation {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, _lock: &'static str) -> IntakeResult<Option<Payload>> {
        let assessment = &self.assessment;
        let inserted = sqlx::query(
            "INSERT INTO organisations (id, legal_name, country, kind, profile, sme_category, start_up, \
             small_mid_cap, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&self.id)
        .bind(&self.profile.legal_name)
        .bind(&self.profile.country)
        .bind(self.profile.kind.as_stored())
        .bind(proto::organisation_json(self))
        .bind(assessment.sme_category.as_stored())
        .bind(i32::from(assessment.start_up))
        .bind(i32::from(assessment.small_mid_cap))
        .bind(self.create_time)
        .execute(&mut **transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(IntakeError::AlreadyExists(format!(
                "organisation {} is already registered",
                self.id
            )));
        }
        for grant in &self.profile.declared_de_minimis_aid {
            // Checked before: the date parses.
            let granted_at = crate::domain::date_micros(&grant.granted_on).unwrap_or_default();
            aid::insert_declared_aid(transaction, &self.id, grant, granted_at).await?;
        }
        Ok(Some(proto::organisation_registered(self)))
    }
}

impl NewRecord for Person {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> IntakeResult<Option<Payload>> {
        require_row(
            transaction,
            "organisations",
            "organisation",
            &self.organisation_id,
            lock,
        )
        .await?;
        sqlx::query(
            "INSERT INTO people (id, full_name, organisation_id, work_country_override, \
             work_country_evidence, created_at, nationality) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&self.id)
        .bind(&self.full_name)
        .bind(&self.organisation_id)
        .bind(&self.work_country_override)
        .bind(&self.work_country_evidence)
        .bind(self.create_time)
        .bind(&self.nationality)
        .execute(&mut **transaction)
        .await?;
        Ok(None)
    }
}

impl NewRecord for UserGroup {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> IntakeResult<Option<Payload>> {
        require_row(
            transaction,
            "organisations",
            "organisation",
            &self.organisation_id,
            lock,
        )
        .await?;
        require_row(transaction, "people", "person", &self.leader_person_id, lock).await?;
        for member in &self.member_person_ids {
            require_row(transaction, "people", "person", member, lock).await?;
        }
        sqlx::query(
            "INSERT INTO user_groups (id, name, organisation_id, leader_person_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.id)
        .bind(&self.name)
        .bind(&self.organisation_id)
        .bind(&self.leader_person_id)
        .bind(self.create_time)
        .execute(&mut **transaction)
        .await?;
        for (position, member) in self.member_person_ids.iter().enumerate() {
            sqlx::query("INSERT INTO user_group_members (user_group_id, person_id, position) VALUES ($1, $2, $3)")
                .bind(&self.id)
                .bind(member)
                .bind(i32::try_from(position).unwrap_or(i32::MAX))
                .execute(&mut **transaction)
                .await?;
        }
        Ok(None)
    }
}

fn person_from_row(row: &AnyRow) -> IntakeResult<Person> {
    let override_country: String = row.try_get(3)?;
    let employer_country: String = row.try_get(6)?;
    Ok(Person {
        id: row.try_get(0)?,
        full_name: row.try_get(1)?,
        organisation_id: row.try_get(2)?,
        work_country: work_country(&override_country, &employer_country),
        work_country_override: override_country,
        work_country_evidence: row.try_get(4)?,
        nationality: row.try_get(7)?,
        create_time: row.try_get(5)?,
    })
}
