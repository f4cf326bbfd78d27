//! The `rti` command line: its arguments ([`config`]), what each command does, the whole suite
//! in one process for `rti up` ([`suite`]), the development signing secret it keeps
//! ([`dev_secret`]) and `rti audit verify` (`audit`). The binary (`src/main.rs`) is [`main`]: it parses the arguments and calls [`run`].

mod audit;
mod commands;
pub mod config;
pub mod dev_secret;
mod entry;
pub mod suite;

pub use commands::run;
pub use config::{Cli, report_usage_error};
pub use entry::main;
