//! What a reflection-based client (grpcurl, grpcio-reflection) finds through the gateway.

use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_tests::spawn_suite;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

pub(crate) async fn reflect(channel: tonic::transport::Channel, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel);
    let outbound = futures::stream::iter([ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    }]);
    let mut inbound = client
        .server_reflection_info(outbound)
        .await
        .expect("reflection")
        .into_inner();
    let response: ServerReflectionResponse = inbound.message().await.expect("stream").expect("a response");
    response.message_response.expect("a message")
}

async fn lists_every_service_and_resolves_their_files(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let MessageResponse::ListServicesResponse(listed) =
        reflect(suite.channel.clone(), MessageRequest::ListServices(String::new())).await
    else {
        panic!("a service list")
    };
    let names: Vec<_> = listed.service.iter().map(|service| service.name.as_str()).collect();
    for expected in rti_proto::SERVICE_NAMES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let MessageResponse::FileDescriptorResponse(files) = reflect(
        suite.channel.clone(),
        MessageRequest::FileContainingSymbol("rti.registry.v1.RegistryService".into()),
    )
    .await
    else {
        panic!("descriptors")
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

async fn every_service_is_serving_through_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut health = HealthClient::new(suite.channel.clone());
    for service in rti_proto::SERVICE_NAMES.into_iter().chain([""]) {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
}

backend_tests!(
    lists_every_service_and_resolves_their_files,
    every_service_is_serving_through_the_gateway
);
