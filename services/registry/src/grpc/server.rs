//! The `RegistryService` handlers: convert the request, check object-level access, apply the
//! domain's rules, call the store, convert back. Role checks already ran in the platform's
//! `AuthLayer`, by the table in `authz.rs`.

use prost::Message;
use rti_platform::auth::{Principal, Role};
use rti_platform::error::{FailedPrecondition, InvalidInput, Violations};
use rti_platform::events::{EventStream, Outbox};
use rti_platform::idempotency::request_hash;
use rti_platform::pagination::PageRequest;
use rti_platform::server::principal;
use rti_proto::common::SubscribeRequest;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_server::RegistryService;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{
    Installation, InstallationStatus, NewWindow, RegistryError, apply_mask, availability, calendar, text,
};
use crate::search::Search;
use crate::store::{IdempotencyKey, RegistryStore};

const MAX_REQUEST_ID_CHARS: usize = 128;

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

/// The caller of an RPC the table reserves for some roles: the auth layer guarantees one.
fn caller<T>(request: &Request<T>) -> Result<Principal, Status> {
    principal(request)
        .cloned()
        .ok_or_else(|| Status::unauthenticated("this call needs a bearer token"))
}

/// The idempotency key of a create call, scoped to the RPC and the caller.
fn idempotency_key(
    method: &str,
    caller: &Principal,
    request_id: &str,
    encoded: &[u8],
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    if request_id.is_empty() {
        return None;
    }
    if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
        violations.add(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
        );
        return None;
    }
    Some(IdempotencyKey {
        scope: format!("{method}:{}", caller.subject),
        request_id: request_id.to_owned(),
        request_hash: request_hash(encoded),
    })
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
        let key = idempotency_key(
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
        let key = idempotency_key(
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
        let key = idempotency_key(
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
        let installation = self.store.get_installation(&request.into_inner().id).await?;
        Ok(Response::new(convert::installation(&installation)))
    }

    async fn list_installations(
        &self,
        request: Request<proto::ListInstallationsRequest>,
    ) -> Result<Response<proto::ListInstallationsResponse>, Status> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        let page = PageRequest::parse(
            message.page_size,
            &message.page_token,
            &[&message.infrastructure_id],
            &mut violations,
        );
        violations.into_result()?;
        let (installations, next_page_token) = self.store.list_installations(&message.infrastructure_id, &page).await?;
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
        let caller = caller(&request)?;
        let message = request.into_inner();
        let installation_id = message
            .tariff
            .as_ref()
            .map(|tariff| tariff.installation_id.clone())
            .unwrap_or_default();
        self.operated_installation(&caller, &installation_id, "tariff.installation_id")
            .await?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "SetTariff",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let mut fields = required(message.tariff.as_ref(), "tariff", &mut violations).map(convert::tariff_fields);
        if let Some(fields) = fields.as_mut() {
            fields.validate("tariff", &mut violations);
        }
        violations.into_result()?;
        let fields = fields.ok_or_else(|| InvalidInput::single("tariff", "is required"))?;
        let tariff = self.store.set_tariff(&installation_id, fields, key.as_ref()).await?;
        Ok(Response::new(convert::tariff(&tariff)))
    }

    async fn list_tariffs(
        &self,
        request: Request<proto::ListTariffsRequest>,
    ) -> Result<Response<proto::ListTariffsResponse>, Status> {
        let installation_id = request.into_inner().installation_id;
        let mut violations = Violations::new();
        require_id(&installation_id, "installation_id", &mut violations);
        violations.into_result()?;
        let tariffs = self.store.list_tariffs(&installation_id).await?;
        Ok(Response::new(proto::ListTariffsResponse {
            tariffs: tariffs.iter().map(convert::tariff).collect(),
        }))
    }

    async fn add_capacity_window(
        &self,
        request: Request<proto::AddCapacityWindowRequest>,
    ) -> Result<Response<proto::CapacityWindow>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let installation_id = message
            .window
            .as_ref()
            .map(|window| window.installation_id.clone())
            .unwrap_or_default();
        self.operated_installation(&caller, &installation_id, "window.installation_id")
            .await?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "AddCapacityWindow",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let window = required(message.window.as_ref(), "window", &mut violations).and_then(|window| {
            let span = convert::required_span(
                window.start_time.as_ref(),
                window.end_time.as_ref(),
                "window",
                &mut violations,
            );
            calendar::units(window.units, "window.units", &mut violations);
            let (start, end) = span?;
            Some(NewWindow {
                start,
                end,
                units: window.units,
            })
        });
        violations.into_result()?;
        let window = window.ok_or_else(|| InvalidInput::single("window", "is required"))?;
        let window = self.store.add_window(&installation_id, window, key.as_ref()).await?;
        Ok(Response::new(convert::window(&window)))
    }

    async fn add_downtime(
        &self,
        request: Request<proto::AddDowntimeRequest>,
    ) -> Result<Response<proto::AddDowntimeResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let installation_id = message
            .downtime
            .as_ref()
            .map(|downtime| downtime.installation_id.clone())
            .unwrap_or_default();
        self.operated_installation(&caller, &installation_id, "downtime.installation_id")
            .await?;
        let mut violations = Violations::new();
        let key = idempotency_key(
            "AddDowntime",
            &caller,
            &message.request_id,
            &message.encode_to_vec(),
            &mut violations,
        );
        let downtime = required(message.downtime.as_ref(), "downtime", &mut violations);
        let mut reason = downtime.map(|downtime| downtime.reason.clone()).unwrap_or_default();
        let span = downtime.and_then(|downtime| {
            convert::required_span(
                downtime.start_time.as_ref(),
                downtime.end_time.as_ref(),
                "downtime",
                &mut violations,
            )
        });
        text(
            &mut reason,
            "downtime.reason",
            true,
            calendar::MAX_REASON_CHARS,
            &mut violations,
        );
        violations.into_result()?;
        let span = span.ok_or_else(|| InvalidInput::single("downtime", "is required"))?;
        let added = self
            .store
            .add_downtime(&installation_id, span, &reason, key.as_ref())
            .await?;
        Ok(Response::new(convert::downtime_added_response(&added)))
    }

    async fn get_availability(
        &self,
        request: Request<proto::GetAvailabilityRequest>,
    ) -> Result<Response<proto::GetAvailabilityResponse>, Status> {
        let message = request.into_inner();
        let mut violations = Violations::new();
        require_id(&message.installation_id, "installation_id", &mut violations);
        let from = convert::required_time(message.from.as_ref(), "from", &mut violations);
        let to = convert::required_time(message.to.as_ref(), "to", &mut violations);
        let (from, to) = (from.unwrap_or_default(), to.unwrap_or(1));
        let first_day = from.div_euclid(calendar::MICROS_PER_DAY);
        let last_day = (to - 1).div_euclid(calendar::MICROS_PER_DAY);
        if to <= from {
            violations.add("to", "must be after from");
        } else if last_day - first_day >= calendar::MAX_SPAN_DAYS {
            violations.add(
                "to",
                format!("must be at most {} days after from", calendar::MAX_SPAN_DAYS),
            );
        }
        violations.into_result()?;
        let (start, end) = (
            first_day * calendar::MICROS_PER_DAY,
            (last_day + 1) * calendar::MICROS_PER_DAY,
        );
        let calendar = self.store.calendar(&message.installation_id, start, end).await?;
        let spans: Vec<(i64, i64)> = calendar.downtimes.iter().map(|d| (d.start, d.end)).collect();
        let days = availability(first_day, last_day, &calendar.windows, &spans)
            .into_iter()
            .map(|day| proto::DayAvailability {
                date: calendar::date_of_day(day.day),
                free_units: day.free_units,
                capacity_units: day.capacity_units,
                downtime: day.downtime,
            })
            .collect();
        Ok(Response::new(proto::GetAvailabilityResponse {
            days,
            windows: calendar.windows.iter().map(convert::window).collect(),
            downtime: calendar.downtimes.iter().map(convert::downtime).collect(),
        }))
    }

    async fn reserve_capacity(
        &self,
        request: Request<proto::ReserveCapacityRequest>,
    ) -> Result<Response<proto::Reservation>, Status> {
        let caller = caller(&request)?;
        let mut message = request.into_inner();
        let mut violations = Violations::new();
        text(
            &mut message.reservation_id,
            "reservation_id",
            true,
            MAX_REQUEST_ID_CHARS,
            &mut violations,
        );
        require_id(&message.window_id, "window_id", &mut violations);
        calendar::units(message.units, "units", &mut violations);
        text(
            &mut message.reference,
            "reference",
            false,
            calendar::MAX_REFERENCE_CHARS,
            &mut violations,
        );
        violations.into_result()?;
        let window = self.store.get_window(&message.window_id).await?;
        if !caller.has_role(Role::Service) {
            self.operated_installation(&caller, &window.installation_id, "window_id")
                .await?;
        }
        let reservation = self
            .store
            .reserve(
                &message.reservation_id,
                &message.window_id,
                message.units,
                &message.reference,
            )
            .await?;
        Ok(Response::new(convert::reservation(&reservation)))
    }

    async fn release_capacity(
        &self,
        request: Request<proto::ReleaseCapacityRequest>,
    ) -> Result<Response<proto::Reservation>, Status> {
        let caller = caller(&request)?;
        let reservation_id = request.into_inner().reservation_id;
        let mut violations = Violations::new();
        require_id(&reservation_id, "reservation_id", &mut violations);
        violations.into_result()?;
        let existing = self.store.get_reservation(&reservation_id).await?;
        if !caller.has_role(Role::Service) {
            self.operated_installation(&caller, &existing.installation_id, "reservation_id")
                .await?;
        }
        let reservation = self.store.release(&reservation_id).await?;
        Ok(Response::new(convert::reservation(&reservation)))
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
