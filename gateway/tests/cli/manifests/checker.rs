//! Checks one container of a manifest against what `rti <command> --help` says the command
//! accepts: its command, its flags, its environment, its ports and its probes' ports.

use std::collections::{BTreeMap, BTreeSet};

use crate::run;

/// What `rti <command> --help` lists: the long flags, the environment variables
/// (`[env: NAME=]`) and the values its first positional argument may take, when it names them
/// (`serve`'s and `migrate`'s services).
#[derive(Debug, Default)]
pub struct CommandHelp {
    pub flags: BTreeSet<String>,
    pub env: BTreeSet<String>,
    pub positional_values: Option<BTreeSet<String>>,
}

impl CommandHelp {
    pub fn parse(help: &str) -> Self {
        let mut parsed = Self::default();
        for line in help.lines() {
            // Option lines start with the option ("-s, --long <VALUE>" or "--long"); descriptions
            // are indented further and may name other flags in passing, so only the first
            // `--word` of an option line counts.
            let trimmed = line.trim_start();
            if trimmed.starts_with('-')
                && let Some(start) = trimmed.find("--")
            {
                let name: String = trimmed[start..]
                    .chars()
                    .take_while(|character| *character == '-' || character.is_ascii_alphanumeric())
                    .collect();
                parsed.flags.insert(name);
            }
        }
        let arguments = help
            .split("Arguments:")
            .nth(1)
            .and_then(|section| section.split("Options:").next())
            .unwrap_or_default();
        parsed.positional_values = arguments
            .split("[possible values: ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .map(|values| values.split(", ").map(str::to_owned).collect());
        let mut rest = help;
        while let Some(start) = rest.find("[env: ") {
            rest = &rest[start + "[env: ".len()..];
            let name: String = rest
                .chars()
                .take_while(|character| *character == '_' || character.is_ascii_alphanumeric())
                .collect();
            parsed.env.insert(name);
        }
        parsed
    }
}

/// Every command of `rti` (from `rti --help`) with its help, read from the binary once.
#[derive(Debug)]
pub struct Commands(BTreeMap<String, CommandHelp>);

impl Commands {
    pub fn of_the_binary() -> Self {
        let top = help_of(&["--help"]);
        let names: Vec<String> = top
            .lines()
            .skip_while(|line| !line.starts_with("Commands:"))
            .skip(1)
            .take_while(|line| !line.trim().is_empty())
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect();
        assert!(names.len() >= 5, "rti --help lists its commands: {top}");
        let commands = names
            .into_iter()
            .map(|name| {
                let help = CommandHelp::parse(&help_of(&[name.as_str(), "--help"]));
                (name, help)
            })
            .collect();
        Self(commands)
    }

    pub fn get(&self, command: &str) -> Option<&CommandHelp> {
        self.0.get(command)
    }
}

fn help_of(arguments: &[&str]) -> String {
    let output = run(arguments);
    assert!(output.status.success(), "rti {arguments:?}: {output:?}");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// A gRPC health probe of a container: the port it asks and the gRPC service it names (`""`
/// for the whole server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub what: String,
    pub port: u16,
    pub service: String,
}

/// One container that runs the `rti` image, as a manifest declares it.
#[derive(Debug, Default)]
pub struct Container {
    /// Where it comes from, for the messages: "kubernetes/registry.yaml Deployment/registry migrate".
    pub origin: String,
    /// What follows `rti`: the command and its arguments.
    pub args: Vec<String>,
    /// Environment variables set, with the value when the manifest gives one literally.
    pub env: Vec<(String, Option<String>)>,
    /// Declared container ports (name, number); `None` where the format has none (compose).
    pub ports: Option<Vec<(Option<String>, u16)>>,
    pub probes: Vec<Probe>,
}

impl Container {
    pub fn command(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    /// `serve registry`, `gateway`: the command with the service it serves, which decides the
    /// gRPC health names the process answers.
    pub fn role(&self) -> String {
        match self.command() {
            "serve" | "migrate" => format!("{} {}", self.command(), self.args.get(1).map_or("", String::as_str)),
            other => other.to_owned(),
        }
    }

    /// The value of an argument `--flag VALUE` or `--flag=VALUE`.
    pub fn argument(&self, flag: &str) -> Option<&str> {
        self.args.iter().enumerate().find_map(|(index, argument)| {
            if argument == flag {
                self.args.get(index + 1).map(String::as_str)
            } else {
                argument.strip_prefix(flag).and_then(|rest| rest.strip_prefix('='))
            }
        })
    }

    fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(candidate, _)| candidate == name)
            .and_then(|(_, value)| value.as_deref())
    }

