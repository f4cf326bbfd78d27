//! deploy/ checked against the binary, since no Docker engine or cluster runs here: every
//! variable the Dockerfile, compose and the Kubernetes manifests set is one `rti … --help`
//! lists for that command, every flag they pass is the command's, every port and probe is an
//! address the command listens on, every value parses (each command is started with them and
//! must stop only at its unreachable database), every probed health name is answered by the
//! process it probes, and the objects around the Deployments agree with them.

mod checker;
mod compose;
mod kubernetes;
pub mod live;
mod refusals;

use std::path::{Path, PathBuf};
use std::process::Output;

use rti_platform::db::Backend;
use yaml_rust2::Yaml;

use self::checker::{Commands, Container, Probe, check_container};
use crate::run;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy().join(path)).unwrap_or_else(|error| panic!("deploy/{path}: {error}"))
}

/// The objects `kubectl apply -k deploy/kubernetes` applies, from the kustomization's resources.
fn kubernetes_objects() -> Vec<(String, Yaml)> {
    let kustomization = kubernetes::documents(&read("kubernetes/kustomization.yaml"));
    let resources: Vec<String> = kubernetes::list(&kustomization[0]["resources"])
        .iter()
        .filter_map(kubernetes::text)
        .collect();
    assert!(resources.len() >= 7, "{resources:?}");
    resources
        .into_iter()
        .flat_map(|file| {
            let documents = kubernetes::documents(&read(&format!("kubernetes/{file}")));
            documents.into_iter().map(move |document| (file.clone(), document))
        })
        .collect()
}

fn kubernetes_containers(objects: &[(String, Yaml)]) -> Vec<Container> {
    let all: Vec<Yaml> = objects.iter().map(|(_, object)| object.clone()).collect();
    let config_maps = kubernetes::config_maps(&all);
    objects
        .iter()
        .filter(|(_, object)| kubernetes::kind(object) == "Deployment")
        .flat_map(|(file, deployment)| kubernetes::containers(&format!("kubernetes/{file}"), deployment, &config_maps))
        .collect()
}

/// The Dockerfile's runtime stage as containers: the default command with the image's `ENV`,
/// and its `HEALTHCHECK` command, whose port must be the default command's.
fn dockerfile_containers(dockerfile: &str) -> Vec<Container> {
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap_or(dockerfile);
    let joined = runtime.replace("\\\n", " ");
    let exec_form = |line: &str, instruction: &str| -> Option<Vec<String>> {
        let array = line.split_once(instruction)?.1.trim();
        serde_json::from_str(&array[array.find('[')?..]).ok()
    };
    let mut command = Container {
        origin: "Dockerfile CMD".into(),
        ..Container::default()
    };
    let mut health = None;
    for line in joined.lines().map(str::trim) {
        if let Some(variable) = line.strip_prefix("ENV ") {
            let (name, value) = variable.split_once('=').unwrap_or((variable, ""));
            command
                .env
                .push((name.trim().to_owned(), Some(value.trim().to_owned())));
        } else if line.starts_with("CMD ") {
            command.args = exec_form(line, "CMD").expect("CMD in exec form");
        } else if line.starts_with("HEALTHCHECK ") {
            let run = exec_form(line, " CMD ").expect("HEALTHCHECK CMD in exec form");
            assert_eq!(run.first().map(String::as_str), Some("rti"), "{line}");
            health = Some(Container {
                origin: "Dockerfile HEALTHCHECK".into(),
                args: run[1..].to_vec(),
                ..Container::default()
            });
        }
    }
    if let Some(check) = &health {
        command.probes.push(Probe {
            what: "HEALTHCHECK".into(),
            port: check
                .args
                .get(1)
                .and_then(|address| checker::port_of(address))
                .unwrap_or_default(),
            service: check.argument("--service").unwrap_or_default().to_owned(),
        });
    }
    [Some(command), health].into_iter().flatten().collect()
}

