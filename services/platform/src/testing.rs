//! Test helpers (feature `testing`): a throwaway database on either backend, a macro that runs a
//! test body once on SQLite and once on PostgreSQL, test tokens, calls and their outcomes, polling,
//! and logs when `TEST_LOG` is set.
//!
//! PostgreSQL tests create a fresh database per test in the cluster that `RTI_TEST_POSTGRES_URL`
//! points at (`scripts/test` starts one). Without it they fail, naming the variable, unless
//! `RTI_TEST_SKIP_POSTGRES=1` says to skip them on purpose.

use std::time::Duration;

use crate::auth::{Claims, Role, mint_hs256};
use crate::config::AuthConfig;
use crate::db::{Backend, DatabaseUrl};

/// The HS256 secret of people's tokens that test services are configured with.
pub const TEST_SECRET: &str = "rti-test-secret-not-for-production-0123456789";

/// The HS256 secret of service-to-service tokens that test services are configured with.
pub const TEST_SERVICE_SECRET: &str = "rti-test-service-secret-not-for-production-9876543210";

pub fn test_auth() -> AuthConfig {
    AuthConfig {
        secret: Some(TEST_SECRET.into()),
        service_secret: Some(TEST_SERVICE_SECRET.into()),
        ..AuthConfig::default()
    }
}

/// A token for `role`, valid for an hour: signed with [`TEST_SECRET`], or for the `service` role
/// a service token (the service audience, signed with [`TEST_SERVICE_SECRET`]).
pub fn token(role: Role) -> String {
    let subject = format!("test-{}", role.as_str());
    let ttl = Duration::from_secs(3600);
    if role == Role::Service {
        let claims = Claims::for_service(subject, crate::config::DEFAULT_SERVICE_AUDIENCE, ttl);
        return mint_hs256(TEST_SERVICE_SECRET, &claims).expect("HS256 signing with a static secret cannot fail");
    }
    sign(Claims::new(subject, &[role], ttl))
}

/// An operator token scoped to `infrastructures`.
pub fn operator_token(infrastructures: &[&str]) -> String {
    let mut claims = Claims::new("test-operator", &[Role::Operator], Duration::from_secs(3600));
    claims.infrastructures = infrastructures.iter().map(|id| (*id).to_owned()).collect();
    sign(claims)
}

pub fn sign(claims: Claims) -> String {
    mint_hs256(TEST_SECRET, &claims).expect("HS256 signing with a static secret cannot fail")
}

/// `authorization` metadata for a token.
pub fn bearer(token: &str) -> tonic::metadata::MetadataValue<tonic::metadata::Ascii> {
    format!("Bearer {token}").parse().expect("a JWT is ASCII")
}

/// A request carrying `token` as its bearer token.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", bearer(token));
    request
}

/// A channel to a test server at `address`; fails the test if it cannot connect within 5 s.
pub async fn connect(address: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("an address makes a URI")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("connect to {address}: {error}"))
}

/// The code a call ended with: `Ok` for an answer.
pub fn code_of<T>(outcome: &Result<T, tonic::Status>) -> tonic::Code {
    outcome.as_ref().err().map_or(tonic::Code::Ok, tonic::Status::code)
}

/// Asserts that a call ended with `expected` (`Code::Ok` for an answer).
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(outcome: &Result<T, tonic::Status>, expected: tonic::Code, what: &str) {
    assert_eq!(code_of(outcome), expected, "{what}: {outcome:?}");
}

/// The answer of a call that must succeed.
#[track_caller]
pub fn expect_ok<T: std::fmt::Debug>(outcome: Result<tonic::Response<T>, tonic::Status>, what: &str) -> T {
    expect_code(&outcome, tonic::Code::Ok, what);
    outcome.expect("checked above").into_inner()
}

/// Polls `probe` every 20 ms until it yields a value; fails the test after 15 s. A guard
/// against a hang, not a timing assertion.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The field paths of an INVALID_ARGUMENT status's `google.rpc.BadRequest` details, in order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}

/// The subjects of a FAILED_PRECONDITION status's `google.rpc.PreconditionFailure` details.
pub fn failed_subjects(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|violation| violation.subject)
                .collect()
        })
        .unwrap_or_default()
}

