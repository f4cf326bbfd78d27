//! The demo of `rti up --demo`, loaded through the gateway's public gRPC API like any client
//! would, from data in `gateway/demo/` (each message in canonical proto3 JSON, parsed into
//! rti-proto's types; a sanctions list in the EU's XML shape): the [`catalogue`] of fictional
//! infrastructures with tariffs and calendars, intake's organisations and access [`requests`] in
//! every state, allocation's [`calls`] with proposals and slots, and a year of [`usage`], made up
//! by rule, for the funders' statistics. Every write carries a fixed id or idempotency
//! key, and every later step is taken only while the data is still before it, so loading again
//! (a restart) adds and changes nothing. Every name is invented and marked as demo data.

use std::time::Duration;

use rti_platform::auth::{Claims, Role, mint_hs256};

pub mod calls;
pub mod catalogue;
mod people;
pub mod requests;
pub mod usage;

pub use calls::DemoCalls;
pub use catalogue::DemoCatalogue;
pub use requests::DemoRequests;
pub use usage::DemoUsage;

/// The subject the demo is loaded as; idempotency keys are scoped by it.
const DEMO_LOADER: &str = "rti-demo-loader";

/// Calendars and usage are laid out in whole days of microseconds.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A token for the demo loader, an admin, signed with the suite's secret.
pub fn loader_token(secret: &str) -> Result<String, String> {
    mint_hs256(
        secret,
        &Claims::new(DEMO_LOADER, &[Role::Admin], Duration::from_secs(600)),
    )
    .map_err(|error| error.to_string())
}

/// `message` with `token` as its bearer token.
pub(crate) fn authorised<T>(message: T, token: &str) -> Result<tonic::Request<T>, tonic::Status> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| tonic::Status::internal("token is not ASCII"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}
