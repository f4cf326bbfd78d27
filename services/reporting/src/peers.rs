//! The event streams reporting follows, each a `Subscribe` call with a service token.

use rti_platform::auth::ServiceCall;
use rti_platform::limits::UpstreamLimits;
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::common::{Event, SubscribeRequest};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::config::Upstreams;

type Client = InterceptedService<Channel, ServiceCall>;

/// The stream sources, by the name their cursor is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Registry,
    Intake,
    Allocation,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Registry, Source::Intake, Source::Allocation];

    pub fn name(self) -> &'static str {
        match self {
            Source::Registry => "registry",
            Source::Intake => "intake",
            Source::Allocation => "allocation",
        }
    }

    /// The event types reporting projects from this source; the others are not sent.
    fn types(self) -> &'static [&'static str] {
        match self {
            Source::Registry => &[
                "rti.registry.v1.ProviderCreated",
                "rti.registry.v1.ProviderUpdated",
                "rti.registry.v1.InfrastructureCreated",
                "rti.registry.v1.InfrastructureUpdated",
                "rti.registry.v1.InstallationCreated",
                "rti.registry.v1.InstallationUpdated",
                "rti.registry.v1.InstallationPublished",
                "rti.registry.v1.CapacityReserved",
            ],
            Source::Intake => &[
                "rti.intake.v1.AccessRequestStatusChanged",
                "rti.intake.v1.DecisionClockBreached",
            ],
            Source::Allocation => &[
                "rti.allocation.v1.CallCreated",
                "rti.allocation.v1.AllocationDecided",
                "rti.allocation.v1.SlotStatusChanged",
            ],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Peers {
    registry: RegistryServiceClient<Client>,
    intake: IntakeServiceClient<Client>,
    allocation: AllocationServiceClient<Client>,
}

impl Peers {
    /// Connects on first use, so reporting starts while the others are still starting; every
    /// connection attempt and call is bounded by `limits`.
    pub fn connect_lazy(upstreams: &Upstreams, credentials: ServiceCall, limits: &UpstreamLimits) -> Self {
        let channel = |uri: &http::Uri| limits.channel(uri.clone());
        Self {
            registry: RegistryServiceClient::with_interceptor(channel(&upstreams.registry), credentials.clone()),
            intake: IntakeServiceClient::with_interceptor(channel(&upstreams.intake), credentials.clone()),
            allocation: AllocationServiceClient::with_interceptor(channel(&upstreams.allocation), credentials),
        }
    }

    /// `source`'s events after `after_sequence`: its backlog, then live.
    pub async fn events(&self, source: Source, after_sequence: i64) -> Result<tonic::Streaming<Event>, tonic::Status> {
        let request = SubscribeRequest {
            after_sequence,
            types: source.types().iter().map(|name| (*name).to_owned()).collect(),
        };
        let response = match source {
            Source::Registry => self.registry.clone().subscribe(request).await?,
            Source::Intake => self.intake.clone().subscribe(request).await?,
            Source::Allocation => self.allocation.clone().subscribe(request).await?,
        };
        Ok(response.into_inner())
    }
}
