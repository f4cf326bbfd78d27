//! The arguments and environment of `rti`. This is a contract other tools depend on: change it
//! only by adding.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rti_platform::auth::Role;
use rti_platform::config::{AuthConfig, TelemetryConfig, parse_duration};
use rti_platform::db::DatabaseUrl;
use rti_platform::limits::Limits;

use crate::edge::EdgeLimits;

#[derive(Debug, Parser)]
#[command(
    name = "rti",
    version,
    about = "RTI Access: one access point to Europe's research and technology infrastructures"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the four services and the gateway in one process, on SQLite.
    Up(UpArgs),
    /// Print a development token signed with the configured secret.
    Token(TokenArgs),
    /// Run one service.
    Serve(ServeArgs),
    /// Run the gateway in front of services started with `rti serve`.
    Gateway(GatewayArgs),
    /// Apply a service's database migrations and exit.
    Migrate(MigrateArgs),
    /// Ask a service or the gateway for its gRPC health: exit 0 when SERVING, 1 otherwise.
    HealthCheck(HealthCheckArgs),
    /// Work with the gateway's audit log of writes.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain and name the first broken entry.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["file", "database"]))]
pub struct AuditVerifyArgs {
    /// An export of `GET /v1/audit` (JSON lines); it may start after the first entry.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The audit store itself (sqlite://PATH or postgres://…): the whole chain, to its head.
    #[arg(long = "database", value_name = "URL")]
    pub database: Option<DatabaseUrl>,
    /// An entry recorded outside the log (as an earlier verify printed it, or the gateway logged
    /// its head): the chain must still hold it; repeat for several.
    #[arg(long = "anchor", value_name = "SEQUENCE:HASH")]
    pub anchors: Vec<crate::audit::Anchor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceName {
    Registry,
    Intake,
    Allocation,
    Reporting,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Load the demo catalogue and demo access requests in every state (once; a restart does not
    /// duplicate them) and print a token per role.
    #[arg(long)]
    pub demo: bool,
    /// The gateway's address; port 0 picks a free port.
    #[arg(long, env = "RTI_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the SQLite files and the generated development secret are kept.
    #[arg(long, env = "RTI_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where Prometheus scrapes the gateway's metrics (`/metrics`); not served when unset.
    #[arg(long, env = "RTI_GATEWAY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve each service's metrics too: the registry on this address, intake, allocation and
    /// reporting on the next three ports (all on free ports with port 0); not served when unset.
    #[arg(long, env = "RTI_UP_SERVICE_METRICS_LISTEN", value_name = "ADDR")]
    pub service_metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub edge: EdgeLimits,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The role the token grants.
    #[arg(long, value_enum)]
    pub role: Role,
    /// The applicant's organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// An infrastructure the operator runs; repeat for several.
    #[arg(long = "infrastructure", value_name = "ID")]
    pub infrastructures: Vec<String>,
    /// The funder's country (ISO 3166-1 alpha-2).
    #[arg(long, conflicts_with = "eu")]
    pub country: Option<String>,
    /// An EC funder, who sees every country.
    #[arg(long)]
    pub eu: bool,
    /// How long the token is valid, e.g. 30m, 1h, 7d.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    /// The token's subject; `dev-<role>` when unset.
    #[arg(long)]
    pub subject: Option<String>,
    /// Where `rti up` keeps its generated secret, used when RTI_AUTH_SECRET is unset.
    #[arg(long, env = "RTI_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// HS256 secret to sign with (the same one the services verify with).
    #[arg(long = "auth-secret", env = "RTI_AUTH_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// HS256 secret that signs `--role service` tokens (the services' own, not the user secret).
    #[arg(
        long = "auth-service-secret",
        env = "RTI_AUTH_SERVICE_SECRET",
        hide_env_values = true
    )]
    pub service_secret: Option<String>,
    /// The audience of a `--role service` token.
    #[arg(long = "auth-service-audience", env = "RTI_AUTH_SERVICE_AUDIENCE", default_value = rti_platform::config::DEFAULT_SERVICE_AUDIENCE)]
    pub service_audience: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(value_enum)]
    pub service: ServiceName,
    /// The service's gRPC address; port 0 picks a free port.
    #[arg(long, env = "RTI_SERVICE_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// sqlite://PATH or postgres://USER@HOST/DB; a SQLite file is created when missing.
    #[arg(long, env = "RTI_SERVICE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// Most database connections the service opens.
    #[arg(long, env = "RTI_SERVICE_MAX_CONNECTIONS", default_value_t = 8)]
    pub max_connections: u32,
    /// How often health asks the database whether it answers (NOT_SERVING while it does not).
    #[arg(long, env = "RTI_SERVICE_READINESS_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub readiness_interval: Duration,
    /// The registry, for intake, allocation and reporting: installations and capacity (http://registry:50051).
    #[arg(long, env = "RTI_SERVICE_REGISTRY_URL", value_name = "URL")]
    pub registry_url: Option<http::Uri>,
    /// Intake, for allocation and reporting: proposals, user groups and accepted requests (http://intake:50051).
    #[arg(long, env = "RTI_SERVICE_INTAKE_URL", value_name = "URL")]
    pub intake_url: Option<http::Uri>,
    /// Allocation, for reporting: allocations, slots and deliveries (http://allocation:50051).
    #[arg(long, env = "RTI_SERVICE_ALLOCATION_URL", value_name = "URL")]
    pub allocation_url: Option<http::Uri>,
    /// Reporting: the fewest organisations (and users) a published statistic may rest on
    /// (docs/disclosure.md).
    #[arg(long, env = "RTI_REPORTING_DISCLOSURE_THRESHOLD", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub disclosure_threshold: u64,
    /// Where Prometheus scrapes the service's RPC metrics (`/metrics`); not served when unset.
    #[arg(long, env = "RTI_SERVICE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// The gateway's address; port 0 picks a free port.
    #[arg(long, env = "RTI_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The registry service, e.g. http://registry:50051; several addresses (URL,URL) are balanced.
    #[arg(
        long,
        env = "RTI_GATEWAY_REGISTRY_URL",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    pub registry: Vec<http::Uri>,
    /// The intake service (URL,URL for several addresses).
    #[arg(
        long,
        env = "RTI_GATEWAY_INTAKE_URL",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    pub intake: Vec<http::Uri>,
    /// The allocation service (URL,URL for several addresses).
    #[arg(
        long,
        env = "RTI_GATEWAY_ALLOCATION_URL",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    pub allocation: Vec<http::Uri>,
    /// The reporting service (URL,URL for several addresses).
    #[arg(
        long,
        env = "RTI_GATEWAY_REPORTING_URL",
        value_name = "URL",
        value_delimiter = ',',
        required = true
    )]
    pub reporting: Vec<http::Uri>,
    #[command(flatten)]
    pub edge: EdgeLimits,
    /// Where Prometheus scrapes the gateway's metrics (`/metrics`); not served when unset.
    #[arg(long, env = "RTI_GATEWAY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// The audit log of writes: sqlite://PATH or postgres://… (two replicas may share one
    /// PostgreSQL database); `audit.db` under the data directory when unset.
    #[arg(long, env = "RTI_GATEWAY_AUDIT_DATABASE_URL", value_name = "URL")]
    pub audit_database_url: Option<DatabaseUrl>,
    /// Where the default SQLite audit log is kept.
    #[arg(long, env = "RTI_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[arg(value_enum)]
    pub service: ServiceName,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "RTI_SERVICE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
}

