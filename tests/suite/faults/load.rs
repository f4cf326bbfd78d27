//! A load of `CreateProvider` calls whose clients retry a failed call with its idempotency key
//! until it is acknowledged, as a careful client does, and the count of what the database holds
//! afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::testing::{token, with_token};
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{CreateProviderRequest, Provider};
use sqlx::{Connection, Row};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::Counts;

/// Clients calling at once.
const CLIENTS: usize = 4;
/// One attempt's deadline: long enough for a create on a loaded machine, short enough that a
/// call stuck on a dead replica or an absent database is retried soon.
const ATTEMPT: Duration = Duration::from_secs(3);
/// How long a client keeps retrying one create after the load was told to stop: a liveness
/// bound, far above what a recovery takes.
const GIVE_UP_AFTER_STOP: Duration = Duration::from_secs(20);

/// One create a client saw acknowledged.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub name: String,
    pub id: String,
    /// Acknowledged after the fault began (see [`Load::fault_began`]).
    pub after_fault: bool,
    /// Attempts that failed before the one acknowledged.
    pub retries: usize,
}

/// A running load; [`Load::stop`] ends it once each client's current create is acknowledged.
pub struct Load {
    stop: Arc<AtomicBool>,
    fault: Arc<AtomicBool>,
    clients: JoinSet<Vec<Acknowledged>>,
}

impl Load {
    /// Starts [`CLIENTS`] clients creating providers named `<prefix> <client>-<index>` through
    /// `channel`.
    pub fn start(channel: Channel, prefix: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let fault = Arc::new(AtomicBool::new(false));
        let mut clients = JoinSet::new();
        for client in 0..CLIENTS {
            let registry = RegistryServiceClient::new(channel.clone());
            let (stop, fault) = (stop.clone(), fault.clone());
            clients.spawn(async move { create_until_stopped(registry, prefix, client, stop, fault).await });
        }
        Self { stop, fault, clients }
    }

    /// Marks the moment the fault begins: creates acknowledged later count as after it.
    pub fn fault_began(&self) {
        self.fault.store(true, Ordering::Release);
    }

    /// Stops the clients and returns every create they saw acknowledged.
    pub async fn stop(mut self) -> Vec<Acknowledged> {
        self.stop.store(true, Ordering::Release);
        let mut acknowledged = Vec::new();
        while let Some(finished) = self.clients.join_next().await {
            acknowledged.extend(finished.expect("a load client panicked"));
        }
        acknowledged
    }
}

async fn create_until_stopped(
    mut registry: RegistryServiceClient<Channel>,
    prefix: &str,
    client: usize,
    stop: Arc<AtomicBool>,
    fault: Arc<AtomicBool>,
) -> Vec<Acknowledged> {
    let admin = token(Role::Admin);
    let mut acknowledged = Vec::new();
    for index in 0.. {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let name = format!("{prefix} {client}-{index}");
        let request = CreateProviderRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            provider: Some(Provider {
                name: name.clone(),
                country: "DE".into(),
                ..Provider::default()
            }),
        };
        let mut given_up_at = None;
        let mut retries = 0;
        loop {
            let mut call = with_token(request.clone(), &admin);
            call.set_timeout(ATTEMPT);
            let answered = tokio::time::timeout(ATTEMPT, registry.create_provider(call)).await;
            if let Ok(Ok(answer)) = answered {
                acknowledged.push(Acknowledged {
                    name: name.clone(),
                    id: answer.into_inner().id,
                    after_fault: fault.load(Ordering::Acquire),
                    retries,
                });
                break;
            }
            // The same key again: the create may have been committed before its answer was lost.
            if stop.load(Ordering::Acquire) {
                let since = *given_up_at.get_or_insert_with(tokio::time::Instant::now);
                assert!(
                    since.elapsed() < GIVE_UP_AFTER_STOP,
                    "{name} was not acknowledged within {} s of the load's end: {answered:?}",
                    GIVE_UP_AFTER_STOP.as_secs()
                );
            }
            retries += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    acknowledged
}

/// Counts the providers named `<prefix> …` in the registry's database at `database_url` against
/// what was acknowledged: each acknowledged create must be there once, under the id its client
/// was given, and no create may be there twice.
pub async fn count(database_url: &str, prefix: &str, acknowledged: &[Acknowledged]) -> Counts {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(database_url)
        .await
        .expect("connect to the registry's database");
    let rows = sqlx::query("SELECT name, id FROM providers WHERE name LIKE $1")
        .bind(format!("{prefix} %"))
        .fetch_all(&mut connection)
        .await
        .expect("read the providers");
    let mut stored: HashMap<String, Vec<String>> = HashMap::new();
    for row in &rows {
        let name: String = row.try_get(0).expect("name");
        let id: String = row.try_get(1).expect("id");
        stored.entry(name).or_default().push(id);
    }
    let duplicated = stored.values().map(|ids| ids.len() - 1).sum();
    let found = acknowledged
        .iter()
        .filter(|create| stored.get(&create.name).is_some_and(|ids| ids.contains(&create.id)))
        .count();
    Counts {
        acknowledged: acknowledged.len(),
        found,
        duplicated,
        lost: acknowledged.len() - found,
    }
}

/// Prints what the fault cost the clients (told, not asserted): creates acknowledged after it
/// began, and failed attempts that were retried with their key.
pub fn print_retries(name: &str, acknowledged: &[Acknowledged]) {
    let after_fault = acknowledged.iter().filter(|create| create.after_fault).count();
    let retried: usize = acknowledged.iter().map(|create| create.retries).sum();
    println!("faults/{name}: {after_fault} acknowledged after the fault began, {retried} failed attempts retried");
}
