//! The rti containers of a compose file, and its start order: every upstream a service is
//! given is a dependency that must be healthy first, checked by a healthcheck that asks gRPC
//! health on the port the upstream listens on; Prometheus scrapes each metrics port.

use std::collections::BTreeSet;

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

use super::checker::{Container, Probe, port_of};
use super::kubernetes::{IMAGE, list, text};

/// The compose file with its merge keys (`<<: *anchor`) applied, as compose applies them: the
/// mapping's own keys win over merged ones.
pub fn load(source: &str) -> Yaml {
    let document = yaml_rust2::YamlLoader::load_from_str(source)
        .expect("valid YAML")
        .into_iter()
        .next()
        .expect("one document");
    merged(&document)
}

fn merged(yaml: &Yaml) -> Yaml {
    match yaml {
        Yaml::Hash(hash) => {
            let merge_key = Yaml::String("<<".into());
            let mut result = Hash::new();
            let sources = match hash.get(&merge_key) {
                Some(Yaml::Array(sources)) => sources.clone(),
                Some(source) => vec![source.clone()],
                None => Vec::new(),
            };
            for source in &sources {
                if let Yaml::Hash(inherited) = merged(source) {
                    result.extend(inherited);
                }
            }
            for (key, value) in hash.iter().filter(|(key, _)| **key != merge_key) {
                result.insert(key.clone(), merged(value));
            }
            Yaml::Hash(result)
        }
        Yaml::Array(items) => Yaml::Array(items.iter().map(merged).collect()),
        other => other.clone(),
    }
}

fn services(compose: &Yaml) -> Vec<(String, &Yaml)> {
    compose["services"]
        .as_hash()
        .map(|services| {
            services
                .iter()
                .filter_map(|(name, service)| Some((name.as_str()?.to_owned(), service)))
                .collect()
        })
        .unwrap_or_default()
}

fn is_rti(service: &Yaml) -> bool {
    service["image"].as_str().is_some_and(|image| image.starts_with(IMAGE))
}

/// What a healthcheck runs after `rti`, when it runs the binary (`["CMD", "rti", …]`).
fn healthcheck_command(service: &Yaml) -> Option<Vec<String>> {
    let test: Vec<String> = list(&service["healthcheck"]["test"]).iter().filter_map(text).collect();
    match test.as_slice() {
        [cmd, binary, rest @ ..] if cmd == "CMD" && binary == "rti" => Some(rest.to_vec()),
        _ => None,
    }
}

/// Each rti service as a container, and each healthcheck that runs `rti` as one more (its flags
/// are checked like any command's).
pub fn containers(compose: &Yaml) -> Vec<Container> {
    let mut found = Vec::new();
    for (name, service) in services(compose).into_iter().filter(|(_, service)| is_rti(service)) {
        let env = service["environment"]
            .as_hash()
            .map(|environment| {
                environment
                    .iter()
                    .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), text(value))))
                    .collect()
            })
            .unwrap_or_default();
        let mut probes = Vec::new();
        if let Some(check) = healthcheck_command(service) {
            let checker = Container {
                origin: format!("compose.yaml services.{name}.healthcheck"),
                args: check,
                ..Container::default()
            };
            if checker.command() == "health-check" {
                probes.push(Probe {
                    what: "healthcheck".into(),
                    port: checker
                        .args
                        .get(1)
                        .and_then(|address| port_of(address))
                        .unwrap_or_default(),
                    service: checker.argument("--service").unwrap_or_default().to_owned(),
                });
            }
            found.push(checker);
        }
        found.push(Container {
            origin: format!("compose.yaml services.{name}"),
            args: list(&service["command"]).iter().filter_map(text).collect(),
            env,
            ports: None,
            probes,
        });
    }
    found
}

/// Start order and scraping: the rules that span services.
pub fn check_services(compose: &Yaml, prometheus: &Yaml) -> Vec<String> {
    let mut problems = Vec::new();
    let all = services(compose);
    let rti: Vec<(String, Container)> = containers(compose)
        .into_iter()
        .filter(|container| !container.origin.ends_with(".healthcheck"))
        .map(|container| {
            (
                container.origin.trim_start_matches("compose.yaml services.").to_owned(),
                container,
            )
        })
        .collect();
    let healthy_dependency = |service: &Yaml, dependency: &str| {
        service["depends_on"][dependency]["condition"].as_str() == Some("service_healthy")
    };
    for (name, container) in &rti {
        let service = all
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, service)| *service);
        let Some(service) = service else { continue };
        if healthcheck_command(service).is_none() {
            problems.push(format!("compose.yaml {name}: no healthcheck runs `rti health-check`"));
        }
        for (variable, value) in &container.env {
            let Some(url) = value.as_deref().filter(|value| value.starts_with("http://")) else {
                continue;
            };
            let host = url.trim_start_matches("http://").split(':').next().unwrap_or_default();
            let Some((_, upstream)) = rti.iter().find(|(candidate, _)| candidate == host) else {
                continue;
            };
            if port_of(url) != upstream.grpc_port() {
                problems.push(format!(
                    "compose.yaml {name}: {variable}={url}, but {host} listens on {:?}",
                    upstream.grpc_port()
                ));
            }
            if !healthy_dependency(service, host) {
                problems.push(format!(
                    "compose.yaml {name}: calls {host} ({variable}) without depends_on {host}: condition: service_healthy"
                ));
            }
        }
        if let Some(database) = container
            .env
            .iter()
            .find(|(variable, _)| variable.ends_with("DATABASE_URL"))
            && database.1.as_deref().is_some_and(|url| url.contains("@postgres:"))
            && !healthy_dependency(service, "postgres")
        {
            problems.push(format!(
                "compose.yaml {name}: uses PostgreSQL without waiting for it to be healthy"
            ));
        }
    }
    let targets: BTreeSet<String> = list(&prometheus["scrape_configs"])
        .iter()
        .flat_map(|job| list(&job["static_configs"]))
        .flat_map(|config| list(&config["targets"]))
        .filter_map(text)
        .collect();
    let expected: BTreeSet<String> = rti
        .iter()
        .filter_map(|(name, container)| Some(format!("{name}:{}", container.metrics_port()?)))
        .collect();
    for target in targets.symmetric_difference(&expected) {
        problems.push(format!(
            "prometheus.yaml: {target} is {} (metrics ports given: {expected:?})",
            if targets.contains(target) {
                "scraped but served by no service"
            } else {
                "served but not scraped"
            }
        ));
    }
    problems
}
