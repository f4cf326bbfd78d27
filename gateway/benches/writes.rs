//! `cargo bench -p rti-gateway --bench writes` (needs `h2load`, Debian's `nghttp2-client`, and
//! PostgreSQL's server binaries with `pgbench`, Debian's `postgresql`; `RTI_BENCH_CALLS` changes
//! the calls per run, 6,000 by default).
//!
//! The write path against what its database does alone, side by side in one run, with the same
//! clients (8 connections, one call in flight on each) and the same durability:
//! - SQLite (WAL, `synchronous=FULL`): `CreateProvider` through the gateway and straight to the
//!   registry, beside raw durable transactions on a file of their own (`BEGIN IMMEDIATE`, two
//!   inserts — a row and its event —, `COMMIT`) from 8 connections of this process; then through
//!   the gateway again with the gateway and the registry exporting their traces over OTLP to a
//!   collector in this process that counts and drops them;
//! - PostgreSQL (a throwaway cluster with its default durability: `fsync` and
//!   `synchronous_commit` on): the same two calls, beside `pgbench` running the equivalent
//!   transaction (two inserts) from 8 clients; then through the gateway to two registry
//!   replicas on the same database.
//!
//! The gateway runs as `rti gateway` does by default, with its audit log (every create is an
//! audited write: on SQLite under its data directory, in the cluster beside the registry's
//! database with PostgreSQL) and metrics. Prints one table and the ratios the
//! aims are stated in; figures belong in docs/benchmarks.md with this command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Instant;

use prost::Message;
use rti_platform::auth::Role;
use rti_platform::testing::{TEST_SECRET, token};
use rti_proto::registry as proto;
use sqlx::Connection;

mod support;

use support::{Load, Running, SpanCounter, Target, connect, free_address, grpc_frame, h2load};

const LOAD: Load = Load {
    connections: 8,
    streams: 1,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls = support::calls_per_run(6_000)?;
    let pg_bin = postgres_bin().ok_or("PostgreSQL's server binaries are not installed (apt-get install postgresql)")?;
    let directory = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let collector = SpanCounter::default();
    let otlp = format!("http://{}", runtime.block_on(collector.clone().serve())?);
    let admin = token(Role::Admin);
    let bench = Bench {
        calls,
        admin: &admin,
        directory: directory.path(),
        runtime: &runtime,
    };
    let mut figures = Vec::new();

    // SQLite: the gateway and the registry untraced, then both exporting their traces.
    let sqlite = format!("sqlite://{}", directory.path().join("registry.db").display());
    let suite = Suite::start(&sqlite, None, 1, None, &bench, "sqlite")?;
    figures.push(bench.through(&suite, "SQLite", "CreateProvider via the gateway")?);
    figures.push(bench.direct(&suite, "SQLite", "CreateProvider direct to the registry")?);
    drop(suite);
    let raw = runtime.block_on(raw_sqlite(&directory.path().join("raw.db"), calls))?;
    figures.push(("SQLite", "raw durable transactions, same settings", raw, None));
    let suite = Suite::start(&sqlite, None, 1, Some(&otlp), &bench, "sqlite-traced")?;
    figures.push(bench.through(&suite, "SQLite", "CreateProvider via the gateway, traces exported")?);
    drop(suite);

    // PostgreSQL: one registry, then two replicas behind the gateway.
    let cluster = Cluster::start(&pg_bin, directory.path())?;
    let postgres = cluster.create_database("registry")?;
    // The gateway keeps its audit log in PostgreSQL too, as a deployment on it would.
    let audit = cluster.create_database("audit")?;
    let suite = Suite::start(&postgres, Some(&audit), 1, None, &bench, "pg")?;
    figures.push(bench.through(&suite, "PostgreSQL", "CreateProvider via the gateway")?);
    figures.push(bench.direct(&suite, "PostgreSQL", "CreateProvider direct to the registry")?);
    drop(suite);
    let pgbench = cluster.pgbench(&pg_bin, calls, directory.path())?;
    figures.push(("PostgreSQL", "pgbench, the same two inserts", pgbench, None));
    let suite = Suite::start(&postgres, Some(&audit), 2, None, &bench, "pg-replicas")?;
    figures.push(bench.through(&suite, "PostgreSQL", "CreateProvider via the gateway, two registries")?);
    drop(suite);

    println!(
        "{calls} creates per run, {} connections × {} call in flight, durable commits",
        LOAD.connections, LOAD.streams
    );
    println!("| store | path | writes/s | mean (ms) | p99 (ms) |");
    println!("|---|---|---|---|---|");
    for (store, path, rate, latency) in &figures {
        let (mean, p99) = latency.map_or((String::new(), String::new()), |(mean, p99)| {
            (format!("{mean:.2}"), format!("{p99:.2}"))
        });
        println!("| {store} | {path} | {rate:.0} | {mean} | {p99} |");
    }
    let rate = |index: usize| figures[index].2;
    println!();
    println!(
        "SQLite: gateway ÷ raw {:.2}×, direct ÷ raw {:.2}×, traced ÷ untraced {:.2}×",
        rate(0) / rate(2),
        rate(1) / rate(2),
        rate(3) / rate(0)
    );
    println!(
        "PostgreSQL: gateway ÷ pgbench {:.2}×, direct ÷ pgbench {:.2}×, two registries ÷ one {:.2}×",
        rate(4) / rate(6),
        rate(5) / rate(6),
        rate(7) / rate(4)
    );
    println!(
        "spans received by the collector: {}",
        collector.spans.load(Ordering::Relaxed)
    );
    Ok(())
}

