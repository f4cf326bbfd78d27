//! `GET /v1/audit?after=N&limit=M`: the chain as JSON lines, one entry a line, in order, from
//! the entry after sequence `after` (0, the start, by default), at most `limit` entries (all by
//! default), for admins only (DESIGN §4): 401 without a valid token, 403 for every other role.
//! The answer streams page by page, so a long chain is never held in memory; `rti audit verify`
//! reads the file it makes.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use rti_platform::auth::{Authenticator, Role};
use rti_platform::error::{ErrorCode, error_chain};

use super::store::AuditStore;

/// Entries read from the store at a time.
const PAGE: i64 = 500;

#[derive(Debug, Clone)]
pub(crate) struct Export {
    store: AuditStore,
    authenticator: Authenticator,
}

/// The export's route, to merge into the gateway's router.
pub(crate) fn export_routes(store: AuditStore, authenticator: Authenticator) -> axum::Router {
    axum::Router::new()
        .route("/v1/audit", axum::routing::get(export))
        .with_state(Export { store, authenticator })
}

async fn export(State(export): State<Export>, headers: http::HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query: HashMap<String, String> = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect();
    let principal = match export
        .authenticator
        .authenticate(headers.get(http::header::AUTHORIZATION))
        .await
    {
        Ok(Some(principal)) => principal,
        Ok(None) => {
            return refuse(
                ErrorCode::Unauthenticated,
                "the audit export needs an admin's bearer token",
            );
        }
        Err(error) => return refuse(ErrorCode::Unauthenticated, &error.to_string()),
    };
    if !principal.has_role(Role::Admin) {
        return refuse(ErrorCode::PermissionDenied, "the audit export is for the role: admin");
    }
    let after = match number(&query, "after") {
        Ok(after) => after.unwrap_or(0),
        Err(response) => return *response,
    };
    let limit = match number(&query, "limit") {
        Ok(limit) => limit.unwrap_or(i64::MAX),
        Err(response) => return *response,
    };
    if let Some(unknown) = query.keys().find(|key| *key != "after" && *key != "limit") {
        return refuse(
            ErrorCode::InvalidArgument,
            &format!("{unknown}: unknown parameter; the export takes after and limit"),
        );
    }
    let pages = futures::stream::unfold((export.store, after, limit), |(store, after, remaining)| async move {
        if remaining <= 0 {
            return None;
        }
        match store.entries_after(after, remaining.min(PAGE)).await {
            Ok(entries) if entries.is_empty() => None,
            Ok(entries) => {
                let last = entries.last().map_or(after, |entry| entry.sequence);
                let taken = i64::try_from(entries.len()).unwrap_or(i64::MAX);
                let mut text = String::new();
                for entry in &entries {
                    text.push_str(&entry.to_json_line());
                    text.push('\n');
                }
                Some((Ok::<_, std::io::Error>(text), (store, last, remaining - taken)))
            }
            Err(error) => {
                // The status line is sent already: cut the body short, so the client sees
                // an incomplete answer rather than a complete-looking one.
                tracing::error!(error = %error_chain(&error), "cannot read the audit chain for an export");
                Some((Err(std::io::Error::other("the audit store failed")), (store, after, 0)))
            }
        }
    });
    let mut response = axum::body::Body::from_stream(pages.boxed()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/jsonl; charset=utf-8"),
    );
    response
}

/// A non-negative integer parameter, or the 400 that names it.
fn number(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Box<Response>> {
    let Some(text) = query.get(name) else { return Ok(None) };
    text.parse::<i64>()
        .ok()
        .filter(|value| *value >= 0)
        .map(Some)
        .ok_or_else(|| {
            Box::new(refuse(
                ErrorCode::InvalidArgument,
                &format!("{name}: {text:?} is not a non-negative integer"),
            ))
        })
}

/// An error as JSON, with the HTTP status of its code.
fn refuse(code: ErrorCode, message: &str) -> Response {
    let body = serde_json::json!({
        "code": rti_platform::metrics::code_name(i32::from(code.grpc_code())),
        "message": message,
    });
    (code.http_status(), axum::Json(body)).into_response()
}