    /// The port of the gRPC (or gateway) listen address: `--listen` or its variable.
    pub fn grpc_port(&self) -> Option<u16> {
        self.argument("--listen")
            .or_else(|| self.env_value("RTI_SERVICE_LISTEN"))
            .or_else(|| self.env_value("RTI_GATEWAY_LISTEN"))
            .and_then(port_of)
    }

    /// The port of the metrics address: `--metrics-listen` or its variable.
    pub fn metrics_port(&self) -> Option<u16> {
        self.argument("--metrics-listen")
            .or_else(|| self.env_value("RTI_SERVICE_METRICS_LISTEN"))
            .or_else(|| self.env_value("RTI_GATEWAY_METRICS_LISTEN"))
            .and_then(port_of)
    }
}

/// The port of `HOST:PORT` or `http://HOST:PORT/…`.
pub fn port_of(address: &str) -> Option<u16> {
    let without_scheme = address.split("://").last().unwrap_or(address);
    let authority = without_scheme.split('/').next().unwrap_or(without_scheme);
    authority.rsplit_once(':').and_then(|(_, port)| port.parse().ok())
}

/// Every way `container` disagrees with the binary, one sentence each; empty when none.
pub fn check_container(commands: &Commands, container: &Container) -> Vec<String> {
    let origin = &container.origin;
    let command = container.command();
    let Some(help) = commands.get(command) else {
        return vec![format!("{origin}: `rti {command}` is not a command of the binary")];
    };
    let mut problems = Vec::new();
    if let Some(values) = &help.positional_values {
        let given = container.args.get(1).map_or("", String::as_str);
        if !values.contains(given) {
            problems.push(format!(
                "{origin}: `rti {command} {given}`: {given:?} is none of {values:?}"
            ));
        }
    }
    for argument in &container.args {
        if let Some(flag) = argument.strip_prefix("--") {
            let flag = format!("--{}", flag.split('=').next().unwrap_or(flag));
            if !help.flags.contains(&flag) {
                problems.push(format!("{origin}: `{flag}` is not a flag of `rti {command}`"));
            }
        }
    }
    for (name, _) in &container.env {
        if !help.env.contains(name) {
            problems.push(format!(
                "{origin}: `rti {command}` reads no environment variable {name} (not in its --help)"
            ));
        }
    }
    let listened: BTreeSet<u16> = [container.grpc_port(), container.metrics_port()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(ports) = &container.ports {
        for (name, port) in ports {
            if !listened.contains(port) {
                problems.push(format!(
                    "{origin}: containerPort {port} ({}) is no address the command listens on ({listened:?})",
                    name.as_deref().unwrap_or("unnamed")
                ));
            }
        }
        for port in &listened {
            if !ports.iter().any(|(_, declared)| declared == port) {
                problems.push(format!(
                    "{origin}: the command listens on {port}, which no containerPort declares"
                ));
            }
        }
    }
    for probe in &container.probes {
        if Some(probe.port) != container.grpc_port() {
            problems.push(format!(
                "{origin}: the {} asks port {}, but gRPC is served on {:?}",
                probe.what,
                probe.port,
                container.grpc_port()
            ));
        }
    }
    problems
}
