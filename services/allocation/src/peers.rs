//! What the allocation asks other services, over gRPC with a service token and the caller's trace:
//! the registry for installations and the capacity slots hold, intake for requests and groups.

use rti_platform::auth::ServiceCall;
use rti_platform::limits::UpstreamLimits;
use rti_proto::intake;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::config::Upstreams;
use crate::domain::eligibility::ProviderForm;
use crate::error::{AllocationError, AllocationResult};

#[derive(Debug, Clone)]
pub struct Peers {
    registry: RegistryServiceClient<InterceptedService<Channel, ServiceCall>>,
    intake: IntakeServiceClient<InterceptedService<Channel, ServiceCall>>,
}

/// Where an installation is and who runs it, as eligibility and operators' scope need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub countries: Vec<String>,
    pub infrastructure_id: String,
    pub provider_form: ProviderForm,
}

impl Peers {
    /// Connects on first use, so the allocation starts while the others are still starting; every
    /// connection attempt and call is bounded by `limits`.
    pub fn connect_lazy(upstreams: &Upstreams, credentials: ServiceCall, limits: &UpstreamLimits) -> Self {
        let registry = limits.channel(upstreams.registry.clone());
        let intake = limits.channel(upstreams.intake.clone());
        Self {
            registry: RegistryServiceClient::with_interceptor(registry, credentials.clone()),
            intake: IntakeServiceClient::with_interceptor(intake, credentials),
        }
    }

    /// A published installation's site; `None` when it does not exist or is a draft.
    pub async fn published_site(&self, installation_id: &str) -> AllocationResult<Option<Site>> {
        let answer = self
            .registry
            .clone()
            .get_installation(registry::GetInstallationRequest {
                id: installation_id.to_owned(),
            })
            .await;
        let installation = match answer {
            Ok(response) => response.into_inner(),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => return Ok(None),
            Err(status) => return Err(AllocationError::upstream("registry", &status)),
        };
        if installation.status() != registry::InstallationStatus::Published {
            return Ok(None);
        }
        let infrastructure = self
            .registry
            .clone()
            .get_infrastructure(registry::GetInfrastructureRequest {
                id: installation.infrastructure_id.clone(),
            })
            .await
            .map_err(|status| AllocationError::upstream("registry", &status))?
            .into_inner();
        // TA-3(a): international organisations and ERICs are exempt from transnationality.
        let provider_form = match infrastructure.legal_form() {
            registry::LegalForm::Eric => ProviderForm::Eric,
            registry::LegalForm::InternationalOrganisation => ProviderForm::InternationalOrganisation,
            _ => ProviderForm::Other,
        };
        Ok(Some(Site {
            countries: installation.countries,
            infrastructure_id: installation.infrastructure_id,
            provider_form,
        }))
    }

    /// Holds `units` of a capacity window of `installation_id` under the slot's id; a retry takes
    /// nothing more. The registry refuses a window of another installation. The call gives up,
    /// and the registry with it, after `deadline` (`grpc-timeout`).
    pub async fn reserve(
        &self,
        slot_id: &str,
        installation_id: &str,
        window_id: &str,
        units: i64,
        deadline: std::time::Duration,
    ) -> AllocationResult<()> {
        let mut request = tonic::Request::new(registry::ReserveCapacityRequest {
            reservation_id: slot_id.to_owned(),
            window_id: window_id.to_owned(),
            units,
            reference: format!("allocation slot {slot_id}"),
            installation_id: installation_id.to_owned(),
        });
        request.set_timeout(deadline);
        self.registry
            .clone()
            .reserve_capacity(request)
            .await
            .map_err(|status| AllocationError::upstream("registry", &status))?;
        Ok(())
    }

    /// Frees a slot's reservation; one that was never taken is already free.
    pub async fn release(&self, slot_id: &str) -> AllocationResult<()> {
        let answer = self
            .registry
            .clone()
            .release_capacity(registry::ReleaseCapacityRequest {
                reservation_id: slot_id.to_owned(),
            })
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::NotFound => Ok(()),
            Err(status) => Err(AllocationError::upstream("registry", &status)),
        }
    }

    pub async fn access_request(&self, id: &str) -> AllocationResult<Option<intake::AccessRequest>> {
        let answer = self
            .intake
            .clone()
            .get_access_request(intake::GetAccessRequestRequest { id: id.to_owned() })
            .await;
        match answer {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
            Err(status) => Err(AllocationError::upstream("intake", &status)),
        }
    }

    /// Asks intake to screen the request again against the newest sanctions list (SEC-3) and
    /// returns it as intake then has it.
    pub async fn rescreen(&self, id: &str) -> AllocationResult<intake::AccessRequest> {
        self.intake
            .clone()
            .rescreen_access_request(intake::RescreenAccessRequestRequest { id: id.to_owned() })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| AllocationError::upstream("intake", &status))
    }

    pub async fn organisation(&self, id: &str) -> AllocationResult<intake::Organisation> {
        self.intake
            .clone()
            .get_organisation(intake::GetOrganisationRequest { id: id.to_owned() })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| AllocationError::upstream("intake", &status))
    }

    pub async fn user_group(&self, id: &str) -> AllocationResult<intake::UserGroup> {
        self.intake
            .clone()
            .get_user_group(intake::GetUserGroupRequest { id: id.to_owned() })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| AllocationError::upstream("intake", &status))
    }

    /// Intake's events after `after_sequence` (its `Subscribe` stream).
    pub async fn intake_events(
        &self,
        after_sequence: i64,
    ) -> Result<tonic::Streaming<rti_proto::common::Event>, tonic::Status> {
        self.intake
            .clone()
            .subscribe(rti_proto::common::SubscribeRequest {
                after_sequence,
                types: vec!["rti.intake.v1.AccessRequestStatusChanged".to_owned()],
            })
            .await
            .map(tonic::Response::into_inner)
    }
}
