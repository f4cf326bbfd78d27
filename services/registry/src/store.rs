//! The registry's store: SQL for the catalogue on SQLite and PostgreSQL, sqlx errors translated
//! into [`RegistryError`], and every change written with its event in one transaction.

mod rows;

/// SQL assembled from this module's constant fragments only, never from input.
macro_rules! sql {
    ($($fragment:tt)*) => {
        sqlx::AssertSqlSafe(format!($($fragment)*))
    };
}

use rti_platform::db::{Backend, Database, DbFailure, WriteTx, classify};
use rti_platform::events::Outbox;
use rti_platform::idempotency::{self, Lookup};
use rti_platform::pagination::PageRequest;
use rti_platform::time::now_micros;
use rti_proto::common::event::Payload;

use crate::convert;
use crate::domain::{
    Infrastructure, InfrastructureFields, Installation, InstallationFields, InstallationStatus, Provider,
    ProviderFields, RegistryError, RegistryResult,
};
use rows::{InfrastructureRow, InstallationRow, ProviderRow};

/// An idempotency key of a create call, scoped to the RPC and the caller.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: String,
    pub request_id: String,
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub struct RegistryStore {
    database: Database,
    outbox: Outbox,
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        match classify(&error) {
            DbFailure::Contention => RegistryError::Contention,
            DbFailure::Unavailable => RegistryError::Unavailable(error),
            _ => RegistryError::Store(error),
        }
    }
}

impl RegistryStore {
    pub fn new(database: Database, outbox: Outbox) -> Self {
        Self { database, outbox }
    }

