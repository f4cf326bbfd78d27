//! Builds and runs the reporting service: [`App::build`] checks configuration, opens the store and
//! binds; [`App::run_until`] serves until the shutdown token fires, then drains.

use std::net::SocketAddr;

use rti_platform::db::Migrations;
use rti_platform::server::{Host, InFlight, ServiceConfig, ServiceSpec, StartError};
use rti_proto::reporting::reporting_service_server::ReportingServiceServer;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::grpc::ReportingApi;
use crate::grpc::authz::AUTHZ;

/// Only the platform's tables (outbox, idempotency keys) so far.
static MIGRATIONS: Migrations = Migrations::NONE;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "reporting",
    authz: &AUTHZ,
    migrations: &MIGRATIONS,
};

#[derive(Debug)]
pub struct App {
    host: Host,
    api: ReportingApi,
}

impl App {
    pub async fn build(config: ServiceConfig) -> Result<Self, StartError> {
        let host = Host::build(SPEC, config).await?;
        let api = ReportingApi::new(host.outbox().clone(), host.stopping());
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
            .serve(Routes::new(ReportingServiceServer::new(self.api)), shutdown)
            .await
    }
}
