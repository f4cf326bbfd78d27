//! Builds and runs the registry: [`App::build`] checks configuration, opens the store and binds;
//! [`App::run_until`] serves until the shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::db::Migrations;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::registry::registry_service_server::RegistryServiceServer;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::config::Options;
use crate::grpc::RegistryApi;
use crate::grpc::authz::AUTHZ;
use crate::search::Search;
use crate::search::meaning::{Meaning, SEMANTIC_SEARCH_HEALTH};
use crate::store::RegistryStore;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "registry",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

#[derive(Debug)]
pub struct App {
    host: Host,
    api: RegistryApi,
    indexer: JoinHandle<()>,
}

impl App {
    /// [`App::build_with`] default options: search by words only.
    pub async fn build(config: ServiceConfig) -> Result<Self, StartError> {
        Self::build_with(config, Options::default()).await
    }

    /// Also opens the search index: beside a SQLite database file (`registry.db` →
    /// `registry.search-index/`), in memory with PostgreSQL; either way brought up to date
    /// with the store before the port serves. The encoder's model, when configured and
    /// loadable, adds search by meaning; its embeddings are brought up to date in the background.
    pub async fn build_with(config: ServiceConfig, options: Options) -> Result<Self, StartError> {
        let index_dir = config
            .database_url
            .sqlite_path()
            .map(|path| path.with_extension("search-index"));
        let mut host = Host::build(SPEC, config).await?;
        let meaning = Meaning::load(options.encoder_model_dir).await;
        host.report_component(SEMANTIC_SEARCH_HEALTH, meaning.is_some());
        let store = RegistryStore::new(host.database().clone(), host.outbox().clone());
        let (search, indexer) = Search::start(
            store.clone(),
            host.outbox().clone(),
            index_dir,
            meaning,
            host.stopping(),
        )
        .await
        .map_err(|error| StartError::Service(Box::new(error)))?;
        let api = RegistryApi::new(store, host.outbox().clone(), search, host.stopping());
        Ok(Self { host, api, indexer })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.host.local_addr()
    }

    /// Where the service's metrics are served, when `metrics_listen` asked for them.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.host.metrics_addr()
    }

    pub fn in_flight(&self) -> InFlight {
        self.host.in_flight()
    }

    pub async fn run_until(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let server =
            RegistryServiceServer::new(self.api).max_decoding_message_size(self.host.max_decoding_message_size());
        let served = self.host.serve(Routes::new(server), shutdown).await;
        // The indexer stops with the host's `stopping` token; wait so its last commit lands.
        if let Err(error) = self.indexer.await {
            tracing::warn!(%error, "the search indexer ended abnormally");
        }
        served
    }
}
