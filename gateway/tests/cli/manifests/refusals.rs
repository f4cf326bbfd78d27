//! The checkers on broken snippets: each mistake a manifest could make is reported, so the
//! checks of the real files above cannot pass by checking nothing.

use super::checker::{Commands, check_container};
use super::{compose, kubernetes};

const SERVICE: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: rti-config
data:
  RTI_LOG_FORMAT: json
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: registry
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app.kubernetes.io/name: registry
    spec:
      containers:
        - name: registry
          image: rti-access:latest
          args: ["serve", "registry", "--listen", "0.0.0.0:50051", "--metrics-listen", "0.0.0.0:9090"]
          ports:
            - name: grpc
              containerPort: 50051
            - name: metrics
              containerPort: 9090
          envFrom:
            - configMapRef:
                name: rti-config
          env:
            - name: RTI_SERVICE_DATABASE_URL
              value: postgres://db/registry
          readinessProbe:
            grpc:
              port: 50051
              service: rti.registry.v1.RegistryService
"#;

/// The problems the checker finds in SERVICE after `edit` (from, to).
fn problems_after(edit: (&str, &str)) -> Vec<String> {
    assert!(SERVICE.contains(edit.0), "the snippet holds {:?}", edit.0);
    let objects = kubernetes::documents(&SERVICE.replacen(edit.0, edit.1, 1));
    let config_maps = kubernetes::config_maps(&objects);
    let commands = Commands::of_the_binary();
    kubernetes::containers("snippet.yaml", &objects[1], &config_maps)
        .iter()
        .flat_map(|container| check_container(&commands, container))
        .collect()
}

fn assert_reported(problems: &[String], mentions: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|problem| mentions.iter().all(|mention| problem.contains(mention))),
        "no problem mentions {mentions:?}: {problems:#?}"
    );
}

#[test]
fn the_snippet_as_written_passes() {
    assert_eq!(problems_after(("", "")), Vec::<String>::new());
}

#[test]
fn an_unknown_environment_variable_is_reported_by_name() {
    let problems = problems_after(("RTI_SERVICE_DATABASE_URL", "RTI_SERVICE_DATABSE_URL"));
    assert_reported(&problems, &["RTI_SERVICE_DATABSE_URL", "rti serve", "--help"]);
}

#[test]
fn a_config_map_key_the_command_does_not_read_is_reported() {
    let problems = problems_after(("RTI_LOG_FORMAT: json", "RTI_GATEWAY_METRICS_LISTEN: 0.0.0.0:9090"));
    assert_reported(&problems, &["RTI_GATEWAY_METRICS_LISTEN", "rti serve"]);
}

#[test]
fn an_unknown_flag_command_or_service_is_reported() {
    assert_reported(
        &problems_after(("--metrics-listen", "--metric-listen")),
        &["--metric-listen", "not a flag"],
    );
    assert_reported(
        &problems_after(("[\"serve\"", "[\"server\"")),
        &["rti server", "not a command"],
    );
    assert_reported(
        &problems_after(("\"serve\", \"registry\"", "\"serve\", \"catalogue\"")),
        &["rti serve catalogue", "none of"],
    );
}

#[test]
fn a_port_or_probe_that_is_no_listen_address_is_reported() {
    assert_reported(
        &problems_after(("containerPort: 9090", "containerPort: 9091")),
        &["containerPort 9091"],
    );
    assert_reported(
        &problems_after(("0.0.0.0:9090", "0.0.0.0:9092")),
        &["listens on 9092", "no containerPort"],
    );
    assert_reported(
        &problems_after((
            "port: 50051\n              service",
            "port: 9090\n              service",
        )),
        &["readinessProbe asks port 9090"],
    );
}

const POLICIES: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: intake
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: intake
    spec:
      containers:
        - name: intake
          image: rti-access:latest
          args: ["serve", "intake", "--listen", "0.0.0.0:50051"]
          ports:
            - name: grpc
              containerPort: 50051
          env:
            - name: RTI_SERVICE_REGISTRY_URL
              value: http://registry:50051
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: registry
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: registry
    spec:
      containers:
        - name: registry
          image: rti-access:latest
          args: ["serve", "registry", "--listen", "0.0.0.0:50051"]
          ports:
            - name: grpc
              containerPort: 50051
