//! Suite tests: the four services behind the gateway, as a client sees them through one port.

mod audit;
mod authz_matrix;
mod catalogue;
mod discovery;
mod faults;
mod journey;
mod limits;
mod otlp_export;
mod paraphrases;
mod passthrough;
mod relevance;
mod sanctions_drift;
mod semantic;
mod tenant_scope;
mod tracing_context;
mod trust;