#[derive(Debug, Args)]
pub struct HealthCheckArgs {
    /// The gRPC address to ask: http://HOST:PORT, or HOST:PORT.
    #[arg(value_name = "ADDR", value_parser = parse_health_address)]
    pub address: http::Uri,
    /// The gRPC service whose health to ask for (rti.registry.v1.RegistryService …); the whole
    /// server when unset.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub service: String,
    /// How long to wait for the connection and the answer together.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// `HOST:PORT` or `http://HOST:PORT`: a container's healthcheck names the port it knows, and the
/// scheme is the only thing a plaintext gRPC address would add.
fn parse_health_address(text: &str) -> Result<http::Uri, String> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|error| format!("not an address (http://HOST:PORT): {error}"))?;
    match (uri.scheme_str(), uri.port_u16()) {
        (Some("http"), Some(_)) => Ok(uri),
        (Some("http"), None) => Err("the address needs a port (http://HOST:PORT)".into()),
        _ => Err("only plaintext http:// addresses are probed".into()),
    }
}

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The registry's sentence encoder model (weights.npz and sp.model, from services/encoder/fetch-model) for search by meaning; without it, search is by words only.
    #[arg(long, env = "RTI_REGISTRY_ENCODER_MODEL_DIR", value_name = "DIR", default_value_os_t = rti_encoder::default_model_dir())]
    pub encoder_model_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// How long in-flight calls may take to finish after SIGTERM/SIGINT.
    #[arg(long, env = "RTI_SERVER_DRAIN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    #[command(flatten)]
    pub limits: Limits,
}

/// Prints help and version as clap does; any other usage error as one line, exit code 2.
pub fn report_usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let line: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    eprintln!("rti: {}", line.join(" ").trim_start_matches("error: "));
    ExitCode::from(2)
}
