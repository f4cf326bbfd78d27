//! Builds and runs the reporting service: [`App::build`] checks configuration, opens the store,
//! loads the shipped researcher counts on first start, and binds; [`App::run_until`] loads the
//! usage facts, serves, and follows the registry's, intake's and allocation's event streams until the shutdown token
//! fires, then drains.

use std::net::SocketAddr;

use rti_platform::auth::ServiceCall;
use rti_platform::db::Migrations;
use rti_platform::lease::run_in_one_process;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::reporting::reporting_service_server::ReportingServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use crate::config::{Options, Upstreams};
use crate::grpc::ReportingApi;
use crate::grpc::authz::AUTHZ;
use crate::peers::{Peers, Source};
use crate::service::ReportingService;
use crate::store::ReportingStore;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "reporting",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

#[derive(Debug)]
pub struct App {
    host: Host,
    service: ReportingService,
    peers: Peers,
    options: Options,
}

impl App {
    pub async fn build(config: ServiceConfig, upstreams: Upstreams) -> Result<Self, StartError> {
        Self::build_with(config, upstreams, Options::default()).await
    }

    pub async fn build_with(config: ServiceConfig, upstreams: Upstreams, options: Options) -> Result<Self, StartError> {
        options.disclosure.validate().map_err(StartError::Config)?;
        let credentials = ServiceCall::from_config(&config.auth, "reporting").map_err(StartError::Config)?;
        let upstream_limits = config.limits.upstream.clone();
        let host = Host::build(SPEC, config).await?;
        let store = ReportingStore::open(host.database().clone(), options.key_secret())
            .await
            .map_err(|error| StartError::Service(Box::new(error)))?;
        let service = ReportingService::new(store, options.disclosure.clone());
        service
            .load_shipped_researcher_counts()
            .await
            .map_err(|error| StartError::Service(Box::new(error)))?;
        let peers = Peers::connect_lazy(&upstreams, credentials, &upstream_limits);
        Ok(Self {
            host,
            service,
            peers,
            options,
        })
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
        let mut background = Vec::new();
        if self.options.follow {
            // One replica at a time follows each stream (the others stand by to take over).
            for source in Source::ALL {
                let (store, peers) = (self.service.store().clone(), self.peers.clone());
                background.push(tokio::spawn(run_in_one_process(
                    self.host.database().clone(),
                    format!("reporting:follow:{}", source.name()),
                    shutdown.clone(),
                    move |stop| crate::feeds::run(store.clone(), peers.clone(), source, stop),
                )));
            }
        }
        // The usage facts load while the service starts serving; the first query waits for them.
        let store = self.service.store().clone();
        background.push(tokio::spawn(async move {
            if let Err(error) = store.load_usage_facts().await {
                tracing::warn!(%error, "usage facts not loaded at start; the first query loads them");
            }
        }));
        let api = ReportingApi::new(self.service, self.host.outbox().clone(), self.host.stopping());
        let server = ReportingServiceServer::new(api).max_decoding_message_size(self.host.max_decoding_message_size());
        let served = self.host.serve(Routes::new(server), shutdown).await;
        for task in background {
            task.abort();
        }
        served
    }
}
