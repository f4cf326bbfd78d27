//! The `rti` command, built inside rti-tests so that the suite's fault tests can run its services
//! and gateway as processes of their own and kill them (Cargo gives an integration test the path
//! of its own package's binaries only, as `CARGO_BIN_EXE_<name>`).

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rti_gateway::cli::main()
}
