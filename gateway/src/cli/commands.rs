//! What each `rti` command does.

use std::time::Duration;

use anyhow::{Context, anyhow};
use rti_platform::auth::{Claims, Role, check_named_secret, mint_hs256};
use rti_platform::country::normalize_country;
use rti_platform::db::{Database, DatabaseUrl, Migrations};
use rti_platform::server::ServiceConfig;
use rti_platform::{shutdown, telemetry};
use tokio_util::sync::CancellationToken;

use super::audit::verify;
use super::config::{
    AuditCommand, Cli, Command, GatewayArgs, HealthCheckArgs, MigrateArgs, ServeArgs, ServiceName, TokenArgs, UpArgs,
};
use super::dev_secret;
use super::suite::{Databases, Suite, SuiteConfig, authz_tables};
use crate::demo::{self, DemoCalls, DemoCatalogue, DemoRequests, DemoUsage};
use crate::edge::{Gateway, GatewayConfig, Upstreams};

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Token(args) => token(args),
        Command::Serve(args) => serve(args).await,
        Command::Gateway(args) => gateway(args).await,
        Command::Migrate(args) => migrate(args).await,
        Command::HealthCheck(args) => health_check(args).await,
        Command::Audit(AuditCommand::Verify(args)) => verify(args).await,
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&args.telemetry, "rti")?;
    rti_platform::db::private_directory(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let mut auth = args.auth.clone();
    if auth.secret.is_none() && auth.jwks_url.is_none() {
        let secret = dev_secret::read_or_create(&args.data_dir)
            .with_context(|| format!("cannot keep the development secret in {}", args.data_dir.display()))?;
        auth.secret = Some(secret);
    }
    if auth.service_secret.is_none() && auth.service_token.is_none() {
        let service_secret = dev_secret::read_or_create_named(&args.data_dir, dev_secret::SERVICE_SECRET_FILE)
            .with_context(|| format!("cannot keep the service secret in {}", args.data_dir.display()))?;
        auth.service_secret = Some(service_secret);
    }
    let suite = Suite::start(SuiteConfig {
        listen: args.listen,
        databases: Databases::sqlite_in(&args.data_dir),
        auth: auth.clone(),
        drain_timeout: args.server.drain_timeout,
        limits: args.server.limits.clone(),
        edge: args.edge.clone(),
        encoder_model_dir: Some(args.search.encoder_model_dir),
        reporting: rti_reporting::Options::default(),
        metrics_listen: args.metrics_listen,
        service_metrics_listen: args.service_metrics_listen,
        audit: Some(DatabaseUrl::sqlite_file(&args.data_dir.join("audit.db"))),
        replicas: 1,
    })
    .await?;
    let address = suite.gateway_addr();
    let gateway_metrics = suite.gateway_metrics_addr();
    let service_metrics = suite.service_metrics_addrs().to_vec();
    let stop = CancellationToken::new();
    shutdown::cancel_on_signals(stop.clone());
    let running = tokio::spawn(suite.run_until(stop.clone()));

    if args.demo {
        let loaded = match load_demo(address, auth.secret.as_deref()).await {
            Ok(loaded) => loaded,
            Err(error) => {
                stop.cancel();
                let _ = running.await;
                telemetry.shutdown().await;
                return Err(error);
            }
        };
        print_demo_guide(address, auth.secret.as_deref().unwrap_or_default(), &loaded)?;
    }
    println!("RTI Access is up; data in {}", args.data_dir.display());
    println!("gateway listening on http://{address}");
    if let Some(metrics) = gateway_metrics {
        println!("gateway metrics on http://{metrics}/metrics");
    }
    for (service, metrics) in service_metrics {
        println!("{service} metrics on http://{metrics}/metrics");
    }
    let outcome = running.await.context("the suite task failed")?;
    telemetry.shutdown().await;
    Ok(outcome?)
}

/// What `rti up --demo` loaded: the catalogue, intake's organisations and requests,
/// allocation's calls, proposals and slots, and a year of usage for the funders.
struct LoadedDemo {
    catalogue: DemoCatalogue,
    requests: DemoRequests,
    calls: DemoCalls,
    usage: DemoUsage,
}

