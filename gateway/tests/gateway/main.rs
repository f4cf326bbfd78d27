//! The gateway end to end, against in-process tonic upstreams on port 0: reflection, health,
//! streaming pass-through, authentication at the edge, request ids, trace context, shutdown,
//! message size, deadline and connection limits, metrics and the audit log of writes.

mod helpers;

mod audit;
mod edge;
mod health;
mod limits;
mod metrics;
mod pass_through;
mod shutdown;
