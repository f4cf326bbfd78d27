//! The `ReportingService` handlers and its RPC × role table.

pub mod authz;

use rti_platform::events::{EventStream, Outbox};
use rti_proto::common::SubscribeRequest;
use rti_proto::reporting::reporting_service_server::ReportingService;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

#[derive(Debug, Clone)]
pub struct ReportingApi {
    outbox: Outbox,
    stopping: CancellationToken,
}

impl ReportingApi {
    pub fn new(outbox: Outbox, stopping: CancellationToken) -> Self {
        Self { outbox, stopping }
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
