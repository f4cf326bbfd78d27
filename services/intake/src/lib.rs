//! The intake service of RTI Access: access requests under the industrial-user charter, transnational-access proposals and research-security screening.
//! Its own RPCs (organisations, access requests, screening) arrive with the intake issue; this crate already runs as a real server with health, reflection and its event stream.

#![forbid(unsafe_code)]

pub mod app;
pub mod grpc;

pub use app::App;
pub use grpc::authz::AUTHZ;