/// A database that lives as long as the value (SQLite) or the test cluster (PostgreSQL).
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    _directory: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh, empty database; `None` when PostgreSQL tests are skipped on purpose.
    pub async fn create(backend: Backend) -> Option<Self> {
        init_logging();
        match backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().expect("a temporary directory");
                let url = DatabaseUrl::sqlite_file(&directory.path().join("test.db"));
                Some(Self {
                    url,
                    _directory: Some(directory),
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("RTI_TEST_POSTGRES_URL") else {
                    if std::env::var("RTI_TEST_SKIP_POSTGRES").is_ok_and(|value| value == "1") {
                        eprintln!("skipped: RTI_TEST_SKIP_POSTGRES=1");
                        return None;
                    }
                    panic!(
                        "RTI_TEST_POSTGRES_URL is not set: run the tests with scripts/test, or point it at a \
                         PostgreSQL superuser URL (RTI_TEST_SKIP_POSTGRES=1 skips these tests on purpose)"
                    );
                };
                Some(Self {
                    url: create_postgres_database(&admin_url).await,
                    _directory: None,
                })
            }
        }
    }
}

async fn create_postgres_database(admin_url: &str) -> DatabaseUrl {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("rti_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::AnyConnection::connect(admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to RTI_TEST_POSTGRES_URL {admin_url}: {error}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    let mut url = url::Url::parse(admin_url).expect("RTI_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.as_str().parse().expect("a postgres URL")
}

/// Sends logs to the test output when `TEST_LOG` is set; otherwise tests are quiet.
pub fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_test_writer()
            .try_init();
    }
}

/// Runs each named `async fn(Backend)` as two tests, `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::db::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::db::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// Fails unless `table` has exactly one rule per RPC that its service declares.
pub fn assert_table_matches_descriptor(table: &crate::authz::AuthzTable) {
    let declared = crate::authz::declared_methods(table.service);
    assert!(!declared.is_empty(), "{} is not in the descriptor set", table.service);
    let listed: Vec<String> = table.rules.iter().map(|rule| rule.method.to_owned()).collect();
    for method in &declared {
        assert_eq!(
            listed.iter().filter(|listed| *listed == method).count(),
            1,
            "{method} must be listed once"
        );
    }
    for method in &listed {
        assert!(declared.contains(method), "{method} is listed but not declared");
    }
}

/// Calls `/{service}/{method}` with an empty request (every field at its default) and returns
/// the status of the response headers: `Ok` once the call was accepted, or the error. Streams
/// are not read. This lets one test walk every RPC × role without a typed client per RPC.
pub async fn call_with_empty_request(
    channel: tonic::transport::Channel,
    service: &str,
    method: &str,
    token: Option<&str>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let mut request = tonic::Request::new(Vec::new());
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", bearer(token));
    }
    let path = format!("/{service}/{method}")
        .parse()
        .expect("service and method names form a path");
    grpc.server_streaming(request, path, RawCodec).await.map(|_| ())
}

/// A codec that passes message bytes through untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, destination: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(destination, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, source: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let length = bytes::Buf::remaining(source);
        Ok(Some(bytes::Buf::copy_to_bytes(source, length).to_vec()))
    }
}

/// Holds the store's write path from outside the service until dropped or released: the SQLite
/// write lock (`BEGIN IMMEDIATE` on another connection), or on PostgreSQL a lock on the outbox
/// that keeps events from being inserted. A service write started meanwhile waits, which lets a
/// test keep a call in flight.
#[derive(Debug)]
pub struct WriterHold {
    connection: sqlx::AnyConnection,
}

impl WriterHold {
    pub async fn take(url: &DatabaseUrl) -> Self {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(url.as_str())
            .await
            .expect("connect to the test database");
        let statements: &[&'static str] = match url.backend() {
            Backend::Sqlite => &["BEGIN IMMEDIATE"],
            Backend::Postgres => &["BEGIN", "LOCK TABLE outbox IN EXCLUSIVE MODE"],
        };
        for statement in statements {
            sqlx::query(*statement)
                .execute(&mut connection)
                .await
                .expect("take the writer lock");
        }
        Self { connection }
    }

