//! The gateway changes nothing a client can see: streams arrive whole, errors keep their code,
//! message and details, over gRPC and over gRPC-Web alike, and every call carries a request id.

use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::common::SubscribeRequest;
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_tests::{spawn_suite, with_token};
use tonic::codegen::{Body, Bytes, StdError};
use tonic::transport::Channel;

async fn events_of<T>(mut client: RegistryServiceClient<T>, count: usize) -> Vec<rti_proto::common::Event>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let request = with_token(
        SubscribeRequest {
            after_sequence: 0,
            types: vec![],
        },
        &token(Role::Admin),
    );
    let mut stream = client.subscribe(request).await.expect("subscribe").into_inner();
    let mut events = Vec::new();
    while events.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("in time");
        events.push(next.expect("healthy").expect("open"));
    }
    events
}

async fn a_server_stream_arrives_unchanged_through_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut client = RegistryServiceClient::new(suite.channel.clone());
    for name in ["One", "Two", "Three"] {
        client
            .create_provider(with_token(
                proto::CreateProviderRequest {
                    provider: Some(proto::Provider {
                        name: name.into(),
                        country: "AT".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &token(Role::Admin),
            ))
            .await
            .expect("provider");
    }
    let through_gateway = events_of(RegistryServiceClient::new(suite.channel.clone()), 3).await;
    let direct = events_of(RegistryServiceClient::new(suite.registry.clone()), 3).await;
    assert_eq!(through_gateway, direct);
    let (transport, origin) = suite.grpc_web();
    let over_grpc_web = events_of(RegistryServiceClient::with_origin(transport, origin), 3).await;
    assert_eq!(over_grpc_web, direct);
}

async fn an_error_keeps_its_code_message_and_details(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let invalid = proto::CreateInfrastructureRequest {
        infrastructure: Some(proto::Infrastructure {
            countries: vec!["XX".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let call = |channel: Channel| {
        let request = with_token(invalid.clone(), &token(Role::Admin));
        async move {
            RegistryServiceClient::new(channel)
                .create_infrastructure(request)
                .await
                .expect_err("invalid")
        }
    };
    let through_gateway = call(suite.channel.clone()).await;
    let direct = call(suite.registry.clone()).await;
    assert_eq!(through_gateway.code(), tonic::Code::InvalidArgument);
    assert_eq!(through_gateway.code(), direct.code());
    assert_eq!(through_gateway.message(), direct.message());
    assert!(!direct.details().is_empty(), "the service sends BadRequest details");
    assert_eq!(
        through_gateway.details(),
        direct.details(),
        "details pass byte for byte"
    );
    let (transport, origin) = suite.grpc_web();
    let over_grpc_web = RegistryServiceClient::with_origin(transport, origin)
        .create_infrastructure(with_token(invalid.clone(), &token(Role::Admin)))
        .await
        .expect_err("invalid");
    assert_eq!(
        (over_grpc_web.code(), over_grpc_web.message(), over_grpc_web.details()),
        (direct.code(), direct.message(), direct.details()),
        "over gRPC-Web too"
    );
}

async fn every_call_gets_a_request_id(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut client = RegistryServiceClient::new(suite.channel.clone());
    let response = client
        .list_providers(proto::ListProvidersRequest::default())
        .await
        .expect("list");
    let generated = response
        .metadata()
        .get("x-request-id")
        .expect("a generated id")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(!generated.is_empty());

    let mut request = tonic::Request::new(proto::ListProvidersRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "client-chosen-42".parse().expect("ascii"));
    let echoed = client.list_providers(request).await.expect("list");
    assert_eq!(
        echoed
            .metadata()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok()),
        Some("client-chosen-42")
    );
}

backend_tests!(
    a_server_stream_arrives_unchanged_through_the_gateway,
    an_error_keeps_its_code_message_and_details,
    every_call_gets_a_request_id,
);
