//! Builds and runs the allocation service: [`App::build`] checks configuration, opens the store
//! and binds; [`App::run_until`] serves, follows intake's events (proposals arrive by themselves)
//! and sweeps expired holds until the shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::auth::ServiceCall;
use rti_platform::db::Migrations;
use rti_platform::lease::run_in_one_process;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::allocation::allocation_service_server::AllocationServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use crate::config::{Options, Upstreams};
use crate::grpc::AllocationApi;
use crate::grpc::authz::AUTHZ;
use crate::peers::Peers;
use crate::service::AllocationService;
use crate::store::AllocationStore;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "allocation",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

#[derive(Debug)]
pub struct App {
    host: Host,
    service: AllocationService,
    options: Options,
}

impl App {
    pub async fn build(config: ServiceConfig, upstreams: Upstreams) -> Result<Self, StartError> {
        Self::build_with(config, upstreams, Options::default()).await
    }

    pub async fn build_with(config: ServiceConfig, upstreams: Upstreams, options: Options) -> Result<Self, StartError> {
        let credentials = ServiceCall::from_config(&config.auth, "allocation").map_err(StartError::Config)?;
        let upstream_limits = config.limits.upstream.clone();
        let host = Host::build(SPEC, config).await?;
        let store = AllocationStore::new(host.database().clone(), host.outbox().clone());
        let peers = Peers::connect_lazy(&upstreams, credentials, &upstream_limits);
        let service = AllocationService::new(store, peers, options.clone());
        Ok(Self { host, service, options })
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
        background.push(tokio::spawn(crate::sweeper::run(
            self.service.clone(),
            self.options.sweep_interval,
            shutdown.clone(),
        )));
        if self.options.follow_intake {
            // One replica at a time follows intake's stream (the others stand by to take over).
            let service = self.service.clone();
            background.push(tokio::spawn(run_in_one_process(
                self.host.database().clone(),
                "allocation:follow:intake".into(),
                shutdown.clone(),
                move |stop| crate::feed::run(service.clone(), stop),
            )));
        }
        let api = AllocationApi::new(self.service, self.host.outbox().clone(), self.host.stopping());
        let server = AllocationServiceServer::new(api).max_decoding_message_size(self.host.max_decoding_message_size());
        let served = self.host.serve(Routes::new(server), shutdown).await;
        for task in background {
            task.abort();
        }
        served
    }
}
