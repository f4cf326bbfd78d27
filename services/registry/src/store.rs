//! The registry's store: SQL for the catalogue on SQLite and PostgreSQL, sqlx errors translated
//! into [`RegistryError`], and every change written with its event in one transaction.

/// SQL assembled from this module's constant fragments only, never from input.
macro_rules! sql {
    ($($fragment:tt)*) => {
        sqlx::AssertSqlSafe(format!($($fragment)*))
    };
}

mod calendar;
mod embeddings;
mod rows;
mod search;

use rti_platform::db::{Database, WriteTx};
use rti_platform::events::Outbox;
use rti_platform::pagination::PageRequest;
use rti_platform::store::{Created, IdempotencyKey, NewRecord, create_once};
use rti_platform::time::now_micros;
use rti_proto::common::event::Payload;

use crate::convert;
use crate::domain::{
    Infrastructure, InfrastructureFields, Installation, InstallationFields, InstallationStatus, Provider,
    ProviderFields, RegistryError, RegistryResult,
};
use rows::{InfrastructureRow, InstallationRow, ProviderRow};

pub use calendar::Calendar;
pub use embeddings::StoredEmbedding;
pub use search::SearchSource;

#[derive(Debug, Clone)]
pub struct RegistryStore {
    database: Database,
    outbox: Outbox,
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        RegistryError::Store(error.into())
    }
}

impl RegistryStore {
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    /// Writes what `build` makes at most once per idempotency key (see [`create_once`]).
    async fn create_once<T: NewRecord<Error = RegistryError>>(
        &self,
        key: Option<&IdempotencyKey>,
        build: impl Fn() -> T + Send,
    ) -> RegistryResult<Created<T>> {
        create_once(&self.database, &self.outbox, key, build).await
    }

