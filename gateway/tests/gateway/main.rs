//! The gateway end to end, against in-process tonic upstreams on port 0: reflection, health,
//! streaming pass-through, authentication at the edge, request ids, trace context, shutdown,
//! message size, deadline and connection limits; gRPC-Web and CORS; rate limits, load
//! shedding and balanced upstreams; REST/JSON transcoded from the protos; metrics and the audit
//! log of writes.

mod helpers;

mod audit;
mod edge;
mod health;
mod limits;
mod metrics;
mod openapi;
mod pass_through;
mod protection;
mod rest;
mod rest_edge;
mod shutdown;
mod web;
