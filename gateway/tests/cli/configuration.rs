//! Bad configuration stops `rti` at start with exactly one clear line on stderr.

use rti_platform::auth::Authenticator;
use rti_platform::config::AuthConfig;

use crate::{run, stderr_lines};

const SECRET: &str = "a-development-secret-of-more-than-32-bytes";
const SERVICE_SECRET: &str = "the-services-own-secret-of-more-than-32-bytes";

fn assert_one_line_error(arguments: &[&str], code: i32, mentions: &[&str]) {
    let output = run(arguments);
    assert_eq!(output.status.code(), Some(code), "{arguments:?}: {output:?}");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{arguments:?} printed {lines:#?}");
    assert!(lines[0].starts_with("rti: "), "{}", lines[0]);
    for mention in mentions {
        assert!(
            lines[0].contains(mention),
            "{:?} does not mention {mention:?}",
            lines[0]
        );
    }
}

#[test]
fn an_unsupported_database_url_is_one_line_naming_the_accepted_schemes() {
    assert_one_line_error(
        &["serve", "registry", "--database-url", "mysql://localhost/registry"],
        2,
        &["--database-url", "expected sqlite://PATH or postgres://"],
    );
}

#[test]
fn an_unparsable_listen_address_is_one_line_naming_the_flag() {
    assert_one_line_error(
        &["up", "--listen", "localhost-8080"],
        2,
        &["--listen", "localhost-8080"],
    );
}

#[test]
fn missing_upstreams_are_one_line_listing_them() {
    assert_one_line_error(
        &["gateway", "--registry", "http://127.0.0.1:1"],
        2,
        &["--intake", "--allocation", "--reporting"],
    );
}

/// `rti gateway` with a balanced registry and `extra` arguments.
fn gateway_with(extra: &[&'static str]) -> Vec<&'static str> {
    let mut arguments = vec![
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--registry",
        "http://127.0.0.1:1,http://127.0.0.1:2",
        "--intake",
        "http://127.0.0.1:3",
        "--allocation",
        "http://127.0.0.1:4",
        "--reporting",
        "http://127.0.0.1:5",
        "--auth-secret",
        SECRET,
    ];
    arguments.extend_from_slice(extra);
    arguments
}

#[test]
fn a_bad_rate_limit_or_origin_is_one_line_naming_the_flag() {
    assert_one_line_error(
        &gateway_with(&["--rate-limit", "visitor=5/s"]),
        2,
        &["--rate-limit", "\"visitor\" is not anonymous, all or a role"],
    );
    assert_one_line_error(
        &gateway_with(&["--rate-limit", "anonymous=0/s"]),
        2,
        &["--rate-limit", "use off for no limit"],
    );
    assert_one_line_error(
        &gateway_with(&["--cors-origin", "https://portal.example/app"]),
        2,
        &["--cors-origin", "is not an origin like https://portal.example"],
    );
}

#[test]
fn no_room_for_calls_to_an_upstream_fails_before_any_port_is_bound() {
    assert_one_line_error(
        &gateway_with(&["--upstream-max-in-flight", "0"]),
        1,
        &["invalid configuration", "calls in flight per upstream"],
    );
}

/// The Kubernetes example once shipped this value; a stack applied as shipped must not start
/// (anyone could mint an admin's token with it).
const SHIPPED_PLACEHOLDER: &str = "REPLACE_ME-with-a-secret-of-at-least-32-bytes";

#[test]
fn a_placeholder_secret_fails_before_any_port_is_bound() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}/registry.db", directory.path().display());
    let serve = [
        "serve",
        "registry",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &database,
        "--auth-secret",
        SHIPPED_PLACEHOLDER,
    ];
    assert_one_line_error(&serve, 1, &["invalid configuration", "placeholder"]);
    assert!(!directory.path().join("registry.db").exists());
    assert_one_line_error(
        &["token", "--role", "admin", "--auth-secret", SHIPPED_PLACEHOLDER],
        1,
        &["placeholder"],
    );
    let repeated = "x".repeat(48);
    assert_one_line_error(
        &["token", "--role", "admin", "--auth-secret", &repeated],
        1,
        &["too predictable"],
    );
}

#[test]
fn the_kubernetes_manifests_ship_no_secret() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes");
    let kustomization = std::fs::read_to_string(directory.join("kustomization.yaml")).expect("kustomization.yaml");
    let resources: Vec<&str> = kustomization
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.strip_prefix("- "))
        .map(str::trim)
        .collect();
    assert!(resources.len() >= 6, "{resources:?}");
    for resource in resources {
        let text = std::fs::read_to_string(directory.join(resource)).expect(resource);
        assert!(
            !text.lines().any(|line| line.trim() == "kind: Secret"),
            "{resource} applies a Secret: create rti-secrets out of band instead"
        );
        assert!(!text.contains("REPLACE_ME"), "{resource} holds a placeholder");
    }
}

