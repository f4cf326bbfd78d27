//! The `rti` command line as a person or a script meets it: one-line errors for bad
//! configuration, tokens that verify, and `rti up --demo` that starts, answers, stops on SIGTERM
//! and restarts without duplicating its demo data; `rti audit verify`; `rti migrate` and
//! `rti health-check`; deploy/'s manifests checked against the binary; docs/operations.md's
//! backup and restore.

mod audit;
mod backup;
mod configuration;
mod demo_calls;
mod health_check;
mod manifests;
mod migrate;
mod observe;
mod up;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

/// `rti` with a clean environment, so the developer's own RTI_* variables cannot leak in.
pub fn rti(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rti"));
    command.env_clear().args(arguments);
    command
}

/// `rti` started in the background with quiet logs, and the lines it prints, as they come.
pub fn spawn(arguments: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = rti(arguments)
        .env("RTI_LOG_FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rti starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, receiver)
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