    pub async fn release(mut self) {
        use sqlx::Connection;
        // Closing the connection ends the transaction, and its lock with it.
        let _ = sqlx::query("SELECT 1").execute(&mut self.connection).await;
        self.connection.close().await.expect("close the lock holder");
    }
}

/// Checks a running service: health SERVING for its gRPC service, and its `Subscribe` guarded
/// by its table both ways (anonymous UNAUTHENTICATED, funder PERMISSION_DENIED, service and admin
/// accepted).
pub async fn assert_serves_health_and_guards_subscribe(
    channel: tonic::transport::Channel,
    table: &crate::authz::AuthzTable,
) {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let request = tonic_health::pb::HealthCheckRequest {
        service: table.service.to_owned(),
    };
    let status = health.check(request).await.expect("health answers").into_inner().status;
    assert_eq!(status, ServingStatus::Serving as i32, "{} is SERVING", table.service);

    let anonymous = call_with_empty_request(channel.clone(), table.service, "Subscribe", None).await;
    assert_eq!(anonymous.expect_err("anonymous").code(), tonic::Code::Unauthenticated);
    let funder = call_with_empty_request(channel.clone(), table.service, "Subscribe", Some(&token(Role::Funder))).await;
    assert_eq!(funder.expect_err("funder").code(), tonic::Code::PermissionDenied);
    for role in [Role::Service, Role::Admin] {
        call_with_empty_request(channel.clone(), table.service, "Subscribe", Some(&token(role)))
            .await
            .expect("allowed");
    }
}

/// The value of the sample `name` whose labels include every pair of `labels` (in any order) in
/// the OpenMetrics text `exposition`; `None` when there is none. Label values with escaped
/// quotes are not needed by the suite's metrics and are not parsed.
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, label_text) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.strip_suffix('}')?),
            None => (series, ""),
        };
        if series_name != name {
            return None;
        }
        let present: Vec<(&str, &str)> = label_text
            .split(',')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (key, quoted) = pair.split_once('=')?;
                Some((key, quoted.trim_matches('"')))
            })
            .collect();
        labels
            .iter()
            .all(|wanted| present.contains(wanted))
            .then(|| value.parse().ok())
            .flatten()
    })
}

/// `GET path` over HTTP/1.1 on `address` with `headers`: the status and the body (de-chunked).
/// For the metrics port and the gateway's plain HTTP endpoints, without an HTTP client.
pub async fn http_get(address: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"));
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("send the request");
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut response))
        .await
        .expect("an answer within 10 s")
        .expect("a UTF-8 answer");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let chunked = head
        .lines()
        .any(|line| line.to_ascii_lowercase().starts_with("transfer-encoding: chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    (status, body)
}

/// The data of an HTTP/1.1 chunked body.
fn dechunk(mut body: &str) -> String {
    let mut data = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or_default().trim(), 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size:?}"));
        if size == 0 {
            break;
        }
        data.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    data
}

/// The count of the histogram `name` (its `+Inf` bucket) for `labels` in `exposition`, after
/// checking that it has buckets and that each counts at least as many calls as the one below it
/// (buckets are cumulative; the exposition lists them in ascending order).
pub fn cumulative_histogram_count(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let bucket = format!("{name}_bucket");
    let counts: Vec<(String, f64)> = exposition
        .lines()
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let bound = series.strip_prefix(&format!("{bucket}{{le=\""))?.split('"').next()?;
            let mut with_bound = labels.to_vec();
            with_bound.push(("le", bound));
            metric_value(line, &bucket, &with_bound)?;
            Some((bound.to_owned(), value.parse().ok()?))
        })
        .collect();
    assert!(
        counts.len() > 1 && counts.last().is_some_and(|(bound, _)| bound == "+Inf"),
        "no {bucket} up to +Inf for {labels:?} in:\n{exposition}"
    );
    assert!(
        counts.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "{bucket} for {labels:?} is not cumulative: {counts:?}"
    );
    counts.last().map_or(0.0, |(_, count)| *count)
}