    pub async fn create_provider(
        &self,
        fields: ProviderFields,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<Provider> {
        let build = || {
            let now = now_micros();
            Provider {
                id: rti_platform::ids::new_id(),
                fields: fields.clone(),
                created_at: now,
                updated_at: now,
            }
        };
        match self.create_once(key, build).await? {
            Created::New(provider) => Ok(provider),
            Created::Replay(id) => self.get_provider(&id).await,
        }
    }

    pub async fn get_provider(&self, id: &str) -> RegistryResult<Provider> {
        let row: Option<ProviderRow> = sqlx::query_as(sql!("{} WHERE id = $1", ProviderRow::SELECT))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(Provider::from).ok_or_else(|| not_found("provider", id))
    }

    pub async fn list_providers(&self, page: &PageRequest) -> RegistryResult<(Vec<Provider>, String)> {
        let rows: Vec<ProviderRow> = sqlx::query_as(sql!("{} WHERE id > $1 ORDER BY id LIMIT $2", ProviderRow::SELECT))
            .bind(page.after_id.as_deref().unwrap_or(""))
            .bind(page.fetch_limit())
            .fetch_all(self.database.readers())
            .await?;
        let mut providers: Vec<Provider> = rows.into_iter().map(Provider::from).collect();
        let next = page.finish(&mut providers, |provider| &provider.id);
        Ok((providers, next))
    }

    /// Applies `update` to the stored provider under a row lock and records the event.
    pub async fn update_provider(
        &self,
        id: &str,
        update_mask: &[String],
        update: impl FnOnce(&mut ProviderFields) -> RegistryResult<()>,
    ) -> RegistryResult<Provider> {
        let mut transaction = self.database.begin_write().await?;
        let row: Option<ProviderRow> = sqlx::query_as(sql!(
            "{} WHERE id = $1{}",
            ProviderRow::SELECT,
            self.database.lock_clause()
        ))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?;
        let mut provider = row.map(Provider::from).ok_or_else(|| not_found("provider", id))?;
        update(&mut provider.fields)?;
        provider.updated_at = now_micros();
        sqlx::query("UPDATE providers SET name = $2, country = $3, website = $4, updated_at = $5 WHERE id = $1")
            .bind(&provider.id)
            .bind(&provider.fields.name)
            .bind(&provider.fields.country)
            .bind(&provider.fields.website)
            .bind(provider.updated_at)
            .execute(&mut *transaction)
            .await?;
        let payload = convert::provider_updated(&provider, update_mask);
        self.outbox.append(&mut transaction, &provider.id, payload).await?;
        self.outbox.commit(transaction).await?;
        Ok(provider)
    }

    pub async fn create_infrastructure(
        &self,
        provider_id: &str,
        fields: InfrastructureFields,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<Infrastructure> {
        let build = || {
            let now = now_micros();
            Infrastructure {
                id: rti_platform::ids::new_id(),
                provider_id: provider_id.to_owned(),
                fields: fields.clone(),
                created_at: now,
                updated_at: now,
            }
        };
        match self.create_once(key, build).await? {
            Created::New(infrastructure) => Ok(infrastructure),
            Created::Replay(id) => self.get_infrastructure(&id).await,
        }
    }

    pub async fn get_infrastructure(&self, id: &str) -> RegistryResult<Infrastructure> {
        let row: Option<InfrastructureRow> = sqlx::query_as(sql!("{} WHERE id = $1", InfrastructureRow::SELECT))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(Infrastructure::try_from)
            .transpose()?
            .ok_or_else(|| not_found("infrastructure", id))
    }

    /// A page of infrastructures, of one provider when `provider_id` is not empty.
    pub async fn list_infrastructures(
        &self,
        provider_id: &str,
        page: &PageRequest,
    ) -> RegistryResult<(Vec<Infrastructure>, String)> {
        let rows: Vec<InfrastructureRow> = sqlx::query_as(sql!(
            "{} WHERE ($1 = '' OR provider_id = $1) AND id > $2 ORDER BY id LIMIT $3",
            InfrastructureRow::SELECT
        ))
        .bind(provider_id)
        .bind(page.after_id.as_deref().unwrap_or(""))
        .bind(page.fetch_limit())
        .fetch_all(self.database.readers())
        .await?;
        let mut infrastructures = rows
            .into_iter()
            .map(Infrastructure::try_from)
            .collect::<RegistryResult<Vec<_>>>()?;
        let next = page.finish(&mut infrastructures, |infrastructure| &infrastructure.id);
        Ok((infrastructures, next))
    }

    pub async fn update_infrastructure(
        &self,
        id: &str,
        update_mask: &[String],
        update: impl FnOnce(&mut InfrastructureFields) -> RegistryResult<()>,
    ) -> RegistryResult<Infrastructure> {
        let mut transaction = self.database.begin_write().await?;
        let row: Option<InfrastructureRow> = sqlx::query_as(sql!(
            "{} WHERE id = $1{}",
            InfrastructureRow::SELECT,
            self.database.lock_clause()
        ))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?;
        let mut infrastructure = row
            .map(Infrastructure::try_from)
            .transpose()?
            .ok_or_else(|| not_found("infrastructure", id))?;
        update(&mut infrastructure.fields)?;
        infrastructure.updated_at = now_micros();
        let row = InfrastructureRow::from(&infrastructure);
        sqlx::query(
            "UPDATE infrastructures SET name = $2, acronym = $3, description = $4, kind = $5, structure = $6, \
             countries = $7, website = $8, updated_at = $9, esfri_status = $10, legal_form = $11, \
             access_policy_uri = $12 WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.acronym)
        .bind(&row.description)
        .bind(&row.kind)
        .bind(&row.structure)
        .bind(&row.countries)
        .bind(&row.website)
        .bind(row.updated_at)
        .bind(&row.esfri_status)
        .bind(&row.legal_form)
        .bind(&row.access_policy_uri)
        .execute(&mut *transaction)
        .await?;
        let payload = convert::infrastructure_updated(&infrastructure, update_mask);
        self.outbox
            .append(&mut transaction, &infrastructure.id, payload)
            .await?;
        self.outbox.commit(transaction).await?;
        Ok(infrastructure)
    }

    pub async fn create_installation(
        &self,
        infrastructure_id: &str,
        fields: InstallationFields,
        key: Option<&IdempotencyKey>,
    ) -> RegistryResult<Installation> {
        let build = || {
            let now = now_micros();
            Installation {
                id: rti_platform::ids::new_id(),
                infrastructure_id: infrastructure_id.to_owned(),
                fields: fields.clone(),
                status: InstallationStatus::Draft,
                created_at: now,
                updated_at: now,
            }
        };
        match self.create_once(key, build).await? {
            Created::New(installation) => Ok(installation),
            Created::Replay(id) => self.get_installation(&id).await,
        }
    }

    pub async fn get_installation(&self, id: &str) -> RegistryResult<Installation> {
        let row: Option<InstallationRow> = sqlx::query_as(sql!("{} WHERE id = $1", InstallationRow::SELECT))
            .bind(id)
            .fetch_optional(self.database.readers())
            .await?;
        row.map(Installation::try_from)
            .transpose()?
            .ok_or_else(|| not_found("installation", id))
    }

    /// A page of installations, of one infrastructure when `infrastructure_id` is not empty;
    /// drafts only `with_drafts`.
    pub async fn list_installations(
        &self,
        infrastructure_id: &str,
        with_drafts: bool,
        page: &PageRequest,
    ) -> RegistryResult<(Vec<Installation>, String)> {
        let rows: Vec<InstallationRow> = sqlx::query_as(sql!(
            "{} WHERE ($1 = '' OR infrastructure_id = $1) AND ($4 = 1 OR status <> 'draft') AND id > $2 \
             ORDER BY id LIMIT $3",
            InstallationRow::SELECT
        ))
        .bind(infrastructure_id)
        .bind(page.after_id.as_deref().unwrap_or(""))
        .bind(page.fetch_limit())
        .bind(i32::from(with_drafts))
        .fetch_all(self.database.readers())
        .await?;
        let mut installations = rows
            .into_iter()
            .map(Installation::try_from)
            .collect::<RegistryResult<Vec<_>>>()?;
        let next = page.finish(&mut installations, |installation| &installation.id);
        Ok((installations, next))
    }

    /// Applies `update` to the stored installation under a row lock, and records `event` of
    /// the result. `update` sees whether a current or future tariff exists, for completeness.
    pub async fn update_installation(
        &self,
        id: &str,
        update: impl FnOnce(&mut Installation, bool) -> RegistryResult<()>,
        event: impl FnOnce(&Installation) -> Payload,
    ) -> RegistryResult<Installation> {
        let mut transaction = self.database.begin_write().await?;
        let row: Option<InstallationRow> = sqlx::query_as(sql!(
            "{} WHERE id = $1{}",
            InstallationRow::SELECT,
            self.database.lock_clause()
        ))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?;
        let mut installation = row
            .map(Installation::try_from)
            .transpose()?
            .ok_or_else(|| not_found("installation", id))?;
        let has_tariff = has_current_tariff(&mut transaction, id).await?;
        let before = installation.clone();
        update(&mut installation, has_tariff)?;
        if installation == before {
            // Nothing changed (e.g. publishing a published installation): no write, no event.
            transaction.rollback().await?;
            return Ok(installation);
        }
        installation.updated_at = now_micros();
        let row = InstallationRow::from(&installation);
        let query = sql!(
            "UPDATE installations SET ({}) = ({}) WHERE id = $1",
            InstallationRow::COLUMNS,
            (1..=20).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ")
        );
        bind_installation(sqlx::query(query), &row)
            .execute(&mut *transaction)
            .await?;
        self.outbox
            .append(&mut transaction, &installation.id, event(&installation))
            .await?;
        self.outbox.commit(transaction).await?;
        Ok(installation)
    }
}

/// Whether the installation has a tariff valid now or later.
async fn has_current_tariff(transaction: &mut WriteTx, installation_id: &str) -> Result<bool, sqlx::Error> {
    let found = sqlx::query("SELECT 1 FROM tariffs WHERE installation_id = $1 AND (valid_to IS NULL OR valid_to > $2)")
        .bind(installation_id)
        .bind(now_micros())
        .fetch_optional(&mut **transaction)
        .await?;
    Ok(found.is_some())
}

impl NewRecord for Provider {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, _lock: &'static str) -> RegistryResult<Option<Payload>> {
        insert_provider(transaction, self).await?;
        Ok(Some(convert::provider_created(self)))
    }
}

impl NewRecord for Infrastructure {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> RegistryResult<Option<Payload>> {
        require_exists(transaction, "providers", "provider", &self.provider_id, lock).await?;
        insert_infrastructure(transaction, self).await?;
        Ok(Some(convert::infrastructure_created(self)))
    }
}

impl NewRecord for Installation {
    type Error = RegistryError;

    fn id(&self) -> &str {
        &self.id
    }

    async fn insert(&mut self, transaction: &mut WriteTx, lock: &'static str) -> RegistryResult<Option<Payload>> {
        require_exists(
            transaction,
            "infrastructures",
            "infrastructure",
            &self.infrastructure_id,
            lock,
        )
        .await?;
        insert_installation(transaction, self).await?;
        Ok(Some(convert::installation_created(self)))
    }
}

async fn insert_provider(transaction: &mut WriteTx, provider: &Provider) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO providers (id, name, country, website, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&provider.id)
    .bind(&provider.fields.name)
    .bind(&provider.fields.country)
    .bind(&provider.fields.website)
    .bind(provider.created_at)
    .bind(provider.updated_at)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_infrastructure(transaction: &mut WriteTx, infrastructure: &Infrastructure) -> Result<(), sqlx::Error> {
    let row = InfrastructureRow::from(infrastructure);
    sqlx::query(
        "INSERT INTO infrastructures (id, provider_id, name, acronym, description, kind, structure, countries, \
         website, created_at, updated_at, esfri_status, legal_form, access_policy_uri) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&row.id)
    .bind(&row.provider_id)
    .bind(&row.name)
    .bind(&row.acronym)
    .bind(&row.description)
    .bind(&row.kind)
    .bind(&row.structure)
    .bind(&row.countries)
    .bind(&row.website)
    .bind(row.created_at)
    .bind(row.updated_at)
    .bind(&row.esfri_status)
    .bind(&row.legal_form)
    .bind(&row.access_policy_uri)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_installation(transaction: &mut WriteTx, installation: &Installation) -> Result<(), sqlx::Error> {
    let row = InstallationRow::from(installation);
    let query = sql!(
        "INSERT INTO installations ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20)",
        InstallationRow::COLUMNS
    );
    bind_installation(sqlx::query(query), &row)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Binds every column of [`InstallationRow::COLUMNS`], in its order.
fn bind_installation<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    row: &'q InstallationRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&row.id)
        .bind(&row.infrastructure_id)
        .bind(&row.name)
        .bind(&row.countries)
        .bind(&row.access_types)
        .bind(&row.status)
        .bind(&row.access_modes)
        .bind(&row.unit_kind)
        .bind(&row.unit_description)
        .bind(row.annual_capacity_units)
        .bind(row.trl_min)
        .bind(row.trl_max)
        .bind(row.typical_lead_time_days)
        .bind(&row.scientific_domains)
        .bind(&row.techniques)
        .bind(&row.critical_technology_areas)
        .bind(&row.dual_use_categories)
        .bind(&row.descriptions)
        .bind(row.created_at)
        .bind(row.updated_at)
}

fn not_found(entity: &'static str, id: &str) -> RegistryError {
    RegistryError::NotFound {
        entity,
        id: id.to_owned(),
    }
}

/// Checks a parent row exists inside the write transaction, locking it where `lock` asks, so
/// the insert cannot race a change of the parent (two windows of one installation are checked
/// for overlap one after the other), and the caller gets NOT_FOUND naming the parent rather
/// than a foreign-key failure.
pub(super) async fn require_exists(
    transaction: &mut WriteTx,
    table: &'static str,
    entity: &'static str,
    id: &str,
    lock: &str,
) -> RegistryResult<()> {
    let found = sqlx::query(sql!("SELECT 1 FROM {table} WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut **transaction)
        .await?;
    found.map(|_| ()).ok_or_else(|| not_found(entity, id))
}