async fn load_demo(address: std::net::SocketAddr, secret: Option<&str>) -> anyhow::Result<LoadedDemo> {
    let secret = secret
        .ok_or_else(|| anyhow!("--demo signs its tokens with RTI_AUTH_SECRET; it cannot run with only a JWKS URL"))?;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .context("cannot reach the gateway to load the demo")?;
    let token = demo::loader_token(secret).map_err(|error| anyhow!("cannot sign the demo loader's token: {error}"))?;
    let catalogue = demo::catalogue::load(channel.clone(), &token)
        .await
        .map_err(|status| anyhow!("loading the demo failed: {}", status.message()))?;
    let requests = demo::requests::load(channel.clone(), &token, &catalogue)
        .await
        .map_err(|status| anyhow!("loading the demo access requests failed: {}", status.message()))?;
    let calls = demo::calls::load(channel.clone(), secret, &catalogue, &requests)
        .await
        .map_err(|status| anyhow!("loading the demo calls failed: {}", status.message()))?;
    let usage = demo::usage::load(channel, &token, &catalogue)
        .await
        .map_err(|status| anyhow!("loading the demo usage failed: {}", status.message()))?;
    Ok(LoadedDemo {
        catalogue,
        requests,
        calls,
        usage,
    })
}

fn print_demo_guide(address: std::net::SocketAddr, secret: &str, demo: &LoadedDemo) -> anyhow::Result<()> {
    let loaded = &demo.catalogue;
    let ttl = Duration::from_secs(12 * 3600);
    let mint =
        |claims: Claims| mint_hs256(secret, &claims).map_err(|error| anyhow!("cannot sign a demo token: {error}"));
    let mut operator = Claims::new("demo-operator", &[Role::Operator], ttl);
    operator.infrastructures.clone_from(&loaded.infrastructure_ids);
    let mut applicant = Claims::new("demo-applicant", &[Role::Applicant], ttl);
    applicant.org = Some(demo.requests.applicant_organisation_id.clone());
    let mut funder = Claims::new("demo-funder-de", &[Role::Funder], ttl);
    funder.country = Some("DE".into());
    let mut ec = Claims::new("demo-funder-ec", &[Role::Funder], ttl);
    ec.eu = true;
    let tokens = [
        ("ADMIN", mint(Claims::new("demo-admin", &[Role::Admin], ttl))?),
        ("OPERATOR", mint(operator)?),
        ("APPLICANT", mint(applicant)?),
        ("REVIEWER", mint(Claims::new("demo-reviewer", &[Role::Reviewer], ttl))?),
        (
            "COORDINATOR",
            mint(Claims::new("demo-coordinator", &[Role::Coordinator], ttl))?,
        ),
        ("FUNDER", mint(funder)?),
        ("FUNDER_EC", mint(ec)?),
    ];
    println!(
        "Demo catalogue: {} providers, {} infrastructures, {} installations (fictional, marked as demo data).",
        loaded.providers,
        loaded.infrastructure_ids.len(),
        loaded.installations()
    );
    println!("Demo requests: {} (fictional, marked as demo data).", demo.requests);
    println!("Demo calls: {} (fictional, marked as demo data).", demo.calls);
    println!(
        "Demo usage: {} records of {} organisations from December 2025 to November 2026 (fictional users).",
        demo.usage.records, demo.usage.organisations
    );
    println!(
        "\nTokens, valid for 12 hours (the operator runs every demo infrastructure; the applicant acts for {}, \
         organisation {}; the funder is German):",
        demo.requests.applicant_organisation_name, demo.requests.applicant_organisation_id
    );
    for (role, token) in &tokens {
        println!("export RTI_{role}_TOKEN={token}");
    }
    // The allocated call (the first of the demo) and the industrial request with slots.
    let call = demo.calls.call_ids.first().map_or("", String::as_str);
    let industrial = &demo.requests.accepted_industrial_request_id;
    println!(
        "\nTry it (grpcurl uses the gateway's reflection):\n\
         grpcurl -plaintext {address} list\n\
         grpcurl -plaintext -d '{{\"service\": \"rti.registry.v1.RegistryService\"}}' {address} grpc.health.v1.Health/Check\n\
         grpcurl -plaintext -d '{{\"page_size\": 5}}' {address} rti.registry.v1.RegistryService/ListInfrastructures\n\
         grpcurl -plaintext -H \"authorization: Bearer $RTI_ADMIN_TOKEN\" -d '{{\"provider\": {{\"name\": \"My lab\", \"country\": \"IT\"}}}}' \\\n  \
         {address} rti.registry.v1.RegistryService/CreateProvider\n\
         grpcurl -plaintext -H \"authorization: Bearer $RTI_APPLICANT_TOKEN\" {address} rti.intake.v1.IntakeService/ListAccessRequests\n\
         grpcurl -plaintext {address} rti.allocation.v1.AllocationService/ListCalls\n\
         grpcurl -plaintext -H \"authorization: Bearer $RTI_COORDINATOR_TOKEN\" -d '{{\"call_id\": \"{call}\"}}' {address} rti.allocation.v1.AllocationService/GetRanking\n\
         grpcurl -plaintext -H \"authorization: Bearer $RTI_APPLICANT_TOKEN\" -d '{{\"access_request_id\": \"{industrial}\"}}' \\\n  \
         {address} rti.allocation.v1.AllocationService/ListSlots\n\
         python3 scripts/grpc_client.py {address}   # the same from Python, with grpcio-reflection\n"
    );
    Ok(())
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    // A service token is signed with the service secret, for the service audience, never with
    // the user-token secret (item 4 of docs/security.md).
    let (given, option, file) = if args.role == Role::Service {
        (
            args.service_secret,
            "RTI_AUTH_SERVICE_SECRET (--auth-service-secret)",
            dev_secret::SERVICE_SECRET_FILE,
        )
    } else {
        (args.secret, "RTI_AUTH_SECRET (--auth-secret)", dev_secret::SECRET_FILE)
    };
    let secret = match given {
        Some(secret) => secret,
        None => dev_secret::read_named(&args.data_dir, file)?.ok_or_else(|| {
            anyhow!(
                "no signing secret: set {option}, or run `rti up` once so that {} exists",
                args.data_dir.join(file).display()
            )
        })?,
    };
    check_named_secret(option, &secret).map_err(|problem| anyhow!(problem))?;
    let subject = args.subject.unwrap_or_else(|| format!("dev-{}", args.role.as_str()));
    let mut claims = if args.role == Role::Service {
        Claims::for_service(subject, &args.service_audience, args.ttl)
    } else {
        Claims::new(subject, &[args.role], args.ttl)
    };
    claims.org = args.org;
    claims.infrastructures = args.infrastructures;
    claims.country = args
        .country
        .as_deref()
        .map(normalize_country)
        .transpose()
        .map_err(|error| anyhow!("--country: {error}"))?;
    claims.eu = args.eu;
    println!("{}", mint_hs256(&secret, &claims)?);
    Ok(())
}