/// One path's figures: the store, the path, writes per second, and mean and p99 latency when
/// measured per call.
type Figures = (&'static str, &'static str, f64, Option<(f64, f64)>);

/// What every measurement shares.
struct Bench<'a> {
    calls: usize,
    admin: &'a str,
    directory: &'a Path,
    runtime: &'a tokio::runtime::Runtime,
}

impl Bench<'_> {
    fn through(
        &self,
        suite: &Suite,
        store: &'static str,
        path: &'static str,
    ) -> Result<Figures, Box<dyn std::error::Error>> {
        self.create_providers(suite.gateway, store, path)
    }

    fn direct(
        &self,
        suite: &Suite,
        store: &'static str,
        path: &'static str,
    ) -> Result<Figures, Box<dyn std::error::Error>> {
        self.create_providers(suite.registries[0], store, path)
    }

    /// `CreateProvider` at `address`, after a warm-up.
    fn create_providers(
        &self,
        address: SocketAddr,
        store: &'static str,
        path: &'static str,
    ) -> Result<Figures, Box<dyn std::error::Error>> {
        let request = proto::CreateProviderRequest {
            provider: Some(proto::Provider {
                name: "Benchmark lab".into(),
                country: "DE".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        // An answer is the provider with its id and times: longer than what was sent.
        let least_bytes = grpc_frame(&request.provider.clone().unwrap_or_default().encode_to_vec()).len();
        let target = Target {
            name: path,
            url: format!("http://{address}/rti.registry.v1.RegistryService/CreateProvider"),
            grpc_body: Some(grpc_frame(&request.encode_to_vec())),
            least_bytes,
        };
        h2load(&target, LOAD, self.admin, self.calls / 10, self.directory)?;
        let measured = h2load(&target, LOAD, self.admin, self.calls, self.directory)?;
        Ok((
            store,
            path,
            measured.calls_per_second,
            Some((measured.mean_ms, measured.p99_ms)),
        ))
    }
}

/// Registries on `database` and a gateway balancing across them.
struct Suite {
    registries: Vec<SocketAddr>,
    gateway: SocketAddr,
    _processes: Vec<Running>,
}

impl Suite {
    fn start(
        database: &str,
        audit: Option<&str>,
        replicas: usize,
        otlp: Option<&str>,
        bench: &Bench<'_>,
        name: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let rti = env!("CARGO_BIN_EXE_rti");
        let traced = |command: &mut Command| {
            if let Some(endpoint) = otlp {
                command.args(["--otlp-endpoint", endpoint]);
            }
        };
        let mut processes = Vec::new();
        let mut registries = Vec::new();
        for _ in 0..replicas {
            let address = free_address()?;
            let mut registry = Command::new(rti);
            registry
                .args([
                    "serve",
                    "registry",
                    "--listen",
                    &address.to_string(),
                    "--database-url",
                    database,
                ])
                .args(["--auth-secret", TEST_SECRET, "--log-filter", "error"])
                .stdout(Stdio::null());
            traced(&mut registry);
            processes.push(Running(registry.spawn()?));
            registries.push(address);
        }
        let gateway = free_address()?;
        let upstreams: Vec<String> = registries.iter().map(|address| format!("http://{address}")).collect();
        let elsewhere = format!("http://{}", free_address()?);
        let mut command = Command::new(rti);
        command
            .args(["gateway", "--listen", &gateway.to_string()])
            .args(["--registry", &upstreams.join(",")])
            .args([
                "--intake",
                &elsewhere,
                "--allocation",
                &elsewhere,
                "--reporting",
                &elsewhere,
            ])
            .args(["--auth-secret", TEST_SECRET, "--log-filter", "error"])
            .args(["--rate-limit", "all=1000000/1s:1000000"])
            .arg("--data-dir")
            .arg(bench.directory.join(format!("gateway-{name}")))
            .stdout(Stdio::null());
        if let Some(audit) = audit {
            command.args(["--audit-database-url", audit]);
        }
        traced(&mut command);
        processes.push(Running(command.spawn()?));
        bench.runtime.block_on(async {
            for address in registries.iter().chain([&gateway]) {
                connect(*address).await?;
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        Ok(Self {
            registries,
            gateway,
            _processes: processes,
        })
    }
}

/// Durable transactions on SQLite with the registry's settings, from as many connections as
/// h2load uses: each `BEGIN IMMEDIATE`, a row, its event, `COMMIT`.
async fn raw_sqlite(file: &Path, transactions: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let mut connections = Vec::new();
    for _ in 0..LOAD.connections {
        let mut connection = sqlx::SqliteConnection::connect(&url).await?;
        for pragma in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA busy_timeout = 5000",
        ] {
            sqlx::query(pragma).execute(&mut connection).await?;
        }
        connections.push(connection);
    }
    sqlx::query(
        "CREATE TABLE rows (id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at INTEGER NOT NULL); \
         CREATE TABLE events (sequence INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL)",
    )
    .execute(&mut connections[0])
    .await?;
    let each = transactions / LOAD.connections;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut connection in connections {
        tasks.spawn(async move {
            for _ in 0..each {
                let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query("INSERT INTO rows (id, body, created_at) VALUES ($1, $2, $3)")
                    .bind(rti_platform::ids::new_id())
                    .bind(vec![7_u8; 200])
                    .bind(rti_platform::time::now_micros())
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query("INSERT INTO events (payload) VALUES ($1)")
                    .bind(vec![7_u8; 300])
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await?;
            }
            Ok::<_, sqlx::Error>(())
        });
    }
    while let Some(finished) = tasks.join_next().await {
        finished??;
    }
    Ok((each * LOAD.connections) as f64 / started.elapsed().as_secs_f64())
}

/// A throwaway PostgreSQL cluster with the default durability, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(bin: &Path, directory: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let root = directory.join("postgres");
        std::fs::create_dir_all(&root)?;
        if is_root() {
            // PostgreSQL refuses to run as root: the cluster is the postgres user's.
            let owned = Command::new("chown").args(["-R", "postgres"]).arg(&root).status()?;
            let parent = Command::new("chmod").arg("755").arg(directory).status()?;
            if !owned.success() || !parent.success() {
                return Err("cannot hand the cluster's directory to the postgres user".into());
            }
        }
        let data = root.join("data");
        let port = free_address()?.port();
        let cluster = Self {
            bin: bin.to_owned(),
            data,
            port,
        };
        run(cluster
            .as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&cluster.data)
            .args(["-A", "trust", "-U", "postgres"]))?;
        run(cluster
            .as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&cluster.data)
            .arg("-l")
            .arg(root.join("server.log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
                root.display()
            ))
            .arg("start"))?;
        Ok(cluster)
    }

    fn as_postgres(&self, program: &Path) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn create_database(&self, name: &str) -> Result<String, Box<dyn std::error::Error>> {
        run(self
            .as_postgres(&self.bin.join("psql"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
            .args(["-c", &format!("CREATE DATABASE {name}")]))?;
        Ok(self.url(name))
    }

    /// pgbench with the two inserts of a create, from as many clients as h2load uses.
    fn pgbench(&self, bin: &Path, transactions: usize, directory: &Path) -> Result<f64, Box<dyn std::error::Error>> {
        let url = self.create_database("raw")?;
        run(self.as_postgres(&self.bin.join("psql")).arg(&url).args([
            "-q",
            "-c",
            "CREATE TABLE rows (id TEXT PRIMARY KEY, body BYTEA NOT NULL, created_at BIGINT NOT NULL); \
             CREATE TABLE events (sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload BYTEA NOT NULL)",
        ]))?;
        let script = directory.join("create.sql");
        std::fs::write(
            &script,
            "BEGIN;\n\
             INSERT INTO rows (id, body, created_at) VALUES (gen_random_uuid()::text, decode(repeat('07', 200), 'hex'), 0);\n\
             INSERT INTO events (payload) VALUES (decode(repeat('07', 300), 'hex'));\n\
             COMMIT;\n",
        )?;
        if is_root() {
            Command::new("chmod").arg("644").arg(&script).status()?;
        }
        let clients = LOAD.connections;
        let output = self
            .as_postgres(&bin.join("pgbench"))
            .args(["-n", "-c", &clients.to_string(), "-j", "2"])
            .args(["-t", &(transactions / clients).to_string()])
            .arg("-f")
            .arg(&script)
            .arg(&url)
            .output()?;
        let report = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!("pgbench failed:\n{report}{}", String::from_utf8_lossy(&output.stderr)).into());
        }
        // "tps = 1190.123456 (without initial connection time)"
        report
            .lines()
            .find_map(|line| line.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .ok_or_else(|| format!("pgbench printed no tps:\n{report}"))?
            .parse()
            .map_err(Into::into)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn run(command: &mut Command) -> Result<(), Box<dyn std::error::Error>> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// The newest installed PostgreSQL's binaries.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pgbench").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
