//! The one public door of RTI Access (DESIGN §2, §3) and the `rti` command line, in three parts:
//! the [`edge`] serves traffic (gRPC pass-through by package, authentication at the edge, request
//! ids, trace context, merged reflection and per-service health); the [`cli`] is the command line
//! over the whole suite, with the suite runner of `rti up` and its development secret; the
//! [`demo`] loads the demo data of `rti up --demo` through the public gRPC API; the [`audit`]
//! keeps the hash-chained log of writes the edge appends to. The `rti` binary
//! (`src/main.rs`) only parses the arguments and runs [`cli::run`].

#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod demo;
pub mod edge;

pub use edge::{EdgeLimits, Gateway, GatewayConfig, GatewayError, QuotaSetting, Routes, Upstreams};