fn every_container() -> Vec<Container> {
    let mut containers = kubernetes_containers(&kubernetes_objects());
    containers.extend(compose::containers(&compose::load(&read("compose.yaml"))));
    containers.extend(dockerfile_containers(&read("Dockerfile")));
    containers
}

#[test]
fn every_container_in_deploy_runs_flags_variables_and_ports_the_binary_knows() {
    let commands = Commands::of_the_binary();
    let containers = every_container();
    // 4 services × (migrate + serve) + gateway; 5 compose services + 5 healthchecks; 2 in the Dockerfile.
    assert!(containers.len() >= 21, "found only {} containers", containers.len());
    let problems: Vec<String> = containers
        .iter()
        .flat_map(|container| check_container(&commands, container))
        .collect();
    assert!(
        problems.is_empty(),
        "deploy/ disagrees with the binary:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_kubernetes_objects_and_the_compose_services_agree_with_each_other() {
    let objects: Vec<Yaml> = kubernetes_objects().into_iter().map(|(_, object)| object).collect();
    let mut problems = kubernetes::check_objects(&objects);
    let prometheus = kubernetes::documents(&read("prometheus.yaml"));
    problems.extend(compose::check_services(
        &compose::load(&read("compose.yaml")),
        &prometheus[0],
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_service_runs_two_replicas_migrated_first_with_budget_resources_and_named_probes() {
    let objects = kubernetes_objects();
    let count = |kind: &str, name: &str| {
        objects
            .iter()
            .filter(|(_, object)| kubernetes::kind(object) == kind && kubernetes::name(object) == name)
            .count()
    };
    for name in ["registry", "intake", "allocation", "reporting", "gateway"] {
        let (_, deployment) = objects
            .iter()
            .find(|(_, object)| kubernetes::kind(object) == "Deployment" && kubernetes::name(object) == name)
            .unwrap_or_else(|| panic!("a Deployment {name}"));
        assert!(
            deployment["spec"]["replicas"].as_i64() >= Some(2),
            "{name}: two replicas"
        );
        assert_eq!(count("PodDisruptionBudget", name), 1, "{name}: a PodDisruptionBudget");
        assert_eq!(count("NetworkPolicy", name), 1, "{name}: a NetworkPolicy");
        let pod = &deployment["spec"]["template"]["spec"];
        for container in kubernetes::list(&pod["initContainers"])
            .iter()
            .chain(kubernetes::list(&pod["containers"]))
        {
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        kubernetes::text(&container["resources"][bound][resource]).is_some(),
                        "{name}: {bound}.{resource} of {:?}",
                        container["name"]
                    );
                }
            }
        }
        if name != "gateway" {
            let init: Vec<String> = kubernetes::list(&pod["initContainers"][0]["args"])
                .iter()
                .filter_map(kubernetes::text)
                .collect();
            assert_eq!(init, ["migrate", name], "{name}: migrations run as an init container");
            let main = &pod["containers"][0];
            let service = format!("rti.{name}.v1.{}Service", capitalised(name));
            for probe in ["startupProbe", "readinessProbe"] {
                assert_eq!(
                    main[probe]["grpc"]["service"].as_str(),
                    Some(service.as_str()),
                    "{name} {probe}"
                );
            }
        }
    }
    assert_eq!(count("NetworkPolicy", "default-deny-ingress"), 1);
}

/// Where a container's database would be: nothing listens on port 1, so a command whose
/// configuration parses and passes its checks stops at the database, with exit code 1.
const UNREACHABLE_DATABASE: &str = "postgres://rti@127.0.0.1:1/deploy-check";

/// Runs `container`'s command with its arguments and its variables' values (a secret, a compose
/// `${…}` and every database URL replaced by a stand-in of the right form) and says what
/// stopped it, when anything but the unreachable database did: so a value the command cannot
/// parse (`20 s`, `0.0.0.0:http`, `jsn`) or refuses (a weak secret) is caught without Docker.
fn stops_only_at_the_database(container: &Container) -> Result<(), String> {
    let mut command = crate::rti(&container.args.iter().map(String::as_str).collect::<Vec<_>>());
    for (name, value) in &container.env {
        let stand_in = if name.ends_with("_DATABASE_URL") {
            UNREACHABLE_DATABASE
        } else if name == "RTI_AUTH_SERVICE_SECRET" {
            live::SERVICE_SECRET
        } else {
            match value.as_deref() {
                Some(literal) if !literal.contains("${") => literal,
                _ if name.ends_with("_SECRET") => live::SECRET,
                _ => return Err(format!("{}: {name} has no value to try", container.origin)),
            }
        };
        command.env(name, stand_in);
    }
    let output = command.output().expect("rti runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stopped_at_the_database = output.status.code() == Some(1)
        && stderr.lines().count() == 1
        && stderr.contains("cannot connect to the database");
    if stopped_at_the_database {
        Ok(())
    } else {
        Err(format!(
            "{}: exit {:?}: {}",
            container.origin,
            output.status.code(),
            stderr.trim()
        ))
    }
}

#[test]
fn every_serve_gateway_and_migrate_container_parses_its_values_and_stops_only_at_the_database() {
    let containers: Vec<Container> = every_container()
        .into_iter()
        .filter(|container| ["serve", "gateway", "migrate"].contains(&container.command()))
        .collect();
    // 4 × (migrate + serve) + gateway in Kubernetes; 4 services + gateway in compose.
    assert_eq!(
        containers.len(),
        14,
        "{:?}",
        containers.iter().map(|c| &c.origin).collect::<Vec<_>>()
    );
    let problems: Vec<String> = containers
        .iter()
        .filter_map(|container| stops_only_at_the_database(container).err())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_value_the_command_cannot_parse_is_caught_by_starting_it() {
    let mut container = every_container()
        .into_iter()
        .find(|container| container.role() == "serve registry" && container.origin.starts_with("kubernetes/"))
        .expect("the registry's Deployment");
    assert_eq!(stops_only_at_the_database(&container), Ok(()));
    container
        .env
        .push(("RTI_SERVER_DRAIN_TIMEOUT".into(), Some("20 s".into())));
    let problem = stops_only_at_the_database(&container).expect_err("20 s is no duration");
    assert!(
        problem.contains("--drain-timeout") && problem.contains("exit Some(2)"),
        "{problem}"
    );
}

fn capitalised(word: &str) -> String {
    let mut characters = word.chars();
    characters
        .next()
        .map(|first| first.to_uppercase().chain(characters).collect())
        .unwrap_or_default()
}

/// Asks every health name a probe or healthcheck names of the process it would probe.
async fn every_probed_health_name_is_served(backend: Backend) {
    let probed: std::collections::BTreeSet<(String, String)> = every_container()
        .iter()
        .flat_map(|container| {
            let role = container.role();
            container
                .probes
                .iter()
                .map(move |probe| (role.clone(), probe.service.clone()))
        })
        .collect();
    let roles: std::collections::BTreeSet<&str> = probed.iter().map(|(role, _)| role.as_str()).collect();
    assert!(roles.contains("gateway") && roles.len() >= 5, "{probed:?}");
    let Some(suite) = live::Suite::start(backend).await else {
        return;
    };
    for (role, service) in &probed {
        // The Dockerfile's default command (`rti up`) puts the gateway on the probed port.
        let process = if role == "up" { "gateway" } else { role.as_str() };
        let running = suite
            .processes
            .get(process)
            .unwrap_or_else(|| panic!("no process for {role}"));
        let address = format!("http://{}", running.address);
        let mut arguments = vec!["health-check", address.as_str()];
        if !service.is_empty() {
            arguments.extend(["--service", service.as_str()]);
        }
        let output: Output = run(&arguments);
        assert!(
            output.status.success(),
            "{role} does not serve health for {service:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn every_probed_health_name_is_served_on_sqlite() {
    every_probed_health_name_is_served(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_probed_health_name_is_served_on_postgres() {
    every_probed_health_name_is_served(Backend::Postgres).await;
}