---
apiVersion: v1
kind: Service
metadata:
  name: registry
spec:
  selector:
    app.kubernetes.io/name: registry
  ports:
    - port: 50051
      targetPort: grpc
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: registry
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: registry
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: intake
      ports:
        - port: 50051
"#;

fn object_problems(text: &str) -> Vec<String> {
    kubernetes::check_objects(&kubernetes::documents(text))
}

#[test]
fn network_policies_must_admit_each_upstream_call_and_keep_services_private() {
    assert_eq!(object_problems(POLICIES), Vec::<String>::new());
    let caller_missing = POLICIES.replacen("name: intake\n      ports", "name: gateway\n      ports", 1);
    assert_reported(&object_problems(&caller_missing), &["intake calls registry on 50051"]);
    let open = POLICIES.replacen(
        "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: intake\n      ports:",
        "    - ports:",
        1,
    );
    assert!(open.len() < POLICIES.len(), "the edit applied");
    assert_reported(
        &object_problems(&open),
        &["NetworkPolicy/registry admits callers from outside"],
    );
    let wrong_target = POLICIES.replacen("targetPort: grpc", "targetPort: http", 1);
    assert_reported(&object_problems(&wrong_target), &["Service/registry", "targetPort"]);
}

const COMPOSE: &str = r#"
x-rti: &rti
  image: rti-access:latest
services:
  registry:
    <<: *rti
    command: ["serve", "registry", "--listen", "0.0.0.0:50051", "--metrics-listen", "0.0.0.0:9090"]
    environment:
      RTI_SERVICE_DATABASE_URL: sqlite:///data/registry.db
    healthcheck:
      test: ["CMD", "rti", "health-check", "http://127.0.0.1:50051", "--service", "rti.registry.v1.RegistryService"]
  intake:
    <<: *rti
    command: ["serve", "intake", "--listen", "0.0.0.0:50051"]
    environment:
      RTI_SERVICE_REGISTRY_URL: http://registry:50051
    healthcheck:
      test: ["CMD", "rti", "health-check", "127.0.0.1:50051"]
    depends_on:
      registry:
        condition: service_healthy
"#;

const SCRAPED: &str = "scrape_configs:\n  - static_configs:\n      - targets: [\"registry:9090\"]\n";

fn compose_problems(compose_text: &str, prometheus_text: &str) -> Vec<String> {
    let compose = compose::load(compose_text);
    let commands = Commands::of_the_binary();
    let mut problems: Vec<String> = compose::containers(&compose)
        .iter()
        .flat_map(|container| check_container(&commands, container))
        .collect();
    problems.extend(compose::check_services(
        &compose,
        &kubernetes::documents(prometheus_text)[0],
    ));
    problems
}

#[test]
fn compose_start_order_healthchecks_and_scrapes_are_checked() {
    assert_eq!(compose_problems(COMPOSE, SCRAPED), Vec::<String>::new());
    let unordered = COMPOSE.replacen("condition: service_healthy", "condition: service_started", 1);
    assert_reported(&compose_problems(&unordered, SCRAPED), &["intake", "service_healthy"]);
    let misprobed = COMPOSE.replacen("\"127.0.0.1:50051\"]", "\"127.0.0.1:9090\"]", 1);
    assert_reported(&compose_problems(&misprobed, SCRAPED), &["healthcheck asks port 9090"]);
    let bad_flag = COMPOSE.replacen("\"--service\"", "\"--name\"", 1);
    assert_reported(&compose_problems(&bad_flag, SCRAPED), &["--name", "rti health-check"]);
    let typo = COMPOSE.replacen("RTI_SERVICE_REGISTRY_URL", "RTI_REGISTRY_URL", 1);
    assert_reported(&compose_problems(&typo, SCRAPED), &["RTI_REGISTRY_URL"]);
    let unscraped = SCRAPED.replacen("registry:9090", "intake:9090", 1);
    assert_reported(
        &compose_problems(COMPOSE, &unscraped),
        &["intake:9090", "scraped but served by no service"],
    );
}
