//! Builds and runs the registry: [`App::build`] checks configuration, opens the store and binds;
//! [`App::run_until`] serves until the shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::db::Migrations;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::registry::registry_service_server::RegistryServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::grpc::RegistryApi;
use crate::grpc::authz::AUTHZ;
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
}

impl App {
    pub async fn build(config: ServiceConfig) -> Result<Self, StartError> {
        let host = Host::build(SPEC, config).await?;
        let store = RegistryStore::new(host.database().clone(), host.outbox().clone());
        let api = RegistryApi::new(store, host.outbox().clone(), host.stopping());
        Ok(Self { host, api })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.host.local_addr()
    }

    pub fn in_flight(&self) -> InFlight {
        self.host.in_flight()
    }

    pub async fn run_until(self, shutdown: CancellationToken) -> Result<(), StartError> {
        self.host
            .serve(Routes::new(RegistryServiceServer::new(self.api)), shutdown)
            .await
    }
}
