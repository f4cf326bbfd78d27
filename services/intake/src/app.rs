//! Builds and runs the intake service: [`App::build`] checks configuration, opens the store,
//! stores the shipped agreement templates and binds; [`App::run_until`] serves until the
//! shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::db::Migrations;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::intake::intake_service_server::IntakeServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::catalogue::Catalogue;
use crate::grpc::IntakeApi;
use crate::grpc::authz::AUTHZ;
use crate::service::{IntakeService, Rules};
use crate::store::IntakeStore;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "intake",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

/// How intake runs beyond its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Re-screen open requests after a sanctions list import in the background (SEC-3). Off
    /// only in tests that leave a run unfinished to see a restart resume it.
    pub rescreen_in_background: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rescreen_in_background: true,
        }
    }
}

#[derive(Debug)]
pub struct App {
    host: Host,
    api: IntakeApi,
    service: IntakeService,
    options: Options,
}

impl App {
    /// `registry` is where intake checks requested installations (`http://host:port`).
    pub async fn build(config: ServiceConfig, registry: http::Uri) -> Result<Self, StartError> {
        Self::build_with(config, registry, Options::default()).await
    }

    pub async fn build_with(config: ServiceConfig, registry: http::Uri, options: Options) -> Result<Self, StartError> {
        let registry = config.limits.upstream.channel(registry);
        let host = Host::build(SPEC, config).await?;
        let store = IntakeStore::new(host.database().clone(), host.outbox().clone());
        store
            .seed_agreement_templates(&crate::agreements::shipped())
            .await
            .map_err(|error| StartError::Service(Box::new(error)))?;
        let service = IntakeService::new(store, Catalogue::new(registry), Rules::default());
        let api = IntakeApi::new(service.clone(), host.outbox().clone(), host.stopping());
        Ok(Self {
            host,
            api,
            service,
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
        // 64 MiB for `ImportSanctionsList` alone; the host's limit layer holds every other call to
        // its own limit (`rti_platform::limits`).
        let server =
            IntakeServiceServer::new(self.api).max_decoding_message_size(self.host.max_decoding_message_size());
        let worker_stop = shutdown.child_token();
        let worker = self
            .options
            .rescreen_in_background
            .then(|| tokio::spawn(crate::rescreener::run(self.service, worker_stop.clone())));
        let served = self.host.serve(Routes::new(server), shutdown).await;
        worker_stop.cancel();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}
