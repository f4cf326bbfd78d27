//! The authorization matrix through the gateway (issue 14): every RPC of every service, called
//! anonymously and with a token of every role, over gRPC and over REST, is admitted or refused
//! exactly as its service's table says — UNAUTHENTICATED (HTTP 401) without a token where one
//! is needed, PERMISSION_DENIED (HTTP 403) by the table for a role it does not name — and every
//! declared RPC has an entry and a REST binding, so an RPC added without either fails here.
//! Service tokens never pass the gateway (item 4 of docs/security.md). Both walks follow the
//! same tables, through [`walk_the_matrix`]; only the call differs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use rti_gateway::cli::suite::authz_tables;
use rti_platform::auth::Role;
use rti_platform::authz::Access;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{assert_table_matches_descriptor, call_with_empty_request, token};
use rti_tests::spawn_suite;
use serde_json::Value as Json;
use tonic::Code;

/// How the gateway (or the service behind it) answered one call, as far as authorization goes.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Past authorization: answered, or refused for what the request says.
    Admitted,
    Unauthenticated,
    /// Refused by the RPC's table.
    Forbidden,
}

/// One call's verdict, and what came back (for the failure message).
struct Called {
    verdict: Verdict,
    answer: String,
}

/// What the tables say `caller` (anonymous when `None`) gets from a method with `access`.
fn expected(access: Access, caller: Option<Role>) -> Verdict {
    match (access, caller) {
        // The gateway holds no service secret: a service token is not even verifiable.
        (_, Some(Role::Service)) => Verdict::Unauthenticated,
        (Access::Public, _) => Verdict::Admitted,
        (Access::Roles(_), None) => Verdict::Unauthenticated,
        (Access::Roles(roles), Some(role)) if roles.contains(&role) => Verdict::Admitted,
        (Access::Roles(_), Some(_)) => Verdict::Forbidden,
    }
}

/// Calls every RPC of every service's table anonymously and with a token of every role, as
/// `call(service, method, token)` does it, and checks each verdict against the table.
async fn walk_the_matrix(mut call: impl AsyncFnMut(&'static str, &'static str, Option<&str>) -> Called) {
    let tables = authz_tables();
    assert_eq!(tables.len(), 4, "registry, intake, allocation and reporting");
    let mut calls = 0;
    for table in tables {
        assert_table_matches_descriptor(table);
        for rule in table.rules {
            for caller in std::iter::once(None).chain(Role::ALL.map(Some)) {
                let bearer = caller.map(token);
                let called = call(table.service, rule.method, bearer.as_deref()).await;
                assert_eq!(
                    called.verdict,
                    expected(rule.access, caller),
                    "{}/{} as {}: {}",
                    table.service,
                    rule.method,
                    caller.map_or("anonymous", Role::as_str),
                    called.answer
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 100, "the matrix covers the suite's RPCs ({calls} calls)");
}

fn grpc_verdict(outcome: &Result<(), tonic::Status>) -> Verdict {
    match outcome {
        Err(status) if status.code() == Code::Unauthenticated => Verdict::Unauthenticated,
        Err(status) if status.code() == Code::PermissionDenied && status.message().contains("is for the roles") => {
            Verdict::Forbidden
        }
        _ => Verdict::Admitted,
    }
}

async fn every_rpc_of_every_service_admits_exactly_its_roles_through_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    walk_the_matrix(async |service, method, bearer| {
        let outcome = call_with_empty_request(suite.channel.clone(), service, method, bearer).await;
        Called {
            verdict: grpc_verdict(&outcome),
            answer: format!("{outcome:?}"),
        }
    })
    .await;
}

/// The REST route of one RPC, as the gateway's OpenAPI document describes it.
struct Route {
    method: reqwest::Method,
    /// The path, with every path variable set to a placeholder.
    path: String,
    /// The media type of the request body, if the route takes one.
    body: Option<String>,
}

/// The REST route of every RPC, by `Service_Method` (the operation ids of `/openapi.json`).
async fn rest_routes(client: &reqwest::Client, gateway: SocketAddr) -> BTreeMap<String, Route> {
    let document: Json = client
        .get(format!("http://{gateway}/openapi.json"))
        .send()
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("the OpenAPI document is JSON");
    let mut routes = BTreeMap::new();
    for (template, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(operation_id) = operation["operationId"].as_str() else {
                continue;
            };
            let route = Route {
                method: method.to_ascii_uppercase().parse().expect("an HTTP method"),
                path: with_placeholders(template),
                body: operation["requestBody"]["content"]
                    .as_object()
                    .and_then(|content| content.keys().next().cloned()),
            };
            routes.insert(operation_id.to_owned(), route);
        }
    }
    routes
}

/// `/v1/installations/{id}:publish` → `/v1/installations/<an id>:publish`. The value does not
/// matter: the edge decides before anything reads it.
fn with_placeholders(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed path variable");
        path.push_str(&rest[..open]);
        path.push_str("0190f0a0-0000-7000-8000-000000000001");
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}

/// Calls `route` with an empty message (`{}`, or no line of a stream) and reads the verdict from
/// the HTTP status and the JSON error; a 200 stream is not read.
async fn rest_call(client: &reqwest::Client, gateway: SocketAddr, route: &Route, bearer: Option<&str>) -> Called {
    let mut request = client.request(route.method.clone(), format!("http://{gateway}{}", route.path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(media_type) = &route.body {
        let empty = if media_type == "application/json" { "{}" } else { "" };
        request = request.header("content-type", media_type).body(empty);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    if status == 200 {
        return Called {
            verdict: Verdict::Admitted,
            answer: "HTTP 200".to_owned(),
        };
    }
    let error: Json = response.json().await.expect("a JSON error");
    // The HTTP status is the shared mapping's for the code (rti_platform::error::ErrorCode).
    for (http_status, code) in [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")] {
        assert_eq!(
            status == http_status,
            error["status"] == code,
            "{} {}: HTTP {status} {error}",
            route.method,
            route.path
        );
    }
    let verdict = match (status, error["status"].as_str()) {
        (401, Some("UNAUTHENTICATED")) => Verdict::Unauthenticated,
        (403, Some("PERMISSION_DENIED"))
            if error["message"]
                .as_str()
                .is_some_and(|message| message.contains("is for the roles")) =>
        {
            Verdict::Forbidden
        }
        _ => Verdict::Admitted,
    };
    Called {
        verdict,
        answer: format!("HTTP {status} {error}"),
    }
}

async fn every_rpc_of_every_service_admits_exactly_its_roles_over_rest(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    // reqwest is built without a TLS provider of its own; this speaks plain HTTP.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let routes = rest_routes(&client, suite.gateway).await;
    walk_the_matrix(async |service, method, bearer| {
        let short_name = service.rsplit('.').next().unwrap_or(service);
        let route = routes
            .get(&format!("{short_name}_{method}"))
            .unwrap_or_else(|| panic!("{service}/{method} has no REST binding (google.api.http)"));
        rest_call(&client, suite.gateway, route, bearer).await
    })
    .await;
}

backend_tests!(
    every_rpc_of_every_service_admits_exactly_its_roles_through_the_gateway,
    every_rpc_of_every_service_admits_exactly_its_roles_over_rest,
);
