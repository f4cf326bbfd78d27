//! The `RegistryService` handlers: convert the request, check object-level access, apply the
//! domain's rules, call the store, convert back. Role checks already ran in the platform's
//! `AuthLayer`, by the table in `authz.rs`.

use prost::Message;
use rti_platform::auth::{Principal, Role};
use rti_platform::error::{FailedPrecondition, InvalidInput, Violations};
use rti_platform::events::{EventStream, Outbox};
use rti_platform::pagination::PageRequest;
use rti_platform::server::{caller, principal};
use rti_platform::store::IdempotencyKey;
use rti_proto::common::SubscribeRequest;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_server::RegistryService;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{Installation, InstallationStatus, RegistryError, apply_mask};
use crate::search::Search;
use crate::store::RegistryStore;

mod capacity;

#[derive(Debug, Clone)]
pub struct RegistryApi {
    store: RegistryStore,
    outbox: Outbox,
    search: Search,
    stopping: CancellationToken,
}

impl RegistryApi {
    pub fn new(store: RegistryStore, outbox: Outbox, search: Search, stopping: CancellationToken) -> Self {
        Self {
            store,
            outbox,
            search,
            stopping,
        }
    }

    /// The installation, when the caller operates its infrastructure (or is an admin).
    /// Checked before the request is validated: an unauthorised caller learns nothing more
    /// than whether the installation exists.
    async fn operated_installation(&self, caller: &Principal, id: &str, field: &str) -> Result<Installation, Status> {
        if id.is_empty() {
            return Err(InvalidInput::single(field, "is required").into());
        }
        let installation = match self.store.get_installation(id).await {
            Ok(installation) => installation,
            // An operator hears "not yours" for ids that do not exist too.
            Err(RegistryError::NotFound { .. }) if !caller.is_admin() => {
                return Err(RegistryError::PermissionDenied(format!("you do not operate installation {id:?}")).into());
            }
            Err(error) => return Err(error.into()),
        };
        if !caller.operates(&installation.infrastructure_id) {
            return Err(RegistryError::PermissionDenied(format!(
                "you do not operate infrastructure {:?}",
                installation.infrastructure_id
            ))
            .into());
        }
        Ok(installation)
    }
}

/// Who may read a draft installation: an admin, the suite's services, its infrastructure's operator.
fn sees_drafts_of(caller: &Principal, infrastructure_id: &str) -> bool {
    caller.has_role(Role::Service) || caller.operates(infrastructure_id)
}

fn required<'a, T>(value: Option<&'a T>, field: &str, violations: &mut Violations) -> Option<&'a T> {
    if value.is_none() {
        violations.add(field, "is required");
    }
    value
}

fn require_id(id: &str, field: &str, violations: &mut Violations) {
    if id.is_empty() {
        violations.add(field, "is required");
    }
}

