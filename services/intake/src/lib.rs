//! The intake service of RTI Access: access requests under the industrial-user charter, transnational-access proposals and research-security screening.
//! Its RPCs (organisations, access requests, screening) arrive with the intake issue; this crate already runs as a real server with health, reflection and its event stream, and holds the SME-x size rules in `domain::sme`.

#![forbid(unsafe_code)]

pub mod app;
pub mod domain;
pub mod grpc;

pub use app::App;
pub use grpc::authz::AUTHZ;
