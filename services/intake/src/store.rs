//! The intake's store: SQL for organisations, people, user groups, agreement templates, access
//! requests with their status history, and sanctions lists, on SQLite and PostgreSQL. Every
//! change is written with its event in one transaction; creates are idempotent on a key.

mod aid;
mod requests;
mod sanctions;

use rti_platform::db::{Database, WriteTx};
use rti_platform::events::Outbox;
use rti_platform::store::{Created, IdempotencyKey, NewRecord, create_once};
use rti_platform::time::{micros_from_timestamp, now_micros, timestamp_from_micros};
use rti_proto::common::event::Payload;
use rti_proto::intake as proto;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::{IntakeError, IntakeResult};

pub use requests::{INTAKE, RequestFilter, RequestScope, StoredRequest, Transition};
pub use sanctions::NewSanctionsList;

#[derive(Debug, Clone)]
pub struct IntakeStore {
    database: Database,
    outbox: Outbox,
}

impl From<sqlx::Error> for IntakeError {
    fn from(error: sqlx::Error) -> Self {
        IntakeError::Store(error.into())
    }
}

impl IntakeStore {
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    /// `FOR UPDATE` where the backend has it; SQLite's single writer already serialises.
    fn lock_clause(&self) -> &'static str {
        self.database.lock_clause()
    }

    /// Writes `record` at most once per idempotency key (see [`create_once`]).
    async fn create_once<R: NewRecord<Error = IntakeError> + Clone>(
        &self,
        key: Option<&IdempotencyKey>,
        record: &R,
    ) -> IntakeResult<Created<R>> {
        create_once(&self.database, &self.outbox, key, || record.clone()).await
    }

    pub async fn register_organisation(
        &self,
        organisation: proto::Organisation,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<proto::Organisation> {
        let created = self.create_once(key, &New(organisation)).await?;
        self.get_organisation(created.id()).await
    }

    pub async fn get_organisation(&self, id: &str) -> IntakeResult<proto::Organisation> {
        let row = sqlx::query("SELECT profile FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?
            .ok_or_else(|| IntakeError::not_found("organisation", id))?;
        from_json(&row.try_get::<String, _>(0)?)
    }

    pub async fn register_person(
        &self,
        person: proto::Person,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<proto::Person> {
        let created = self.create_once(key, &New(person)).await?;
        self.get_person(created.id()).await
    }

    /// A person with the work country worked out: the override, else the employer's country.
    pub async fn get_person(&self, id: &str) -> IntakeResult<proto::Person> {
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
    async fn member_facts(&self, person_id: &str, leader: bool) -> IntakeResult<proto::UserGroupMember> {
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
        Ok(proto::UserGroupMember {
            person_id: person_id.to_owned(),
            leader,
            work_country: if override_country.is_empty() {
                employer_country
            } else {
                override_country
            },
            organisation_id: row.try_get(0)?,
            employer_sme_category: proto::SmeCategory::from_str_name(&category).unwrap_or_default().into(),
        })
    }

    pub async fn create_user_group(
        &self,
        group: proto::UserGroup,
        key: Option<&IdempotencyKey>,
    ) -> IntakeResult<proto::UserGroup> {
        let created = self.create_once(key, &New(group)).await?;
        self.get_user_group(created.id()).await
    }

    pub async fn get_user_group(&self, id: &str) -> IntakeResult<proto::UserGroup> {
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
        Ok(proto::UserGroup {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            organisation_id: row.try_get(2)?,
            leader_person_id: leader,
            member_person_ids: members,
            members: facts,
            create_time: Some(timestamp_from_micros(row.try_get(4)?)),
        })
    }

    /// Adds the shipped templates that are not stored yet; a stored version is never changed.
    pub async fn seed_agreement_templates(&self, templates: &[proto::AgreementTemplate]) -> IntakeResult<()> {
        let mut transaction = self.database.begin_write().await?;
        for template in templates {
            sqlx::query(
                "INSERT INTO agreement_templates (id, kind, version, title, jurisdiction, text_uri, text_sha256, \
                 effective_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, version) DO NOTHING",
            )
            .bind(&template.id)
            .bind(template.kind().as_str_name())
            .bind(template.version)
            .bind(&template.title)
            .bind(&template.jurisdiction)
            .bind(&template.text_uri)
            .bind(&template.text_sha256)
            .bind(template.effective_from.as_ref().map_or(0, micros_from_timestamp))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The templates in force at `now`, newest version of each kind first, of one kind or all.
    pub async fn agreement_templates(
        &self,
        kind: Option<proto::AgreementKind>,
        now: i64,
    ) -> IntakeResult<Vec<proto::AgreementTemplate>> {
        let rows = sqlx::query(
            "SELECT id, kind, version, title, jurisdiction, text_uri, text_sha256, effective_from \
             FROM agreement_templates WHERE ($1 = '' OR kind = $1) AND effective_from <= $2 \
             ORDER BY kind, version DESC",
        )
        .bind(kind.map_or("", |kind| kind.as_str_name()))
        .bind(now)
        .fetch_all(self.database.readers())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(proto::AgreementTemplate {
                    id: row.try_get(0)?,
                    kind: stored_enum(row, 1, proto::AgreementKind::from_str_name)?,
                    version: row.try_get(2)?,
                    title: row.try_get(3)?,
                    jurisdiction: row.try_get(4)?,
                    text_uri: row.try_get(5)?,
                    text_sha256: row.try_get(6)?,
                    effective_from: Some(timestamp_from_micros(row.try_get(7)?)),
                })
            })
            .collect()
    }
}

/// A record a create call inserts, as the platform's [`create_once`] takes it: its id, and how it
/// is inserted (checking what it refers to) with the event that announces it, if any.
#[derive(Clone)]
struct New<T>(T);

impl<T> std::ops::Deref for New<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl NewRecord for New<proto::Organisation> {
    type Error = IntakeError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, _lock: &'static str) -> IntakeResult<Option<Payload>> {
        let assessment = self.assessment.clone().unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO organisations (id, legal_name, country, kind, profile, sme_category, start_up, \
             small_mid_cap, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&self.id)
        .bind(&self.legal_name)
        .bind(&self.country)
        .bind(self.kind().as_str_name())
        .bind(to_json(&self.0))
        .bind(assessment.sme_category().as_str_name())
        .bind(i32::from(assessment.start_up))
        .bind(i32::from(assessment.small_mid_cap))
        .bind(self.create_time.as_ref().map_or(0, micros_from_timestamp))
        .execute(&mut **transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(IntakeError::AlreadyExists(format!(
                "organisation {} is already registered",
                self.id
            )));
        }
        for grant in &self.declared_de_minimis_aid {
            // Checked before: the date parses.
            let granted_at = crate::domain::date_micros(&grant.granted_on).unwrap_or_default();
            aid::insert_declared_aid(transaction, &self.id, grant, granted_at).await?;
        }
        Ok(Some(Payload::OrganisationRegistered(proto::OrganisationRegistered {
            organisation_id: self.id.clone(),
            kind: self.kind,
            country: self.country.clone(),
            sme_category: assessment.sme_category,
            start_up: assessment.start_up,
            small_mid_cap: assessment.small_mid_cap,
        })))
    }
}

impl NewRecord for New<proto::Person> {
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
        .bind(self.create_time.as_ref().map_or(0, micros_from_timestamp))
        .bind(&self.nationality)
        .execute(&mut **transaction)
        .await?;
        Ok(None)
    }
}

impl NewRecord for New<proto::UserGroup> {
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
        .bind(self.create_time.as_ref().map_or(0, micros_from_timestamp))
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

/// Refuses the write when a referenced row does not exist, and locks it while the transaction runs.
async fn require_row(
    transaction: &mut WriteTx,
    table: &'static str,
    entity: &'static str,
    id: &str,
    lock: &str,
) -> IntakeResult<()> {
    let found = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **transaction)
    .await?;
    found.map(|_| ()).ok_or_else(|| IntakeError::not_found(entity, id))
}

fn person_from_row(row: &AnyRow) -> IntakeResult<proto::Person> {
    let override_country: String = row.try_get(3)?;
    let employer_country: String = row.try_get(6)?;
    Ok(proto::Person {
        id: row.try_get(0)?,
        full_name: row.try_get(1)?,
        organisation_id: row.try_get(2)?,
        work_country: if override_country.is_empty() {
            employer_country
        } else {
            override_country.clone()
        },
        work_country_override: override_country,
        work_country_evidence: row.try_get(4)?,
        nationality: row.try_get(7)?,
        create_time: Some(timestamp_from_micros(row.try_get(5)?)),
    })
}

/// Reads a stored enum by its proto name.
fn stored_enum<E: Into<i32>>(row: &AnyRow, column: usize, parse: fn(&str) -> Option<E>) -> IntakeResult<i32> {
    let text: String = row.try_get(column)?;
    parse(&text)
        .map(Into::into)
        .ok_or_else(|| IntakeError::Corrupt(format!("unknown stored value {text:?}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("proto messages serialise to JSON")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> IntakeResult<T> {
    serde_json::from_str(text).map_err(|error| IntakeError::Corrupt(error.to_string()))
}

pub(crate) fn now() -> i64 {
    now_micros()
}

/// SHA-256 of a file, hex, as kept for audit.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}
