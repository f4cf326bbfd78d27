//! Builds and runs the allocation service: [`App::build`] checks configuration, opens the store and
//! binds; [`App::run_until`] serves until the shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::db::Migrations;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::allocation::allocation_service_server::AllocationServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::grpc::AllocationApi;
use crate::grpc::authz::AUTHZ;

/// Only the platform's tables (outbox, idempotency keys) so far.
static MIGRATIONS: Migrations = Migrations::NONE;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "allocation",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

#[derive(Debug)]
pub struct App {
    host: Host,
    api: AllocationApi,
}

impl App {
    pub async fn build(config: ServiceConfig) -> Result<Self, StartError> {
        let host = Host::build(SPEC, config).await?;
        let api = AllocationApi::new(host.outbox().clone(), host.stopping());
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
            .serve(Routes::new(AllocationServiceServer::new(self.api)), shutdown)
            .await
    }
}