fn mask_paths(mask: Option<&rti_proto::pbjson_types::FieldMask>) -> Vec<String> {
    mask.map(|mask| mask.paths.clone()).unwrap_or_default()
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn create_provider(
        &self,
        request: Request<proto::CreateProviderRequest>,
    ) -> Result<Response<proto::Provider>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = IdempotencyKey::of_call(
            "request_id",
            "CreateProvider",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let mut fields = required(message.provider.as_ref(), "provider", &mut violations).map(convert::provider_fields);
        if let Some(fields) = fields.as_mut() {
            fields.validate("provider", &mut violations);
        }
        violations.into_result()?;
        let Some(fields) = fields else {
            return Err(InvalidInput::single("provider", "is required").into());
        };
        let provider = self.store.create_provider(fields, key.as_ref()).await?;
        Ok(Response::new(convert::provider(&provider)))
    }

    async fn get_provider(
        &self,
        request: Request<proto::GetProviderRequest>,
    ) -> Result<Response<proto::Provider>, Status> {
        let provider = self.store.get_provider(&request.into_inner().id).await?;
        Ok(Response::new(convert::provider(&provider)))
    }

    async fn list_providers(
        &self,
        request: Request<proto::ListProvidersRequest>,
    ) -> Result<Response<proto::ListProvidersResponse>, Status> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(message.page_size, &message.page_token, &[], &mut violations);
        violations.into_result()?;
        let (providers, next_page_token) = self.store.list_providers(&page).await?;
        Ok(Response::new(proto::ListProvidersResponse {
            providers: providers.iter().map(convert::provider).collect(),
            next_page_token,
        }))
    }

    async fn update_provider(
        &self,
        request: Request<proto::UpdateProviderRequest>,
    ) -> Result<Response<proto::Provider>, Status> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        let submitted = required(message.provider.as_ref(), "provider", &mut violations);
        let id = submitted.map(|provider| provider.id.clone()).unwrap_or_default();
        require_id(&id, "provider.id", &mut violations);
        violations.into_result()?;
        let from = submitted
            .map(convert::provider_fields)
            .ok_or_else(|| InvalidInput::single("provider", "is required"))?;
        let paths = mask_paths(message.update_mask.as_ref());
        let provider = self
            .store
            .update_provider(&id, &paths, |stored| {
                let mut violations = Violations::new();
                apply_mask(&paths, &mut violations, |path| stored.set_from(&from, path));
                stored.validate("provider", &mut violations);
                Ok(violations.into_result()?)
            })
            .await?;
        Ok(Response::new(convert::provider(&provider)))
    }

    async fn create_infrastructure(
        &self,
        request: Request<proto::CreateInfrastructureRequest>,
    ) -> Result<Response<proto::Infrastructure>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = IdempotencyKey::of_call(
            "request_id",
            "CreateInfrastructure",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let submitted = required(message.infrastructure.as_ref(), "infrastructure", &mut violations);
        let provider_id = submitted
            .map(|infrastructure| infrastructure.provider_id.clone())
            .unwrap_or_default();
        let mut fields = submitted.map(convert::infrastructure_fields);
        if let Some(fields) = fields.as_mut() {
            require_id(&provider_id, "infrastructure.provider_id", &mut violations);
            fields.validate("infrastructure", &mut violations);
        }
        violations.into_result()?;
        let Some(fields) = fields else {
            return Err(InvalidInput::single("infrastructure", "is required").into());
        };
        let infrastructure = self
            .store
            .create_infrastructure(&provider_id, fields, key.as_ref())
            .await?;
        Ok(Response::new(convert::infrastructure(&infrastructure)))
    }

    async fn get_infrastructure(
        &self,
        request: Request<proto::GetInfrastructureRequest>,
    ) -> Result<Response<proto::Infrastructure>, Status> {
        let infrastructure = self.store.get_infrastructure(&request.into_inner().id).await?;
        Ok(Response::new(convert::infrastructure(&infrastructure)))
    }

    async fn list_infrastructures(
        &self,
        request: Request<proto::ListInfrastructuresRequest>,
    ) -> Result<Response<proto::ListInfrastructuresResponse>, Status> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(
            message.page_size,
            &message.page_token,
            &[&message.provider_id],
            &mut violations,
        );
        violations.into_result()?;
        let (infrastructures, next_page_token) = self.store.list_infrastructures(&message.provider_id, &page).await?;
        Ok(Response::new(proto::ListInfrastructuresResponse {
            infrastructures: infrastructures.iter().map(convert::infrastructure).collect(),
            next_page_token,
        }))
    }

    async fn update_infrastructure(
        &self,
        request: Request<proto::UpdateInfrastructureRequest>,
    ) -> Result<Response<proto::Infrastructure>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let id = message
            .infrastructure
            .as_ref()
            .map(|infrastructure| infrastructure.id.clone())
            .unwrap_or_default();
        if !caller.operates(&id) {
            return Err(RegistryError::PermissionDenied(format!("you do not operate infrastructure {id:?}")).into());
        }
        let mut violations = Violations::new();
        let submitted = required(message.infrastructure.as_ref(), "infrastructure", &mut violations);
        require_id(&id, "infrastructure.id", &mut violations);
        violations.into_result()?;
        let from = submitted
            .map(convert::infrastructure_fields)
            .ok_or_else(|| InvalidInput::single("infrastructure", "is required"))?;
        let paths = mask_paths(message.update_mask.as_ref());
        let infrastructure = self
            .store
            .update_infrastructure(&id, &paths, |stored| {
                let mut violations = Violations::new();
                apply_mask(&paths, &mut violations, |path| stored.set_from(&from, path));
                stored.validate("infrastructure", &mut violations);
                Ok(violations.into_result()?)
            })
            .await?;
        Ok(Response::new(convert::infrastructure(&infrastructure)))
    }

    async fn create_installation(
        &self,
        request: Request<proto::CreateInstallationRequest>,
    ) -> Result<Response<proto::Installation>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let infrastructure_id = message
            .installation
            .as_ref()
            .map(|installation| installation.infrastructure_id.clone())
            .unwrap_or_default();
        if !caller.operates(&infrastructure_id) {
            return Err(RegistryError::PermissionDenied(format!(
                "you do not operate infrastructure {infrastructure_id:?}"
            ))
            .into());
        }
        let mut violations = Violations::new();
        let key = IdempotencyKey::of_call(
            "request_id",
            "CreateInstallation",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let submitted = required(message.installation.as_ref(), "installation", &mut violations);
        let mut fields =
            submitted.map(|installation| convert::installation_fields(installation, "installation", &mut violations));
        if let Some(fields) = fields.as_mut() {
            require_id(&infrastructure_id, "installation.infrastructure_id", &mut violations);
            fields.validate("installation", &mut violations);
        }
        violations.into_result()?;
        let Some(fields) = fields else {
            return Err(InvalidInput::single("installation", "is required").into());
        };
        let installation = self
            .store
            .create_installation(&infrastructure_id, fields, key.as_ref())
            .await?;
        Ok(Response::new(convert::installation(&installation)))
    }

    async fn get_installation(
        &self,
        request: Request<proto::GetInstallationRequest>,
    ) -> Result<Response<proto::Installation>, Status> {
        let caller = principal(&request).cloned();
        let id = request.into_inner().id;
        let installation = self.store.get_installation(&id).await?;
        // Issue 13, item 5: a draft is not public; to anyone who may not see it, it does not exist.
        if installation.status == InstallationStatus::Draft
            && !caller
                .as_ref()
                .is_some_and(|caller| sees_drafts_of(caller, &installation.infrastructure_id))
        {
            return Err(RegistryError::NotFound {
                entity: "installation",
                id,
            }
            .into());
        }
        Ok(Response::new(convert::installation(&installation)))
    }

    async fn list_installations(
        &self,
        request: Request<proto::ListInstallationsRequest>,
    ) -> Result<Response<proto::ListInstallationsResponse>, Status> {
        let caller = principal(&request).cloned();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(
            message.page_size,
            &message.page_token,
            &[&message.infrastructure_id],
            &mut violations,
        );
        violations.into_result()?;
        // Drafts only for whoever may see every one of them: an admin, the suite's services, the
        // operator of the one infrastructure asked for.
        let with_drafts = caller.as_ref().is_some_and(|caller| {
            caller.is_admin()
                || caller.has_role(Role::Service)
                || (!message.infrastructure_id.is_empty() && caller.operates(&message.infrastructure_id))
        });
        let (installations, next_page_token) = self
            .store
            .list_installations(&message.infrastructure_id, with_drafts, &page)
            .await?;
        Ok(Response::new(proto::ListInstallationsResponse {
            installations: installations.iter().map(convert::installation).collect(),
            next_page_token,
        }))
    }

    async fn update_installation(
        &self,
        request: Request<proto::UpdateInstallationRequest>,
    ) -> Result<Response<proto::Installation>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::new();
        let submitted = required(message.installation.as_ref(), "installation", &mut violations);
        let id = submitted
            .map(|installation| installation.id.clone())
            .unwrap_or_default();
        require_id(&id, "installation.id", &mut violations);
        violations.into_result()?;
        self.operated_installation(&caller, &id, "installation.id").await?;
        let mut violations = Violations::new();
        let from = submitted
            .map(|installation| convert::installation_fields(installation, "installation", &mut violations))
            .ok_or_else(|| InvalidInput::single("installation", "is required"))?;
        violations.into_result()?;
        let paths = mask_paths(message.update_mask.as_ref());
        let installation = self
            .store
            .update_installation(
                &id,
                |stored, has_tariff| {
                    let mut violations = Violations::new();
                    apply_mask(&paths, &mut violations, |path| stored.fields.set_from(&from, path));
                    stored.fields.validate("installation", &mut violations);
                    violations.into_result()?;
                    if stored.status == InstallationStatus::Published {
                        // A published installation stays requestable.
                        let missing = stored.fields.completeness(has_tariff);
                        if !missing.is_empty() {
                            return Err(FailedPrecondition::from(missing).into());
                        }
                    }
                    Ok(())
                },
                |updated| convert::installation_updated(updated, &paths),
            )
            .await?;
        Ok(Response::new(convert::installation(&installation)))
    }

    async fn publish_installation(
        &self,
        request: Request<proto::PublishInstallationRequest>,
    ) -> Result<Response<proto::Installation>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        let mut violations = Violations::new();
        require_id(&id, "id", &mut violations);
        violations.into_result()?;
        self.operated_installation(&caller, &id, "id").await?;
        let installation = self
            .store
            .update_installation(
                &id,
                |stored, has_tariff| {
                    let missing = stored.fields.completeness(has_tariff);
                    if !missing.is_empty() {
                        return Err(FailedPrecondition::from(missing).into());
                    }
                    stored.status = InstallationStatus::Published;
                    Ok(())
                },
                convert::installation_published,
            )
            .await?;
        Ok(Response::new(convert::installation(&installation)))
    }

    async fn set_tariff(&self, request: Request<proto::SetTariffRequest>) -> Result<Response<proto::Tariff>, Status> {
        capacity::set_tariff(self, request).await
    }

    async fn list_tariffs(
        &self,
        request: Request<proto::ListTariffsRequest>,
    ) -> Result<Response<proto::ListTariffsResponse>, Status> {
        capacity::list_tariffs(self, request).await
    }

    async fn add_capacity_window(
        &self,
        request: Request<proto::AddCapacityWindowRequest>,
    ) -> Result<Response<proto::CapacityWindow>, Status> {
        capacity::add_capacity_window(self, request).await
    }

    async fn add_downtime(
        &self,
        request: Request<proto::AddDowntimeRequest>,
    ) -> Result<Response<proto::AddDowntimeResponse>, Status> {
        capacity::add_downtime(self, request).await
    }

    async fn get_availability(
        &self,
        request: Request<proto::GetAvailabilityRequest>,
    ) -> Result<Response<proto::GetAvailabilityResponse>, Status> {
        capacity::get_availability(self, request).await
    }

    async fn reserve_capacity(
        &self,
        request: Request<proto::ReserveCapacityRequest>,
    ) -> Result<Response<proto::Reservation>, Status> {
        capacity::reserve_capacity(self, request).await
    }

    async fn release_capacity(
        &self,
        request: Request<proto::ReleaseCapacityRequest>,
    ) -> Result<Response<proto::Reservation>, Status> {
        capacity::release_capacity(self, request).await
    }

    async fn search_installations(
        &self,
        request: Request<proto::SearchInstallationsRequest>,
    ) -> Result<Response<proto::SearchInstallationsResponse>, Status> {
        let response = self.search.search(&self.store, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }
}
