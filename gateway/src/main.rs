//! `rti`: the RTI Access command line. `rti up` runs the whole suite in one process on SQLite;
//! `rti serve` and `rti gateway` run the pieces as separate processes for production; `rti token`
//! mints development tokens; `rti migrate` applies a service's migrations and exits.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    rti_gateway::cli::main()
}
