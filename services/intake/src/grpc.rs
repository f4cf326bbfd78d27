//! The `IntakeService` handlers and its RPC × role table.

pub mod authz;

use rti_platform::events::{EventStream, Outbox};
use rti_proto::common::SubscribeRequest;
use rti_proto::intake::intake_service_server::IntakeService;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

#[derive(Debug, Clone)]
pub struct IntakeApi {
    outbox: Outbox,
    stopping: CancellationToken,
}

impl IntakeApi {
    pub fn new(outbox: Outbox, stopping: CancellationToken) -> Self {
        Self { outbox, stopping }
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
