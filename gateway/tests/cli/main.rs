//! The `rti` command line as a person or a script meets it: one-line errors for bad
//! configuration, tokens that verify, and `rti up --demo` that starts, answers, stops on SIGTERM
//! and restarts without duplicating its demo data; `rti audit verify`.

mod audit;
mod configuration;
mod demo_calls;
mod observe;
mod up;

use std::process::{Command, Output};

/// `rti` with a clean environment, so the developer's own RTI_* variables cannot leak in.
pub fn rti(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rti"));
    command.env_clear().args(arguments);
    command
}

pub fn run(arguments: &[&str]) -> Output {
    rti(arguments).output().expect("rti runs")
}

pub fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}
