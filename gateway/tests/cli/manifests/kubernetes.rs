//! The rti containers of Kubernetes manifests, and the rules that span objects: a Service's
//! target port is a port of its pods, a scrape annotation names the metrics port, and the
//! NetworkPolicies admit exactly the calls the Deployments' upstream URLs make.

use std::collections::BTreeMap;

use yaml_rust2::Yaml;

use super::checker::{Container, Probe, port_of};

/// The image every rti container runs (the kustomization may rename it).
pub const IMAGE: &str = "rti-access";

pub fn documents(text: &str) -> Vec<Yaml> {
    yaml_rust2::YamlLoader::load_from_str(text)
        .expect("valid YAML")
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

pub fn kind(document: &Yaml) -> &str {
    document["kind"].as_str().unwrap_or_default()
}

pub fn name(document: &Yaml) -> &str {
    document["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn list(yaml: &Yaml) -> &[Yaml] {
    yaml.as_vec().map_or(&[], Vec::as_slice)
}

/// A scalar as text, whether YAML read it as a string or a number.
pub fn text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn port_number(yaml: &Yaml) -> Option<u16> {
    text(yaml).and_then(|text| text.parse().ok())
}

/// The data of each ConfigMap, by name: a container's envFrom makes it its variables.
pub type ConfigMaps = BTreeMap<String, Vec<(String, Option<String>)>>;

pub fn config_maps(objects: &[Yaml]) -> ConfigMaps {
    objects
        .iter()
        .filter(|object| kind(object) == "ConfigMap")
        .map(|map| {
            let data = map["data"]
                .as_hash()
                .map(|data| {
                    data.iter()
                        .filter_map(|(key, value)| Some((text(key)?, text(value))))
                        .collect()
                })
                .unwrap_or_default();
            (name(map).to_owned(), data)
        })
        .collect()
}

/// The rti containers (init containers included) of a Deployment, with what the checker reads.
pub fn containers(file: &str, deployment: &Yaml, config_maps: &ConfigMaps) -> Vec<Container> {
    let pod = &deployment["spec"]["template"]["spec"];
    let config_data = |reference: &Yaml| -> Vec<(String, Option<String>)> {
        let name = reference["configMapRef"]["name"].as_str().unwrap_or_default();
        config_maps.get(name).cloned().unwrap_or_default()
    };
    let mut found = Vec::new();
    for (group, items) in [
        ("initContainers", list(&pod["initContainers"])),
        ("containers", list(&pod["containers"])),
    ] {
        for item in items {
            let image = item["image"].as_str().unwrap_or_default();
            if !image.starts_with(IMAGE) {
                continue;
            }
            let origin = format!(
                "{file} Deployment/{} {group}/{}",
                name(deployment),
                item["name"].as_str().unwrap_or_default()
            );
            let args = list(&item["args"]).iter().filter_map(text).collect();
            let mut env: Vec<(String, Option<String>)> = list(&item["env"])
                .iter()
                .filter_map(|variable| Some((variable["name"].as_str()?.to_owned(), text(&variable["value"]))))
                .collect();
            for reference in list(&item["envFrom"]) {
                env.extend(config_data(reference));
            }
            let ports = list(&item["ports"])
                .iter()
                .filter_map(|port| {
                    Some((
                        port["name"].as_str().map(str::to_owned),
                        port_number(&port["containerPort"])?,
                    ))
                })
                .collect();
            let probes = ["startupProbe", "readinessProbe", "livenessProbe"]
                .into_iter()
                .filter_map(|probe| {
                    let grpc = &item[probe]["grpc"];
                    Some(Probe {
                        what: probe.to_owned(),
                        port: port_number(&grpc["port"])?,
                        service: grpc["service"].as_str().unwrap_or_default().to_owned(),
                    })
                })
                .collect();
            found.push(Container {
                origin,
                args,
                env,
                ports: Some(ports),
                probes,
            });
        }
    }
    found
}

/// The `app.kubernetes.io/name` label that a selector or a pod template names.
pub fn app_name(labels: &Yaml) -> &str {
    labels["app.kubernetes.io/name"].as_str().unwrap_or_default()
}

/// Problems with the objects around the Deployments: Services, scrape annotations,
/// NetworkPolicies.
pub fn check_objects(objects: &[Yaml]) -> Vec<String> {
    let deployments: Vec<&Yaml> = objects.iter().filter(|object| kind(object) == "Deployment").collect();
    let pod_of = |app: &str| {
        deployments
            .iter()
            .find(|deployment| app_name(&deployment["spec"]["template"]["metadata"]["labels"]) == app)
            .copied()
    };
    let container_ports = |deployment: &Yaml| -> Vec<(Option<String>, u16)> {
        list(&deployment["spec"]["template"]["spec"]["containers"])
            .iter()
            .flat_map(|container| list(&container["ports"]))
            .filter_map(|port| {
                Some((
                    port["name"].as_str().map(str::to_owned),
                    port_number(&port["containerPort"])?,
                ))
            })
            .collect()
    };
    let mut problems = Vec::new();
    // A Service's port: the number its pods listen on behind it, by targetPort's name or number.
    let mut service_ports: Vec<(String, u16, u16)> = Vec::new();
    for service in objects.iter().filter(|object| kind(object) == "Service") {
        let app = app_name(&service["spec"]["selector"]);
        let Some(deployment) = pod_of(app) else {
            problems.push(format!(
                "Service/{} selects no Deployment's pods ({app})",
                name(service)
            ));
            continue;
        };
        for port in list(&service["spec"]["ports"]) {
            let target = &port["targetPort"];
            let resolved = container_ports(deployment)
                .into_iter()
                .find(|(port_name, number)| match target {
                    Yaml::String(wanted) => port_name.as_deref() == Some(wanted.as_str()),
                    other => port_number(other) == Some(*number),
                });
            match (resolved, port_number(&port["port"])) {
                (Some((_, number)), Some(exposed)) => service_ports.push((name(service).to_owned(), exposed, number)),
                _ => problems.push(format!(
                    "Service/{}: targetPort {:?} is no containerPort of Deployment/{app}",
                    name(service),
                    text(target)
                )),
            }
        }
    }
    for deployment in &deployments {
        let template = &deployment["spec"]["template"];
        if let Some(port) = template["metadata"]["annotations"]["prometheus.io/port"].as_str() {
            let metrics: Vec<u16> = containers("", deployment, &ConfigMaps::new())
                .iter()
                .filter_map(Container::metrics_port)
                .collect();
            if !metrics.iter().any(|metric| metric.to_string() == port) {
                problems.push(format!(
                    "Deployment/{}: prometheus.io/port {port} is not its metrics port {metrics:?}",
                    name(deployment)
                ));
            }
        }
    }
    problems.extend(check_network_policies(objects, &deployments, &service_ports));
    problems
}

/// Every upstream URL a Deployment is given (`http://registry:50051`) must be admitted by the
/// callee's NetworkPolicy, and only the gateway's policy may admit callers from anywhere.
fn check_network_policies(
    objects: &[Yaml],
    deployments: &[&Yaml],
    service_ports: &[(String, u16, u16)],
) -> Vec<String> {
    let policies: Vec<&Yaml> = objects
        .iter()
        .filter(|object| kind(object) == "NetworkPolicy")
        .collect();
    let mut problems = Vec::new();
    let admits = |callee: &str, caller: &str, port: u16| {
        policies.iter().any(|policy| {
            let selected = &policy["spec"]["podSelector"];
            let selects_callee = app_name(&selected["matchLabels"]) == callee || selected["matchLabels"].is_badvalue();
            selects_callee
                && list(&policy["spec"]["ingress"]).iter().any(|rule| {
                    let port_ok = list(&rule["ports"])
                        .iter()
                        .any(|allowed| port_number(&allowed["port"]) == Some(port));
                    let from = list(&rule["from"]);
                    let caller_ok = rule["from"].is_badvalue()
                        || from.iter().any(|peer| {
                            app_name(&peer["podSelector"]["matchLabels"]) == caller
                                || list(&peer["podSelector"]["matchExpressions"]).iter().any(|expression| {
                                    list(&expression["values"])
                                        .iter()
                                        .any(|value| value.as_str() == Some(caller))
                                })
                        });
                    port_ok && caller_ok
                })
        })
    };
    for deployment in deployments {
        let caller = app_name(&deployment["spec"]["template"]["metadata"]["labels"]);
        for container in containers("", deployment, &ConfigMaps::new()) {
            for (variable, value) in &container.env {
                let Some(url) = value.as_deref().filter(|value| value.starts_with("http://")) else {
                    continue;
                };
                let host = url.trim_start_matches("http://").split(':').next().unwrap_or_default();
                let Some((_, _, target)) = service_ports
                    .iter()
                    .find(|(service, exposed, _)| service == host && Some(*exposed) == port_of(url))
                else {
                    problems.push(format!("Deployment/{caller}: {variable}={url} names no Service port"));
                    continue;
                };
                if !admits(host, caller, *target) {
                    problems.push(format!(
                        "NetworkPolicy: {caller} calls {host} on {target} ({variable}) but no policy admits it"
                    ));
                }
            }
        }
    }
    for policy in &policies {
        let selected = app_name(&policy["spec"]["podSelector"]["matchLabels"]);
        for rule in list(&policy["spec"]["ingress"]) {
            let from_anywhere =
                rule["from"].is_badvalue() || list(&rule["from"]).iter().any(|peer| !peer["ipBlock"].is_badvalue());
            if from_anywhere && selected != "gateway" {
                problems.push(format!(
                    "NetworkPolicy/{} admits callers from outside to {selected:?}: only the gateway is public",
                    name(policy)
                ));
            }
        }
    }
    problems
}
