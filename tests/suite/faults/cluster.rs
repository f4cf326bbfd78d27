//! A throwaway PostgreSQL cluster that a test may stop and start (the shared test cluster must
//! never be), as gateway/benches/writes.rs starts one: `initdb` and `pg_ctl` from
//! /usr/lib/postgresql/*/bin, as the postgres user when the tests run as root (PostgreSQL
//! refuses to run as root). Stopped at once when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::free_address;

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    _directory: tempfile::TempDir,
}

impl Cluster {
    /// Starts a cluster in a temporary directory; `None`, with the reason printed, when
    /// PostgreSQL's server binaries are not installed.
    pub fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            println!(
                "skipped: PostgreSQL's server binaries are not in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
            );
            return None;
        };
        let directory = tempfile::tempdir().expect("a temporary directory");
        if is_root() {
            run(Command::new("chmod").arg("755").arg(directory.path()));
            run(Command::new("chown").args(["-R", "postgres"]).arg(directory.path()));
        }
        let cluster = Self {
            data: directory.path().join("data"),
            log: directory.path().join("server.log"),
            port: free_address().port(),
            bin,
            _directory: directory,
        };
        run(cluster
            .as_postgres("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args(["-A", "trust", "-U", "postgres"]));
        cluster.start_server();
        Some(cluster)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_server(&self) {
        run(self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.data.display()
            ))
            .arg("start"));
    }

    /// Stops the server as an operator's restart does (`-m fast`: sessions are cut, open
    /// transactions roll back) and waits until it is down.
    pub fn stop_server(&self) {
        run(self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]));
    }

    /// A new database on the cluster, as a URL.
    pub fn create_database(&self, name: &str) -> String {
        run(self
            .as_postgres("psql")
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
            .args(["-c", &format!("CREATE DATABASE {name}")]));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn as_postgres(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[track_caller]
fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// The newest installed PostgreSQL's server binaries.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn has_server(bin: &Path) -> bool {
    bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()
}
