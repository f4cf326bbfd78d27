//! REST/JSON through the gateway (issue 14): the edge's authentication answers REST callers with
//! 401 and 403, a REST call reaches its service as a gRPC call with the caller's token, request
//! id and trace context, bodies over the limit get 413, and against the real suite a write and a
//! read, the services' field violations and an event stream come back as JSON.

use std::time::Duration;

use rti_gateway::cli::suite::{Databases, Suite, SuiteConfig};
use rti_platform::auth::Role;
use rti_platform::limits::Limits;
use rti_platform::testing::{test_auth, token};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Nowhere, PATIENCE, TestGateway, Upstream, all_to, rest_client as client, url};

/// POSTs `body` as JSON with `bearer`, and the answer's status and JSON body.
async fn post_json(address: std::net::SocketAddr, path: &str, bearer: &str, body: &Json) -> (u16, Json) {
    let response = client()
        .post(url(address, path))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .expect("answers");
    json_of(response).await
}

async fn json_of(response: reqwest::Response) -> (u16, Json) {
    let status = response.status().as_u16();
    let body = response.json::<Json>().await.expect("a JSON body");
    (status, body)
}

#[tokio::test]
async fn the_edge_answers_rest_callers_with_401_and_403_and_lets_allowed_calls_through() {
    let nowhere = Nowhere::reserve();
    let gateway = TestGateway::start(all_to(&nowhere.uri())).await;
    let client = client();
    let create = || {
        client
            .post(url(gateway.address, "/v1/infrastructures"))
            .json(&json!({"name": "X"}))
    };

    let (status, body) = json_of(create().send().await.expect("answers")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );
    assert_eq!(body["code"], 16);

    let funder = create().bearer_auth(token(Role::Funder)).send().await.expect("answers");
    let (status, body) = json_of(funder).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{body}"
    );

    // Past the edge, the call looks for the registry where nothing listens.
    let admin = create().bearer_auth(token(Role::Admin)).send().await.expect("answers");
    let (status, body) = json_of(admin).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("UNAVAILABLE")), "{body}");
    let public = client
        .get(url(gateway.address, "/v1/infrastructures/infra-1"))
        .send()
        .await
        .expect("answers");
    assert_eq!(public.status().as_u16(), 503, "public without a token");
}

#[tokio::test]
async fn a_rest_call_reaches_its_service_as_grpc_with_token_request_id_and_trace() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = client()
        .get(url(gateway.address, "/v1/infrastructures/infra%2D1"))
        .bearer_auth(token(Role::Admin))
        .header("x-request-id", "rest-42")
        .header("traceparent", traceparent)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["x-request-id"], "rest-42");
    // The stand-in serves no registry: its UNIMPLEMENTED comes back as 501.
    let (status, body) = json_of(response).await;
    assert_eq!((status, body["code"].as_i64()), (501, Some(12)), "{body}");

    let seen = upstream.seen("/rti.registry.v1.RegistryService/GetInfrastructure");
    assert_eq!(seen.len(), 1, "one gRPC call reached the upstream");
    let headers = &seen[0];
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["te"], "trailers");
    assert_eq!(headers["x-request-id"], "rest-42");
    assert_eq!(
        headers["authorization"],
        format!("Bearer {}", token(Role::Admin)).as_str()
    );
    let forwarded_trace = headers["traceparent"].to_str().expect("ascii");
    assert!(
        forwarded_trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "the trace continues: {forwarded_trace}"
    );
}

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

    let oversized = json!({"name": "x".repeat(2048)});
    let (status, body) = post_json(gateway.address, "/v1/providers", &token(Role::Admin), &oversized).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (413, Some("RESOURCE_EXHAUSTED")),
        "{body}"
    );

    let (status, body) = post_json(
        gateway.address,
        "/v1/providers",
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
        encoder_model_dir: None,
        reporting: rti_reporting::Options::default(),
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
