//! `rti up` with metrics asked for: the gateway's and each service's metrics port printed and
//! answering, and the audit log kept beside the services' databases.

use std::net::SocketAddr;
use std::time::Duration;

use rti_platform::testing::{http_get, metric_value};

use crate::spawn;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_each_metrics_port_it_prints_and_keeps_an_audit_log() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let (mut child, receiver) = spawn(&[
        "up",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--service-metrics-listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.path().to_str().expect("utf-8"),
    ]);
    let mut ports = Vec::new();
    while ports.len() < 5 {
        // A guard, not a timing: the suite starts in seconds on an idle machine.
        let line = receiver
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("rti up printed {} metrics ports in two minutes", ports.len()));
        if let Some((who, rest)) = line.split_once(" metrics on http://") {
            let address: SocketAddr = rest.trim_end_matches("/metrics").parse().expect("an address");
            ports.push((who.to_owned(), address));
        }
    }
    let names: Vec<&str> = ports.iter().map(|(who, _)| who.as_str()).collect();
    assert_eq!(names, ["gateway", "registry", "intake", "allocation", "reporting"]);
    for (who, address) in &ports {
        let (status, text) = http_get(*address, "/metrics", &[]).await;
        assert_eq!(status, 200, "{who}: {text}");
        assert!(text.ends_with("# EOF\n"), "{who}: {text}");
    }
    let (_, gateway) = http_get(ports[0].1, "/metrics", &[]).await;
    assert_eq!(
        metric_value(&gateway, "rti_gateway_audit_failures_total", &[]),
        Some(0.0),
        "{gateway}"
    );
    assert!(
        data_dir.path().join("audit.db").exists(),
        "the audit log is kept in the data directory"
    );

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("rti up stops within 30 s of SIGTERM")
    .expect("joined")
    .expect("waited");
    assert!(status.success(), "{status:?}");
}
