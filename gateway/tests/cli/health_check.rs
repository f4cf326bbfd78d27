//! `rti health-check`, the compose healthcheck: exit 0 only when the server answers SERVING for
//! the name asked, 1 with one line otherwise, so a container is never marked healthy by a
//! server that is stopping, that does not know the name, or that is not there.

use std::time::{Duration, Instant};

use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::{run, stderr_lines};

/// A gRPC server whose health says SERVING for "" and `rti.test.v1.Up`, NOT_SERVING for
/// `rti.test.v1.Down`.
async fn health_server() -> std::net::SocketAddr {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status("", ServingStatus::Serving).await;
    reporter
        .set_service_status("rti.test.v1.Up", ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("rti.test.v1.Down", ServingStatus::NotServing)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        // The reporter must live as long as the server: dropping it ends Watch streams only,
        // but keeping it says the statuses above are meant.
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
    });
    address
}

async fn health_check(arguments: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
        run(&borrowed)
    })
    .await
    .expect("joined")
}

fn one_line(output: &std::process::Output, code: i32, mentions: &[&str]) {
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    let lines = stderr_lines(output);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    for mention in mentions {
        assert!(lines[0].contains(mention), "{:?} mentions {mention:?}", lines[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_exits_zero_only_on_serving() {
    let address = health_server().await;
    let with_scheme = format!("http://{address}");
    for arguments in [
        vec!["health-check".to_owned(), with_scheme.clone()],
        vec!["health-check".to_owned(), address.to_string()],
        vec![
            "health-check".to_owned(),
            with_scheme.clone(),
            "--service".to_owned(),
            "rti.test.v1.Up".to_owned(),
        ],
    ] {
        let output = health_check(arguments.clone()).await;
        assert!(output.status.success(), "{arguments:?}: {output:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("SERVING"),
            "{output:?}"
        );
    }
    let down = health_check(vec![
        "health-check".into(),
        with_scheme.clone(),
        "--service".into(),
        "rti.test.v1.Down".into(),
    ])
    .await;
    one_line(&down, 1, &["rti.test.v1.Down", "NOT_SERVING"]);
    let unknown = health_check(vec![
        "health-check".into(),
        with_scheme,
        "--service".into(),
        "rti.test.v1.Nobody".into(),
    ])
    .await;
    one_line(&unknown, 1, &["rti.test.v1.Nobody", "NotFound"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_of_nothing_or_of_a_silent_peer_fails_in_time() {
    // A port that was just free: nothing listens there.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("bound");
    let refused = health_check(vec!["health-check".into(), free.to_string()]).await;
    one_line(&refused, 1, &["cannot reach", &free.to_string()]);

    // A peer that accepts and never speaks: the timeout ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = silent.local_addr().expect("bound");
    let started = Instant::now();
    let output = health_check(vec![
        "health-check".into(),
        address.to_string(),
        "--timeout".into(),
        "500ms".into(),
    ])
    .await;
    one_line(&output, 1, &["did not answer", "--timeout"]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    drop(silent);
}

#[test]
fn a_bad_health_check_address_is_one_line_naming_it() {
    one_line(
        &run(&["health-check", "https://127.0.0.1:1"]),
        2,
        &["ADDR", "plaintext"],
    );
    one_line(&run(&["health-check", "http://127.0.0.1"]), 2, &["ADDR", "port"]);
    one_line(
        &run(&["health-check", "127.0.0.1:1", "--timeout", "soon"]),
        2,
        &["--timeout"],
    );
}
