//! The whole suite in one process (`rti up`): the four services on loopback ports, each with its
//! own database, and the gateway in front of them. Tests boot it the same way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rti_platform::config::AuthConfig;
use rti_platform::db::{Backend, DatabaseUrl};
use rti_platform::limits::Limits;
use rti_platform::server::{ServiceConfig, StartError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::edge::{EdgeLimits, Gateway, GatewayConfig, GatewayError, Upstreams};

/// One database per service.
#[derive(Debug, Clone)]
pub struct Databases {
    pub registry: DatabaseUrl,
    pub intake: DatabaseUrl,
    pub allocation: DatabaseUrl,
    pub reporting: DatabaseUrl,
}

impl Databases {
    /// `registry.db`, `intake.db`, … under `directory`, created on first use.
    pub fn sqlite_in(directory: &Path) -> Self {
        let file = |name: &str| DatabaseUrl::sqlite_file(&directory.join(format!("{name}.db")));
        Self {
            registry: file("registry"),
            intake: file("intake"),
            allocation: file("allocation"),
            reporting: file("reporting"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The gateway's address; the services take free loopback ports.
    pub listen: SocketAddr,
    pub databases: Databases,
    pub auth: AuthConfig,
    pub drain_timeout: Duration,
    /// The services' and the gateway's limits.
    pub limits: Limits,
    /// The gateway's own: CORS origins, rate limits, calls in flight per service.
    pub edge: EdgeLimits,
    /// The registry's sentence encoder model, for search by meaning; `None`: by words only.
    pub encoder_model_dir: Option<PathBuf>,
    /// The reporting service's options: its disclosure control above all.
    pub reporting: rti_reporting::Options,
    /// Where the gateway's metrics are served; `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the registry's metrics are served, and intake's, allocation's and reporting's on
    /// the next three ports (free ports with port 0); `None`: not served.
    pub service_metrics_listen: Option<SocketAddr>,
    /// The gateway's audit log of writes; `None`: not audited.
    pub audit: Option<DatabaseUrl>,
    /// Processes of each service, sharing its database, the gateway balancing across them; more
    /// than one needs PostgreSQL. Only the first of each serves metrics.
    pub replicas: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("the {service} service cannot start: {source}")]
    Service { service: &'static str, source: StartError },
    #[error("the {service} service stopped: {source}")]
    ServiceFailed { service: &'static str, source: StartError },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{replicas} replicas of each service need PostgreSQL: a SQLite file belongs to one process")]
    ReplicasNeedPostgres { replicas: usize },
}

/// A started suite: every port bound, every store migrated.
#[derive(Debug)]
pub struct Suite {
    gateway: Gateway,
    upstreams: Upstreams,
    services: JoinSet<(&'static str, Result<(), StartError>)>,
    services_shutdown: CancellationToken,
    service_metrics: Vec<(&'static str, SocketAddr)>,
}

/// The configuration of the `index`th service (registry 0 … reporting 3), its `replica`th process.
fn service_config(database_url: &DatabaseUrl, config: &SuiteConfig, index: u16, replica: usize) -> ServiceConfig {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut service = ServiceConfig::new(loopback, database_url.clone(), config.auth.clone());
    service.drain_timeout = config.drain_timeout;
    service.limits = config.limits.clone();
    let metrics_listen = config.service_metrics_listen.filter(|_| replica == 0);
    service.metrics_listen = metrics_listen.map(|first| {
        let port = if first.port() == 0 {
            0
        } else {
            first.port().saturating_add(index)
        };
        SocketAddr::new(first.ip(), port)
    });
    service
}

fn upstream(address: SocketAddr) -> http::Uri {
    format!("http://{address}")
        .parse()
        .expect("a socket address forms a valid URI")
}

impl Suite {
    pub async fn start(config: SuiteConfig) -> Result<Self, SuiteError> {
        let failed = |service| move |source| SuiteError::Service { service, source };
        let replicas = config.replicas.max(1);
        let databases = &config.databases;
        let urls = [
            &databases.registry,
            &databases.intake,
            &databases.allocation,
            &databases.reporting,
        ];
        if replicas > 1 && urls.iter().any(|url| url.backend() != Backend::Postgres) {
            return Err(SuiteError::ReplicasNeedPostgres { replicas });
        }
        let (mut registries, mut intakes, mut allocations, mut reportings) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for replica in 0..replicas {
            let registry_options = rti_registry::Options {
                encoder_model_dir: config.encoder_model_dir.clone(),
            };
            let registry = rti_registry::App::build_with(
                service_config(&databases.registry, &config, 0, replica),
                registry_options,
            )
            .await
            .map_err(failed("registry"))?;
            let intake = rti_intake::App::build(
                service_config(&databases.intake, &config, 1, replica),
                upstream(registry.local_addr()),
            )
            .await
            .map_err(failed("intake"))?;
            let allocation = rti_allocation::App::build(
                service_config(&databases.allocation, &config, 2, replica),
                rti_allocation::Upstreams {
                    registry: upstream(registry.local_addr()),
                    intake: upstream(intake.local_addr()),
                },
            )
            .await
            .map_err(failed("allocation"))?;
            let reporting = rti_reporting::App::build_with(
                service_config(&databases.reporting, &config, 3, replica),
                rti_reporting::Upstreams {
                    registry: upstream(registry.local_addr()),
                    intake: upstream(intake.local_addr()),
                    allocation: upstream(allocation.local_addr()),
                },
                config.reporting.clone(),
            )
            .await
            .map_err(failed("reporting"))?;
            registries.push(registry);
            intakes.push(intake);
            allocations.push(allocation);
            reportings.push(reporting);
        }
        let upstreams = Upstreams {
            registry: registries.iter().map(|app| upstream(app.local_addr())).collect(),
            intake: intakes.iter().map(|app| upstream(app.local_addr())).collect(),
            allocation: allocations.iter().map(|app| upstream(app.local_addr())).collect(),
            reporting: reportings.iter().map(|app| upstream(app.local_addr())).collect(),
        };

        let mut gateway_config =
            GatewayConfig::new(config.listen, upstreams.clone(), config.auth.clone(), authz_tables());
        gateway_config.drain_timeout = config.drain_timeout;
        gateway_config.limits = config.limits.clone();
        gateway_config.edge = config.edge.clone();
        gateway_config.metrics_listen = config.metrics_listen;
        gateway_config.audit = config.audit.clone();
        let gateway = Gateway::build(gateway_config).await?;
        let service_metrics = [
            ("registry", registries[0].metrics_addr()),
            ("intake", intakes[0].metrics_addr()),
            ("allocation", allocations[0].metrics_addr()),
            ("reporting", reportings[0].metrics_addr()),
        ]
        .into_iter()
        .filter_map(|(service, address)| Some((service, address?)))
        .collect();

        let services_shutdown = CancellationToken::new();
        let mut services = JoinSet::new();
        for registry in registries {
            let token = services_shutdown.clone();
            services.spawn(async move { ("registry", registry.run_until(token).await) });
        }
        for intake in intakes {
            let token = services_shutdown.clone();
            services.spawn(async move { ("intake", intake.run_until(token).await) });
        }
        for allocation in allocations {
            let token = services_shutdown.clone();
            services.spawn(async move { ("allocation", allocation.run_until(token).await) });
        }
        for reporting in reportings {
            let token = services_shutdown.clone();
            services.spawn(async move { ("reporting", reporting.run_until(token).await) });
        }
        Ok(Self {
            gateway,
            upstreams,
            services,
            services_shutdown,
            service_metrics,
        })
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.local_addr()
    }

    /// Where the gateway's metrics are served, when they are.
    pub fn gateway_metrics_addr(&self) -> Option<SocketAddr> {
        self.gateway.metrics_addr()
    }

    /// Where each service's metrics are served, when they are.
    pub fn service_metrics_addrs(&self) -> &[(&'static str, SocketAddr)] {
        &self.service_metrics
    }

    /// Where each service answers directly, behind the gateway.
    pub fn upstreams(&self) -> &Upstreams {
        &self.upstreams
    }

    /// Serves until `shutdown` fires or a service fails; the gateway and the services drain
    /// together, so a call in flight through the gateway still finishes at its service.
    pub async fn run_until(mut self, shutdown: CancellationToken) -> Result<(), SuiteError> {
        let services_shutdown = self.services_shutdown.clone();
        let gateway_shutdown = shutdown.child_token();
        let mut gateway = tokio::spawn(self.gateway.serve(gateway_shutdown.clone()));
        let mut failure = None;
        tokio::select! {
            () = shutdown.cancelled() => {}
            stopped = self.services.join_next() => {
                if let Some(Ok((service, Err(source)))) = stopped {
                    failure = Some(SuiteError::ServiceFailed { service, source });
                }
            }
            served = &mut gateway => {
                if let Ok(Err(error)) = served {
                    failure = Some(SuiteError::Gateway(error));
                }
            }
        }
        gateway_shutdown.cancel();
        services_shutdown.cancel();
        if !gateway.is_finished() {
            match gateway.await {
                Ok(Err(error)) if failure.is_none() => failure = Some(SuiteError::Gateway(error)),
                _ => {}
            }
        }
        while let Some(stopped) = self.services.join_next().await {
            if let Ok((service, Err(source))) = stopped
                && failure.is_none()
            {
                failure = Some(SuiteError::ServiceFailed { service, source });
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// The RPC tables of the four services, which tell the gateway what is public.
pub fn authz_tables() -> Vec<&'static rti_platform::authz::AuthzTable> {
    vec![
        &rti_registry::AUTHZ,
        &rti_intake::AUTHZ,
        &rti_allocation::AUTHZ,
        &rti_reporting::AUTHZ,
    ]
}
