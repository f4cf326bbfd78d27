//! The allocation service of RTI Access: transnational-access calls, panels, allocation by the programme's rules, and slots that operators confirm.
//! Its own RPCs (calls, eligibility, reviews, allocation, slots) arrive with the allocation issue; this crate already runs as a real server with health, reflection and its event stream.

#![forbid(unsafe_code)]

pub mod app;
pub mod grpc;

pub use app::App;
pub use grpc::authz::AUTHZ;
