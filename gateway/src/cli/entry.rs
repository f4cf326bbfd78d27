//! The `rti` process: arguments, runtime, and how a failure is printed.

use std::process::ExitCode;

use clap::Parser;

use super::{Cli, report_usage_error, run};

/// The whole of `rti`: parses the process's arguments, runs the command on a multi-threaded
/// runtime and reports a failure as one line. A library function so that the suite tests can
/// build the same command into a binary of their own (Cargo gives an integration test the path
/// of its own package's binaries only).
pub fn main() -> ExitCode {
    let arguments = match Cli::try_parse() {
        Ok(arguments) => arguments,
        Err(error) => return report_usage_error(error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rti: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(arguments)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rti: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the line already holds
/// (many errors repeat their source in their own message).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
