//! The reporting service of RTI Access: usage statistics that national funders and the EC pull, normalised and never exposing a single company.
//! Its own RPCs (usage records, statistics, exports) arrive with the reporting issue; this crate already runs as a real server with health, reflection and its event stream.

#![forbid(unsafe_code)]

pub mod app;
pub mod grpc;

pub use app::App;
pub use grpc::authz::AUTHZ;
