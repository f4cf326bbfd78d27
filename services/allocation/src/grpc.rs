//! The allocation's gRPC face: the `AllocationService` handlers over the application layer,
//! the RPC × role table, and the conversion of requests into the operations' commands.

pub mod authz;
mod requests;
mod server;
mod validate;

use rti_platform::events::Outbox;
use rti_platform::server::caller;
use tokio_util::sync::CancellationToken;
use tonic::{Response, Status};

use crate::service::AllocationService;

type Reply<T> = Result<Response<T>, Status>;

/// The handlers: each converts its request, calls one operation, converts the answer.
#[derive(Debug, Clone)]
pub struct AllocationApi {
    service: AllocationService,
    outbox: Outbox,
    stopping: CancellationToken,
}

impl AllocationApi {
    pub fn new(service: AllocationService, outbox: Outbox, stopping: CancellationToken) -> Self {
        Self {
            service,
            outbox,
            stopping,
        }
    }
}