fn migrations(service: ServiceName) -> &'static Migrations {
    match service {
        ServiceName::Registry => rti_registry::app::SPEC.migrations,
        ServiceName::Intake => rti_intake::app::SPEC.migrations,
        ServiceName::Allocation => rti_allocation::app::SPEC.migrations,
        ServiceName::Reporting => rti_reporting::app::SPEC.migrations,
    }
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let database = Database::open(&args.database_url, migrations(args.service), 1).await?;
    database.close().await;
    println!("migrations applied");
    Ok(())
}

/// Asks `grpc.health.v1.Health/Check` once, for container healthchecks where no gRPC probe
/// exists (compose): the image has no other gRPC client.
async fn health_check(args: HealthCheckArgs) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    let address = args.address.to_string();
    let what = if args.service.is_empty() {
        address.clone()
    } else {
        format!("{} at {address}", args.service)
    };
    let ask = async {
        let channel = tonic::transport::Endpoint::from(args.address.clone())
            .connect()
            .await
            .with_context(|| format!("cannot reach {address}"))?;
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
        let request = tonic_health::pb::HealthCheckRequest {
            service: args.service.clone(),
        };
        match client.check(request).await {
            Ok(answer) => Ok(answer.into_inner().status),
            Err(status) => Err(anyhow!("{what} answered {:?}: {}", status.code(), status.message())),
        }
    };
    let status = tokio::time::timeout(args.timeout, ask)
        .await
        .map_err(|_| anyhow!("{what} did not answer within {:?} (--timeout)", args.timeout))??;
    match ServingStatus::try_from(status) {
        Ok(ServingStatus::Serving) => {
            println!("{what}: SERVING");
            Ok(())
        }
        Ok(other) => Err(anyhow!("{what}: {}", other.as_str_name())),
        Err(_) => Err(anyhow!("{what}: unknown health status {status}")),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let name = format!("rti-{}", format!("{:?}", args.service).to_lowercase());
    let telemetry = telemetry::init(&args.telemetry, &name)?;
    let mut config = ServiceConfig::new(args.listen, args.database_url, args.auth);
    config.max_connections = args.max_connections;
    config.readiness_interval = args.readiness_interval;
    config.drain_timeout = args.server.drain_timeout;
    config.limits = args.server.limits;
    config.metrics_listen = args.metrics_listen;
    let stop = CancellationToken::new();
    shutdown::cancel_on_signals(stop.clone());
    let outcome = match args.service {
        ServiceName::Registry => {
            let options = rti_registry::Options {
                encoder_model_dir: Some(args.search.encoder_model_dir),
            };
            rti_registry::App::build_with(config, options)
                .await?
                .run_until(stop)
                .await
        }
        ServiceName::Intake => {
            let registry = args
                .registry_url
                .ok_or_else(|| anyhow!("intake needs --registry-url (RTI_SERVICE_REGISTRY_URL)"))?;
            rti_intake::App::build(config, registry).await?.run_until(stop).await
        }
        ServiceName::Allocation => {
            let upstreams = rti_allocation::Upstreams {
                registry: args
                    .registry_url
                    .ok_or_else(|| anyhow!("allocation needs --registry-url (RTI_SERVICE_REGISTRY_URL)"))?,
                intake: args
                    .intake_url
                    .ok_or_else(|| anyhow!("allocation needs --intake-url (RTI_SERVICE_INTAKE_URL)"))?,
            };
            rti_allocation::App::build(config, upstreams)
                .await?
                .run_until(stop)
                .await
        }
        ServiceName::Reporting => {
            let upstreams = rti_reporting::Upstreams {
                registry: args
                    .registry_url
                    .ok_or_else(|| anyhow!("reporting needs --registry-url (RTI_SERVICE_REGISTRY_URL)"))?,
                intake: args
                    .intake_url
                    .ok_or_else(|| anyhow!("reporting needs --intake-url (RTI_SERVICE_INTAKE_URL)"))?,
                allocation: args
                    .allocation_url
                    .ok_or_else(|| anyhow!("reporting needs --allocation-url (RTI_SERVICE_ALLOCATION_URL)"))?,
            };
            let mut options = rti_reporting::Options::default();
            options.disclosure.threshold = args.disclosure_threshold;
            rti_reporting::App::build_with(config, upstreams, options)
                .await?
                .run_until(stop)
                .await
        }
    };
    telemetry.shutdown().await;
    Ok(outcome?)
}

async fn gateway(args: GatewayArgs) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&args.telemetry, "rti-gateway")?;
    let upstreams = Upstreams {
        registry: args.registry,
        intake: args.intake,
        allocation: args.allocation,
        reporting: args.reporting,
    };
    let mut config = GatewayConfig::new(args.listen, upstreams, args.auth, authz_tables());
    config.drain_timeout = args.server.drain_timeout;
    config.limits = args.server.limits;
    config.edge = args.edge;
    config.metrics_listen = args.metrics_listen;
    let audit = match args.audit_database_url {
        Some(url) => url,
        None => {
            rti_platform::db::private_directory(&args.data_dir)
                .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
            DatabaseUrl::sqlite_file(&args.data_dir.join("audit.db"))
        }
    };
    config.audit = Some(audit);
    let gateway = Gateway::build(config).await?;
    let stop = CancellationToken::new();
    shutdown::cancel_on_signals(stop.clone());
    let outcome = gateway.serve(stop).await;
    telemetry.shutdown().await;
    Ok(outcome?)
}