    /// `FOR UPDATE` where the backend has it; SQLite's single writer already serialises.
    fn lock_clause(&self) -> &'static str {
        match self.database.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Creates what `build` makes, at most once per idempotency key: with a key already used
    /// for the same request, the first call's id comes back to be read instead; with a key used
    /// for another request, the call is refused. The parent, when given, must exist. Two
    /// concurrent first calls race on the key's primary key; the loser rolls back and, on its
    /// second pass, replays the winner's result.
    async fn create_once<T: NewRecord>(
        &self,
        key: Option<&IdempotencyKey>,
        parent: Option<Parent<'_>>,
        build: impl Fn() -> T + Send,
    ) -> RegistryResult<Created<T>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut transaction = self.database.begin_write().await?;
            if let Some(key) = key {
                match idempotency::lookup(&mut transaction, &key.scope, &key.request_id, &key.request_hash).await? {
                    Lookup::New => {}
                    Lookup::Replay { resource_id } => {
                        transaction.rollback().await?;
                        return Ok(Created::Replay(resource_id));
                    }
                    Lookup::Mismatch => {
                        return Err(RegistryError::IdempotencyMismatch {
                            request_id: key.request_id.clone(),
                        });
                    }
                }
            }
            if let Some(parent) = &parent {
                require_exists(&mut transaction, parent).await?;
            }
            let record = build();
            record.insert(&mut transaction).await?;
            match self.finish_create(transaction, key, &record).await {
                Ok(()) => return Ok(Created::New(record)),
                Err(error) if attempt == 1 && key.is_some() && classify(&error) == DbFailure::UniqueViolation => {}
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Records the key, appends the created event (last, see `Outbox::append`) and commits.
    async fn finish_create(
        &self,
        mut transaction: WriteTx,
        key: Option<&IdempotencyKey>,
        record: &impl NewRecord,
    ) -> Result<(), sqlx::Error> {
        if let Some(key) = key {
            idempotency::record(
                &mut transaction,
                &key.scope,
                &key.request_id,
                &key.request_hash,
                record.id(),
            )
            .await?;
        }
        self.outbox
            .append(&mut transaction, record.id(), record.created_event())
            .await?;
        self.outbox.commit(transaction).await
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
        match self.create_once(key, None, build).await? {
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
        let row: Option<ProviderRow> =
            sqlx::query_as(sql!("{} WHERE id = $1{}", ProviderRow::SELECT, self.lock_clause()))
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
        let parent = Parent {
            table: "providers",
            entity: "provider",
            id: provider_id,
        };
        match self.create_once(key, Some(parent), build).await? {
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
            self.lock_clause()
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
             countries = $7, website = $8, updated_at = $9 WHERE id = $1",
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
        let parent = Parent {
            table: "infrastructures",
            entity: "infrastructure",
            id: infrastructure_id,
        };
        match self.create_once(key, Some(parent), build).await? {
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

    /// A page of installations, of one infrastructure when `infrastructure_id` is not empty.
    pub async fn list_installations(
        &self,
        infrastructure_id: &str,
        page: &PageRequest,
    ) -> RegistryResult<(Vec<Installation>, String)> {
        let rows: Vec<InstallationRow> = sqlx::query_as(sql!(
            "{} WHERE ($1 = '' OR infrastructure_id = $1) AND id > $2 ORDER BY id LIMIT $3",
            InstallationRow::SELECT
        ))
        .bind(infrastructure_id)
        .bind(page.after_id.as_deref().unwrap_or(""))
        .bind(page.fetch_limit())
        .fetch_all(self.database.readers())
        .await?;
        let mut installations = rows
            .into_iter()
            .map(Installation::try_from)
            .collect::<RegistryResult<Vec<_>>>()?;
        let next = page.finish(&mut installations, |installation| &installation.id);
        Ok((installations, next))
    }

    pub async fn update_installation(
        &self,
        id: &str,
        update_mask: &[String],
        update: impl FnOnce(&mut InstallationFields) -> RegistryResult<()>,
    ) -> RegistryResult<Installation> {
        let mut transaction = self.database.begin_write().await?;
        let row: Option<InstallationRow> =
            sqlx::query_as(sql!("{} WHERE id = $1{}", InstallationRow::SELECT, self.lock_clause()))
                .bind(id)
                .fetch_optional(&mut *transaction)
                .await?;
        let mut installation = row
            .map(Installation::try_from)
            .transpose()?
            .ok_or_else(|| not_found("installation", id))?;
        update(&mut installation.fields)?;
        installation.updated_at = now_micros();
        let row = InstallationRow::from(&installation);
        sqlx::query(
            "UPDATE installations SET name = $2, description = $3, countries = $4, access_types = $5, updated_at = $6 \
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.description)
        .bind(&row.countries)
        .bind(&row.access_types)
        .bind(row.updated_at)
        .execute(&mut *transaction)
        .await?;
        let payload = convert::installation_updated(&installation, update_mask);
        self.outbox.append(&mut transaction, &installation.id, payload).await?;
        self.outbox.commit(transaction).await?;
        Ok(installation)
    }
}

/// The outcome of a create call.
enum Created<T> {
    New(T),
    /// The id of what the first call with this idempotency key created.
    Replay(String),
}

/// A parent row a new record refers to.
struct Parent<'a> {
    table: &'static str,
    entity: &'static str,
    id: &'a str,
}

/// A new catalogue record: its id, how it is inserted, and the event that announces it.
trait NewRecord: Send + Sync {
    fn id(&self) -> &str;
    fn insert<'a>(&'a self, transaction: &'a mut WriteTx) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a;
    fn created_event(&self) -> Payload;
}

impl NewRecord for Provider {
    fn id(&self) -> &str {
        &self.id
    }

    fn insert<'a>(&'a self, transaction: &'a mut WriteTx) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a {
        insert_provider(transaction, self)
    }

    fn created_event(&self) -> Payload {
        convert::provider_created(self)
    }
}

impl NewRecord for Infrastructure {
    fn id(&self) -> &str {
        &self.id
    }

    fn insert<'a>(&'a self, transaction: &'a mut WriteTx) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a {
        insert_infrastructure(transaction, self)
    }

    fn created_event(&self) -> Payload {
        convert::infrastructure_created(self)
    }
}

impl NewRecord for Installation {
    fn id(&self) -> &str {
        &self.id
    }

    fn insert<'a>(&'a self, transaction: &'a mut WriteTx) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a {
        insert_installation(transaction, self)
    }

    fn created_event(&self) -> Payload {
        convert::installation_created(self)
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
         website, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_installation(transaction: &mut WriteTx, installation: &Installation) -> Result<(), sqlx::Error> {
    let row = InstallationRow::from(installation);
    sqlx::query(
        "INSERT INTO installations (id, infrastructure_id, name, description, countries, access_types, status, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&row.id)
    .bind(&row.infrastructure_id)
    .bind(&row.name)
    .bind(&row.description)
    .bind(&row.countries)
    .bind(&row.access_types)
    .bind(&row.status)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

fn not_found(entity: &'static str, id: &str) -> RegistryError {
    RegistryError::NotFound {
        entity,
        id: id.to_owned(),
    }
}

/// Checks a parent row exists inside the write transaction, so the insert cannot race a delete
/// and the caller gets NOT_FOUND naming the parent rather than a foreign-key failure.
async fn require_exists(transaction: &mut WriteTx, parent: &Parent<'_>) -> RegistryResult<()> {
    let found = sqlx::query(sql!("SELECT 1 FROM {} WHERE id = $1", parent.table))
        .bind(parent.id)
        .fetch_optional(&mut **transaction)
        .await?;
    found.map(|_| ()).ok_or_else(|| not_found(parent.entity, parent.id))
}