#[test]
fn only_the_services_are_given_the_service_secret() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let read = |path: &str| std::fs::read_to_string(deploy.join(path)).expect(path);
    for service in ["registry", "intake", "allocation", "reporting"] {
        let manifest = read(&format!("kubernetes/{service}.yaml"));
        assert!(manifest.contains("RTI_AUTH_SERVICE_SECRET"), "{service}.yaml");
        assert!(manifest.contains("key: auth-service-secret"), "{service}.yaml");
    }
    assert!(
        !read("kubernetes/gateway.yaml").contains("SERVICE_SECRET"),
        "gateway.yaml"
    );
    let compose = read("compose.yaml");
    let gateway = compose
        .split("\n  gateway:\n")
        .nth(1)
        .expect("a gateway in compose.yaml");
    assert!(gateway.contains("<<: *rti-env") && !gateway.contains("service-env"));
    assert_eq!(compose.matches("<<: *rti-service-env").count(), 4, "the four services");
}

#[test]
fn a_short_secret_fails_before_any_port_is_bound() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}/registry.db", directory.path().display());
    assert_one_line_error(
        &[
            "serve",
            "registry",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database,
            "--auth-secret",
            "short",
        ],
        1,
        &["invalid configuration", "at least 32"],
    );
    assert!(
        !directory.path().join("registry.db").exists(),
        "configuration is checked before the store is opened"
    );
}

#[test]
fn a_service_without_any_way_to_verify_tokens_refuses_to_start() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}/intake.db", directory.path().display());
    assert_one_line_error(
        &[
            "serve",
            "intake",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database,
            "--registry-url",
            "http://127.0.0.1:1",
        ],
        1,
        &["RTI_AUTH_SECRET", "RTI_AUTH_JWKS_URL"],
    );
}

#[test]
fn intake_without_the_registry_refuses_to_start_naming_the_flag() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}/intake.db", directory.path().display());
    assert_one_line_error(
        &[
            "serve",
            "intake",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database,
            "--auth-secret",
            SECRET,
        ],
        1,
        &["--registry-url", "RTI_SERVICE_REGISTRY_URL"],
    );
}

#[test]
fn token_without_a_secret_says_where_one_comes_from() {
    let directory = tempfile::tempdir().expect("tempdir");
    let data_dir = directory.path().to_str().expect("utf-8 path");
    assert_one_line_error(
        &["token", "--role", "admin", "--data-dir", data_dir],
        1,
        &["RTI_AUTH_SECRET", "rti up"],
    );
}

#[tokio::test]
async fn token_prints_a_jwt_the_services_accept_with_its_scopes() {
    let output = crate::run(&[
        "token",
        "--role",
        "funder",
        "--country",
        "el",
        "--ttl",
        "5m",
        "--auth-secret",
        SECRET,
    ]);
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let authenticator = Authenticator::new(&AuthConfig {
        secret: Some(SECRET.into()),
        ..AuthConfig::default()
    })
    .expect("config");
    let principal = authenticator.verify(token.trim()).await.expect("a valid token");
    assert!(principal.has_role(rti_platform::auth::Role::Funder));
    assert_eq!(principal.country.as_deref(), Some("GR"), "EL is stored as GR");

    let both = crate::run(&[
        "token",
        "--role",
        "funder",
        "--country",
        "DE",
        "--eu",
        "--auth-secret",
        SECRET,
    ]);
    assert_eq!(both.status.code(), Some(2), "--country and --eu exclude each other");
}

#[tokio::test]
async fn a_service_token_is_signed_with_the_service_secret_only() {
    let output = crate::run(&[
        "token",
        "--role",
        "service",
        "--auth-secret",
        SECRET,
        "--auth-service-secret",
        SERVICE_SECRET,
    ]);
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let services = AuthConfig {
        secret: Some(SECRET.into()),
        service_secret: Some(SERVICE_SECRET.into()),
        ..AuthConfig::default()
    };
    let principal = Authenticator::new(&services)
        .expect("config")
        .verify(token.trim())
        .await
        .expect("a service token");
    assert!(principal.has_role(rti_platform::auth::Role::Service));
    // Without the service secret (the gateway), the same token is nobody's.
    let edge = AuthConfig {
        service_secret: None,
        ..services
    };
    assert!(
        Authenticator::new(&edge)
            .expect("config")
            .verify(token.trim())
            .await
            .is_err()
    );
    // No service secret at hand: `rti token` names the option rather than sign with the user secret.
    let directory = tempfile::tempdir().expect("tempdir");
    let data_dir = directory.path().to_str().expect("utf-8 path");
    assert_one_line_error(
        &[
            "token",
            "--role",
            "service",
            "--auth-secret",
            SECRET,
            "--data-dir",
            data_dir,
        ],
        1,
        &["RTI_AUTH_SERVICE_SECRET"],
    );
}

#[test]
fn an_unreachable_postgresql_is_one_line_with_the_real_cause() {
    assert_one_line_error(
        &[
            "serve",
            "registry",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://rti@127.0.0.1:1/registry",
            "--auth-secret",
            SECRET,
        ],
        1,
        &["cannot connect to the database", "Connection refused"],
    );
}

#[test]
fn an_sqlite_file_that_cannot_be_created_is_one_line() {
    assert_one_line_error(
        &[
            "serve",
            "reporting",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "sqlite:///proc/no-such-directory/reporting.db",
            "--auth-secret",
            SECRET,
            "--auth-service-secret",
            SERVICE_SECRET,
            "--registry-url",
            "http://127.0.0.1:1",
            "--intake-url",
            "http://127.0.0.1:1",
            "--allocation-url",
            "http://127.0.0.1:1",
        ],
        1,
        &[
            "cannot create the database file",
            "/proc/no-such-directory/reporting.db",
        ],
    );
}
