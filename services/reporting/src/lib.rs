//! The reporting service of RTI Access: usage statistics that national funders and the EC pull,
//! normalised per 1000 researchers (NORM-1) and never exposing a single company
//! (docs/disclosure.md). It projects the registry's, intake's and allocation's event streams,
//! takes usage records from operators, and answers grouped, filtered statistics.

#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod feeds;
pub mod grpc;
pub mod peers;
pub mod service;
pub mod store;

pub use app::{App, Options, Upstreams};
pub use grpc::authz::AUTHZ;
