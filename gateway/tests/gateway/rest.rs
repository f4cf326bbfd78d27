//! REST/JSON through the gateway (issue 14): unknown routes and methods, bodies over the limit
//! and unknown fields get JSON errors, and against the real suite a write and a read, the
//! services' field violations, an event stream and a client stream come back as JSON. What the
//! edge does to REST calls (authentication, deadlines, trace context) is in `rest_edge`.

use std::time::Duration;

use rti_gateway::cli::suite::{Databases, Suite, SuiteConfig};
use rti_platform::auth::Role;
use rti_platform::limits::Limits;
use rti_platform::testing::{test_auth, token};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Nowhere, PATIENCE, TestGateway, all_to, json_of, post_json, rest_client as client, url};

#[tokio::test]
async fn unknown_routes_methods_and_oversized_bodies_get_json_errors() {
    let nowhere = Nowhere::reserve();
    let limits = Limits {
        calls: rti_platform::limits::CallLimits {
            max_message_bytes: 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let gateway = TestGateway::start_limited(all_to(&nowhere.uri()), Vec::new(), limits).await;
    let client = client();

    let (status, body) = json_of(
        client
            .get(url(gateway.address, "/v1/nothing"))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (404, Some("NOT_FOUND")), "{body}");

    let delete = client
        .delete(url(gateway.address, "/v1/providers/p-1"))
        .send()
        .await
        .expect("answers");
    assert_eq!(delete.status().as_u16(), 405);
    assert_eq!(delete.headers()["allow"], "GET, PATCH");

    // The test gateway's table lets an admin create infrastructures.
    let oversized = json!({"name": "x".repeat(2048)});
    let (status, body) = post_json(gateway.address, "/v1/infrastructures", &token(Role::Admin), &oversized).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (413, Some("RESOURCE_EXHAUSTED")),
        "{body}"
    );

    let (status, body) = post_json(
        gateway.address,
        "/v1/infrastructures",
        &token(Role::Admin),
        &json!({"nam": "Lab"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["fieldViolations"][0]["field"], "nam", "{body}");
}

/// The four services and the gateway on SQLite in a temporary directory.
struct RunningSuite {
    address: std::net::SocketAddr,
    shutdown: CancellationToken,
    _directory: tempfile::TempDir,
}

impl Drop for RunningSuite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn suite() -> RunningSuite {
    rti_platform::testing::init_logging();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let config = SuiteConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        databases: Databases::sqlite_in(directory.path()),
        auth: test_auth(),
        drain_timeout: Duration::from_secs(5),
        limits: Limits::default(),
        edge: rti_gateway::EdgeLimits::default(),
        encoder_model_dir: None,
        reporting: rti_reporting::Options::default(),
        metrics_listen: None,
        service_metrics_listen: None,
        audit: Some(rti_platform::db::DatabaseUrl::sqlite_file(
            &directory.path().join("audit.db"),
        )),
        replicas: 1,
    };
    let suite = Suite::start(config).await.expect("the suite starts");
    let address = suite.gateway_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(suite.run_until(shutdown.clone()));
    RunningSuite {
        address,
        shutdown,
        _directory: directory,
    }
}

#[tokio::test]
async fn writes_and_reads_through_rest_against_the_registry() {
    let suite = suite().await;
    let client = client();
    let admin = token(Role::Admin);
    let (status, provider) = post_json(
        suite.address,
        "/v1/providers?requestId=0190f0a0-0000-7000-8000-000000000001",
        &admin,
        &json!({"name": "Laboratoire Européen", "country": "FR", "website": "https://lab.example"}),
    )
    .await;
    assert_eq!(status, 200, "{provider}");
    let id = provider["id"].as_str().expect("an id").to_owned();
    assert_eq!(provider["name"], "Laboratoire Européen");
    assert!(
        provider["createTime"].as_str().is_some_and(|time| time.ends_with('Z')),
        "a canonical RFC 3339 timestamp: {provider}"
    );

    // Public: no token needed to read it back.
    let read = client
        .get(url(suite.address, &format!("/v1/providers/{id}")))
        .send()
        .await
        .expect("answers");
    let (status, read) = json_of(read).await;
    assert_eq!((status, &read), (200, &provider));

    let listed = client
        .get(url(suite.address, "/v1/providers?pageSize=10"))
        .send()
        .await
        .expect("answers");
    let (status, listed) = json_of(listed).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["providers"][0]["id"], id.as_str());
    assert_eq!(listed["nextPageToken"], "", "defaults are written");

    let missing = client
        .get(url(suite.address, "/v1/providers/0190f0a0-0000-7000-8000-00000000dead"))
        .send()
        .await
        .expect("answers");
    let (status, body) = json_of(missing).await;
    assert_eq!((status, body["status"].as_str()), (404, Some("NOT_FOUND")), "{body}");
}

#[tokio::test]
async fn the_services_field_violations_come_back_all_at_once() {
    let suite = suite().await;
    let (status, body) = post_json(
        suite.address,
        "/v1/providers",
        &token(Role::Admin),
        &json!({"name": "", "country": "ZZ"}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "{body}"
    );
    let violations = body["details"][0]["fieldViolations"].as_array().expect("violations");
    let fields: Vec<&str> = violations
        .iter()
        .filter_map(|violation| violation["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"provider.name") && fields.contains(&"provider.country"),
        "{body}"
    );
    assert_eq!(body["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
}

#[tokio::test]
async fn a_server_stream_arrives_as_newline_delimited_json() {
    let suite = suite().await;
    let client = client();
    let admin = token(Role::Admin);
    let (_, provider) = post_json(
        suite.address,
        "/v1/providers",
        &admin,
        &json!({"name": "Streamed", "country": "DE"}),
    )
    .await;

    let mut events = client
        .get(url(suite.address, "/v1/registry/events?afterSequence=0"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answers");
    assert_eq!(events.status().as_u16(), 200);
    assert_eq!(events.headers()["content-type"], "application/x-ndjson");
    // The stream stays open for live events: read until the first line is whole.
    let mut received = Vec::new();
    while !received.contains(&b'\n') {
        let chunk = tokio::time::timeout(PATIENCE, events.chunk())
            .await
            .expect("a chunk within the patience")
            .expect("the stream goes on")
            .expect("not ended yet");
        received.extend_from_slice(&chunk);
    }
    let first_line = received.split(|byte| *byte == b'\n').next().expect("a line");
    let event: Json = serde_json::from_slice(first_line).expect("one JSON value per line");
    assert_eq!(event["sequence"], "1", "int64 as a string: {event}");
    assert_eq!(event["aggregateId"], provider["id"], "{event}");

    // A live stream answers 200 as soon as the service takes the call, before any event.
    let waiting = client
        .get(url(suite.address, "/v1/registry/events?afterSequence=1000"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("the headers come before any event");
    assert_eq!(waiting.status().as_u16(), 200);

    // A stream refused before its first message gets its own HTTP status.
    let refused = client
        .get(url(suite.address, "/v1/registry/events"))
        .bearer_auth(token(Role::Applicant))
        .send()
        .await
        .expect("answers");
    let (status, body) = json_of(refused).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{body}"
    );
}

#[tokio::test]
async fn a_client_stream_takes_newline_delimited_json() {
    let suite = suite().await;
    let record = |id: &str| json!({"recordId": id, "installationId": "nowhere", "unitsUsed": "3"}).to_string();
    let body = format!("{}\n\n{}\n", record("usage-1"), record("usage-2"));
    let response = client()
        .post(url(suite.address, "/v1/usage-records:ingest"))
        .bearer_auth(token(Role::Admin))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("answers");
    let (status, summary) = json_of(response).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["received"], "2", "both lines arrived as messages: {summary}");
    assert_eq!(summary["rejected"], "2", "neither refers to a known request: {summary}");
    assert_eq!(summary["rejections"][1]["recordId"], "usage-2", "{summary}");

    let bad_line = format!(
        "{}\n{{\"recordId\": \"usage-3\", \"unitsUsd\": 1}}\n",
        record("usage-1")
    );
    let response = client()
        .post(url(suite.address, "/v1/usage-records:ingest"))
        .bearer_auth(token(Role::Admin))
        .body(bad_line)
        .send()
        .await
        .expect("answers");
    let (status, body) = json_of(response).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["fieldViolations"][0]["field"], "unitsUsd", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("line 2")),
        "{body}"
    );
}

#[tokio::test]
async fn a_request_with_dozens_of_bad_values_is_told_which_not_unavailable() {
    // Found by schemathesis: forty unknown funding schemes made trailers beyond h2's 16 KiB.
    let suite = suite().await;
    let schemes: Vec<String> = (0..40).map(|index| format!("no-such-scheme-{index}")).collect();
    let (status, body) = post_json(
        suite.address,
        "/v1/usage-statistics:query",
        &token(Role::Admin),
        &json!({"filter": {"fundingSchemes": schemes}, "measures": ["users"]}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains(" more")),
        "the violations left out are counted: {body}"
    );
}
