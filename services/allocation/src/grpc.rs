//! The `AllocationService` handlers and its RPC × role table.

pub mod authz;

use rti_platform::events::{EventStream, Outbox};
use rti_proto::allocation::allocation_service_server::AllocationService;
use rti_proto::common::SubscribeRequest;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

#[derive(Debug, Clone)]
pub struct AllocationApi {
    outbox: Outbox,
    stopping: CancellationToken,
}

impl AllocationApi {
    pub fn new(outbox: Outbox, stopping: CancellationToken) -> Self {
        Self { outbox, stopping }
    }
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
