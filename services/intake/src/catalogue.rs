//! What intake asks the registry: whether a requested installation exists and is published, the
//! infrastructure it belongs to, and its research-security tags. Over gRPC, with the caller's
//! trace context passed on.

use rti_platform::telemetry::TracePropagation;
use rti_platform::time::micros_from_timestamp;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::registry::{
    CriticalTechnologyArea, GetInstallationRequest, Installation, InstallationStatus, ListTariffsRequest,
};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::domain::quote::{Money, TariffInForce};
use crate::domain::screening::InstallationFacts;
use crate::domain::{IntakeError, IntakeResult};

#[derive(Debug, Clone)]
pub struct Catalogue {
    client: RegistryServiceClient<InterceptedService<Channel, TracePropagation>>,
}

/// A published installation, as intake needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedInstallation {
    pub infrastructure_id: String,
    pub facts: InstallationFacts,
}

impl Catalogue {
    /// Calls the registry over `channel`, a lazy one (intake starts even while the registry is
    /// still starting) with a connect timeout and a per-call deadline.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: RegistryServiceClient::with_interceptor(channel, TracePropagation),
        }
    }

    /// The installation when it exists and is published; `None` when it does not exist or is a
    /// draft (both mean "not open to requests" to a requester).
    pub async fn published_installation(&self, id: &str) -> IntakeResult<Option<PublishedInstallation>> {
        let answer = self
            .client
            .clone()
            .get_installation(GetInstallationRequest { id: id.to_owned() })
            .await;
        let installation = match answer {
            Ok(response) => response.into_inner(),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => return Ok(None),
            Err(status) => {
                return Err(IntakeError::Registry(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
        };
        if installation.status() != InstallationStatus::Published {
            return Ok(None);
        }
        Ok(Some(published(installation)))
    }
}

impl Catalogue {
    /// The installation's tariff in force at `at` (UTC microseconds), if any.
    pub async fn tariff_at(&self, installation_id: &str, at: i64) -> IntakeResult<Option<TariffInForce>> {
        let tariffs = self
            .client
            .clone()
            .list_tariffs(ListTariffsRequest {
                installation_id: installation_id.to_owned(),
            })
            .await
            .map_err(|status| IntakeError::Registry(format!("{:?}: {}", status.code(), status.message())))?
            .into_inner()
            .tariffs;
        let in_force = tariffs.into_iter().rev().find(|tariff| {
            let from = tariff.valid_from.as_ref().map_or(i64::MIN, micros_from_timestamp);
            let to = tariff.valid_to.as_ref().map_or(i64::MAX, micros_from_timestamp);
            from <= at && at < to
        });
        Ok(in_force.map(|tariff| {
            let price = tariff.price_per_unit.unwrap_or_default();
            TariffInForce {
                tariff_id: tariff.id,
                price_per_unit: Money {
                    currency: price.currency,
                    minor_units: price.minor_units,
                },
            }
        }))
    }
}

fn published(installation: Installation) -> PublishedInstallation {
    let critical_technology_areas = installation
        .critical_technology_areas()
        .filter(|area| *area != CriticalTechnologyArea::Unspecified)
        .map(|area| {
            let name = area.as_str_name();
            name.strip_prefix("CRITICAL_TECHNOLOGY_AREA_")
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    PublishedInstallation {
        infrastructure_id: installation.infrastructure_id.clone(),
        facts: InstallationFacts {
            id: installation.id,
            name: installation.name,
            critical_technology_areas,
            dual_use_categories: installation.dual_use_categories,
        },
    }
}
