//! Faults survived with nothing lost (issue 15), on PostgreSQL: a replica killed under a load of
//! creates, PostgreSQL restarted under load, an upstream that never answers, a poison event in a
//! stream; and a bounded soak of `rti up` (SQLite) under mixed traffic, its memory read. Each test prints its counts (`faults/<name>: acknowledged …, found …, duplicated …,
//! lost …`) and fails unless nothing was duplicated or lost.
//!
//! The services and the gateway run as processes of their own (`rti-suite`, the `rti` command
//! built in this package) so that a test can kill one with SIGKILL and read its memory.

mod cluster;
mod kill_replica;
mod load;
mod poison_event;
mod postgres_restart;
mod slow_upstream;
mod soak;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rti_platform::testing::TEST_SECRET;
use tonic::transport::Channel;

/// What a fault test counts: creates its clients saw acknowledged, and what the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub acknowledged: usize,
    pub found: usize,
    pub duplicated: usize,
    pub lost: usize,
}

impl Counts {
    /// Prints the counts under `name` and fails unless nothing was duplicated or lost.
    #[track_caller]
    pub fn report(self, name: &str) {
        let line = format!(
            "faults/{name}: acknowledged {}, found {}, duplicated {}, lost {}",
            self.acknowledged, self.found, self.duplicated, self.lost
        );
        println!("{line}");
        assert!(
            self.acknowledged > 0,
            "no write was acknowledged, so nothing was shown: {line}"
        );
        assert_eq!(self.duplicated, 0, "{line}");
        assert_eq!(self.lost, 0, "{line}");
        assert_eq!(self.found, self.acknowledged, "{line}");
    }
}

/// A child process, killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: &'static str,
}

impl Process {
    /// Starts `rti-suite` with `arguments` and the test signing secret; its warnings reach the
    /// test's output only when `TEST_LOG` is set, as the in-process services' logs do.
    pub fn rti(name: &'static str, arguments: &[&str]) -> Self {
        let logs = if std::env::var_os("TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_rti-suite"))
            .args(arguments)
            .args(["--auth-secret", TEST_SECRET, "--log-filter", "warn"])
            .stdout(Stdio::null())
            .stderr(logs)
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error}"));
        Self { child, name }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crashed machine or the OOM killer ends a process: no drain, no shutdown.
    pub fn kill_9(&mut self) {
        self.child
            .kill()
            .unwrap_or_else(|error| panic!("kill -9 {}: {error}", self.name));
        self.child
            .wait()
            .unwrap_or_else(|error| panic!("reap {}: {error}", self.name));
    }

    /// Fails the test if the process has exited: a fault must not take it down.
    #[track_caller]
    pub fn assert_running(&mut self) {
        let exited = self.child.try_wait().expect("ask whether the process runs");
        assert!(exited.is_none(), "{} exited: {exited:?}", self.name);
    }

    /// The process's resident memory in KiB (VmRSS in /proc/PID/status).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.id())).expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on the loopback interface (it may be taken again before use; the tests bind it
/// at once).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// A channel to `address` once something answers there: a process started moments ago may
/// still be migrating its database. Fails the test after 60 s.
pub async fn connect_when_up(address: SocketAddr, process: &mut Process) -> Channel {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        process.assert_running();
        let endpoint = Channel::from_shared(format!("http://{address}")).expect("an address makes a URI");
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing answers on {address}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A registry replica serving `database_url` on `listen`, by words only (no encoder model to
/// load), checking its database's health every `readiness_interval`.
pub fn registry_replica(
    name: &'static str,
    listen: SocketAddr,
    database_url: &str,
    readiness_interval: &str,
) -> Process {
    Process::rti(
        name,
        &[
            "serve",
            "registry",
            "--listen",
            &listen.to_string(),
            "--database-url",
            database_url,
            "--readiness-interval",
            readiness_interval,
            "--encoder-model-dir",
            "/nonexistent/encoder-model",
        ],
    )
}

/// A gateway on `listen` in front of `registry` (URL,URL), its other upstreams nowhere, its rate
/// limits off, its audit log under `data_dir`, and its metrics on `metrics`.
pub fn gateway(listen: SocketAddr, registry: &str, data_dir: &Path, metrics: SocketAddr, extra: &[&str]) -> Process {
    let nowhere = format!("http://{}", free_address());
    let mut arguments = vec![
        "gateway".to_owned(),
        "--listen".to_owned(),
        listen.to_string(),
        "--registry".to_owned(),
        registry.to_owned(),
        "--intake".to_owned(),
        nowhere.clone(),
        "--allocation".to_owned(),
        nowhere.clone(),
        "--reporting".to_owned(),
        nowhere,
        "--rate-limit".to_owned(),
        "off".to_owned(),
        "--metrics-listen".to_owned(),
        metrics.to_string(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
    ];
    arguments.extend(extra.iter().map(|argument| (*argument).to_owned()));
    let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
    Process::rti("gateway", &borrowed)
}

/// Whether the PostgreSQL fault tests are skipped on purpose (`RTI_TEST_SKIP_POSTGRES=1`); says so.
pub fn postgres_skipped(test: &str) -> bool {
    let skipped = std::env::var("RTI_TEST_SKIP_POSTGRES").is_ok_and(|value| value == "1");
    if skipped {
        println!("faults/{test}: skipped: RTI_TEST_SKIP_POSTGRES=1");
    }
    skipped
}
