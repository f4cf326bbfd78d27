//! The allocation service of RTI Access: transnational-access calls by the programme's rules
//! (TA-x, CTRY-x), panels, allocation measured against its LP bound, and slots that operators
//! confirm, with the unit ledger.

#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
mod feed;
pub mod grpc;
pub mod peers;
pub mod service;
pub mod store;
mod sweeper;

pub use app::{App, Options, Upstreams};
pub use grpc::authz::AUTHZ;
