//! The four services and the gateway started as separate `rti` processes, as the manifests
//! start them, each on its own database, so their gRPC health can be asked by name.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::Duration;

use rti_platform::db::Backend;
use rti_platform::testing::TestDatabase;

use crate::rti;

pub const SECRET: &str = "a-development-secret-of-more-than-32-bytes";
pub const SERVICE_SECRET: &str = "the-services-own-secret-of-more-than-32-bytes";

/// A running `rti` process, killed when dropped so a failed assertion leaves nothing behind.
#[derive(Debug)]
pub struct Running {
    child: Child,
    pub address: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `rti arguments…` with JSON logs and waits (bounded) for the line that says where it
/// serves gRPC: `serving` for a service, `gateway listening` for the gateway.
pub fn start(arguments: &[&str]) -> Running {
    let mut child = rti(arguments)
        .env("RTI_LOG_FORMAT", "json")
        .env("RTI_LOG_FILTER", "info")
        .env("RTI_AUTH_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rti starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let announces =
                line.contains(r#""message":"serving""#) || line.contains(r#""message":"gateway listening""#);
            let address = line
                .split(r#""address":""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|address| address.parse::<SocketAddr>().ok());
            if let (true, Some(address)) = (announces, address) {
                let _ = sender.send(Ok(address));
            } else if line.contains(r#""level":"ERROR""#) {
                let _ = sender.send(Err(line));
            }
        }
    });
    match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(address)) => Running { child, address },
        Ok(Err(line)) => {
            let _ = child.kill();
            panic!("rti {arguments:?} logged an error: {line}");
        }
        Err(_) => {
            let _ = child.kill();
            panic!("rti {arguments:?} did not say where it serves within a minute");
        }
    }
}

/// The suite as the manifests run it: each service its own process and database, the gateway
/// in front. The map is keyed by the manifest's role (`serve registry`, `gateway`).
pub struct Suite {
    pub processes: BTreeMap<String, Running>,
    _databases: Vec<TestDatabase>,
}

impl Suite {
    /// `None` when PostgreSQL tests are skipped on purpose.
    pub async fn start(backend: Backend) -> Option<Self> {
        let mut databases = Vec::new();
        for _ in 0..5 {
            databases.push(TestDatabase::create(backend).await?);
        }
        let url = |index: usize| databases[index].url.as_str().to_owned();
        let mut processes = BTreeMap::new();
        let service = |name: &str, database: String, upstreams: &[(&str, String)]| {
            let mut arguments = vec![
                "serve".to_owned(),
                name.to_owned(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--database-url".into(),
                database,
                "--auth-service-secret".into(),
                SERVICE_SECRET.into(),
            ];
            for (flag, value) in upstreams {
                arguments.push((*flag).to_owned());
                arguments.push(value.clone());
            }
            let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
            start(&borrowed)
        };
        let at = |running: &Running| format!("http://{}", running.address);
        let registry = service("registry", url(0), &[]);
        let registry_url = at(&registry);
        let intake = service("intake", url(1), &[("--registry-url", registry_url.clone())]);
        let intake_url = at(&intake);
        let allocation = service(
            "allocation",
            url(2),
            &[
                ("--registry-url", registry_url.clone()),
                ("--intake-url", intake_url.clone()),
            ],
        );
        let allocation_url = at(&allocation);
        let reporting = service(
            "reporting",
            url(3),
            &[
                ("--registry-url", registry_url.clone()),
                ("--intake-url", intake_url.clone()),
                ("--allocation-url", allocation_url.clone()),
            ],
        );
        let reporting_url = at(&reporting);
        let audit = url(4);
        let gateway = start(&[
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--registry",
            &registry_url,
            "--intake",
            &intake_url,
            "--allocation",
            &allocation_url,
            "--reporting",
            &reporting_url,
            "--audit-database-url",
            &audit,
        ]);
        for (role, running) in [
            ("serve registry", registry),
            ("serve intake", intake),
            ("serve allocation", allocation),
            ("serve reporting", reporting),
            ("gateway", gateway),
        ] {
            processes.insert(role.to_owned(), running);
        }
        Some(Self {
            processes,
            _databases: databases,
        })
    }
}
