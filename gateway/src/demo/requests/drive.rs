//! Driving a demo access request to the state it rests in: created once by its idempotency key,
//! read back, and taken through the steps it is still before, so that a reload skips what is
//! done. The usage demo drives its requests the same way.

use rti_platform::time::micros_from_timestamp;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use rti_proto::registry;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

use super::data::{DemoRequest, IdKind, Step, demo_id};
use crate::demo::authorised;

/// How long quotes of the demo stay open, in days (the most intake allows).
const QUOTE_VALID_DAYS: i32 = 180;

/// `ACCESS_REQUEST_STATUS_IN_REVIEW` → `IN_REVIEW`.
pub(super) fn short_name(status: Status) -> &'static str {
    let name = status.as_str_name();
    name.strip_prefix("ACCESS_REQUEST_STATUS_").unwrap_or(name)
}

/// Whether `installation_id` has a tariff in EUR in force `at`.
pub(crate) async fn has_eur_tariff_at(
    registry: &mut RegistryServiceClient<Channel>,
    token: &str,
    installation_id: &str,
    at: i64,
) -> Result<bool, tonic::Status> {
    let request = registry::ListTariffsRequest {
        installation_id: installation_id.to_owned(),
    };
    let tariffs = registry
        .list_tariffs(authorised(request, token)?)
        .await?
        .into_inner()
        .tariffs;
    Ok(tariffs.iter().any(|tariff| {
        let starts = tariff.valid_from.as_ref().map_or(i64::MAX, micros_from_timestamp);
        let ends = tariff.valid_to.as_ref().map_or(i64::MAX, micros_from_timestamp);
        starts <= at
            && at < ends
            && tariff
                .price_per_unit
                .as_ref()
                .is_some_and(|price| price.currency == "EUR")
    }))
}

fn is_final(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Declined | Status::Withdrawn)
}

fn acknowledged(request: &proto::AccessRequest) -> bool {
    request
        .deadlines
        .as_ref()
        .is_some_and(|deadlines| deadlines.acknowledge_time.is_some())
}

/// Creates a demo request (once, by its idempotency key), reads it, and takes the steps it is
/// still before; returns its id, lane and the status it rests in, which must be its target.
pub(crate) async fn drive(
    mut client: IntakeServiceClient<Channel>,
    token: &str,
    demo: DemoRequest,
) -> Result<(String, proto::Lane, Status), tonic::Status> {
    let request = proto::CreateAccessRequestRequest {
        idempotency_key: demo_id(IdKind::AccessRequestKey, demo.number),
        access_request: Some(demo.request),
    };
    let id = client
        .create_access_request(authorised(request, token)?)
        .await?
        .into_inner()
        .id;
    let mut request = client
        .get_access_request(authorised(proto::GetAccessRequestRequest { id: id.clone() }, token)?)
        .await?
        .into_inner();
    for step in &demo.steps {
        let status = request.status();
        let id = id.clone();
        let answer = match step {
            Step::Submit if status == Status::Draft => {
                let accept_agreement = request.lane() == proto::Lane::Industrial;
                let message = proto::SubmitAccessRequestRequest { id, accept_agreement };
                client.submit_access_request(authorised(message, token)?).await
            }
            Step::Acknowledge if status == Status::Feasibility && !acknowledged(&request) => {
                let message = proto::AcknowledgeAccessRequestRequest { id };
                client.acknowledge_access_request(authorised(message, token)?).await
            }
            Step::Quote if status == Status::Feasibility => {
                let message = proto::QuoteAccessRequestRequest {
                    id,
                    valid_days: QUOTE_VALID_DAYS,
                };
                client.quote_access_request(authorised(message, token)?).await
            }
            Step::Accept if status == Status::Quoted => {
                let message = proto::AcceptQuoteRequest { id };
                client.accept_quote(authorised(message, token)?).await
            }
            Step::Close if status == Status::Accepted => {
                let message = proto::CloseAccessRequestRequest {
                    id,
                    reason: "Access delivered (demo).".into(),
                };
                client.close_access_request(authorised(message, token)?).await
            }
            Step::Decline(reason) if matches!(status, Status::Feasibility | Status::Quoted) => {
                let message = proto::DeclineAccessRequestRequest {
                    id,
                    reason: reason.clone(),
                };
                client.decline_access_request(authorised(message, token)?).await
            }
            Step::Withdraw(reason) if !is_final(status) => {
                let message = proto::WithdrawAccessRequestRequest {
                    id,
                    reason: reason.clone(),
                };
                client.withdraw_access_request(authorised(message, token)?).await
            }
            _ => continue,
        };
        request = answer
            .map_err(|status| {
                tonic::Status::new(
                    status.code(),
                    format!("demo access request {}, {step:?}: {}", demo.number, status.message()),
                )
            })?
            .into_inner();
    }
    let status = request.status();
    if status != demo.target {
        let why = request.history.last().map_or("", |step| step.reason.as_str());
        return Err(tonic::Status::internal(format!(
            "demo access request {} ({id}) is {} where the demo expects {}: {why}",
            demo.number,
            short_name(status),
            short_name(demo.target)
        )));
    }
    Ok((id, request.lane(), status))
}
