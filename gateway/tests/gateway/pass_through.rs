//! Reflection served by the gateway, and calls passed through to upstreams: streams both ways,
//! statuses, request ids, trace context, HTTP/1 on the same port.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};
use tonic_reflection::pb::v1alpha;

use crate::helpers::{PATIENCE, TestGateway, Upstream, all_to, attribute, capture_spans, finished_spans, next, uri_of};

const EXPECTED_SERVICES: [&str; 5] = [
    "grpc.health.v1.Health",
    "rti.allocation.v1.AllocationService",
    "rti.intake.v1.IntakeService",
    "rti.registry.v1.RegistryService",
    "rti.reporting.v1.ReportingService",
];

fn list_services() -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }
}

fn service_names(response: ServerReflectionResponse) -> BTreeSet<String> {
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|service| service.name).collect()
        }
        other => panic!("expected a service list, got {other:?}"),
    }
}

async fn reflect(
    channel: tonic::transport::Channel,
    requests: Vec<ServerReflectionRequest>,
) -> Vec<ServerReflectionResponse> {
    let count = requests.len();
    let mut client = ServerReflectionClient::new(channel);
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("stream opens")
        .into_inner();
    let mut responses = Vec::new();
    while responses.len() < count {
        responses.push(next(&mut stream).await.expect("no error").expect("a response"));
    }
    responses
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_rti_service_and_health() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let expected: BTreeSet<String> = EXPECTED_SERVICES.iter().map(|name| (*name).to_owned()).collect();

    let v1 = reflect(gateway.channel(), vec![list_services()]).await;
    assert_eq!(service_names(v1.into_iter().next().expect("one answer")), expected);

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(gateway.channel());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("opens")
        .into_inner();
    let answer = next(&mut stream).await.expect("no error").expect("a response");
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("expected a service list");
    };
    let names: BTreeSet<String> = list.service.into_iter().map(|service| service.name).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn reflection_finds_the_file_that_defines_an_rti_service() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "rti.registry.v1.RegistryService".into(),
        )),
    };
    let answer = reflect(gateway.channel(), vec![request])
        .await
        .into_iter()
        .next()
        .expect("one answer");
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => assert!(!files.file_descriptor_proto.is_empty()),
        other => panic!("expected descriptors, got {other:?}"),
    }
}

#[tokio::test]
async fn bidi_streams_pass_through_to_the_upstream_message_by_message() {
    let upstream = Upstream::start().await;
    let route = ("/grpc.reflection.v1.ServerReflection/".to_owned(), upstream.uri());
    let gateway = TestGateway::start_with(all_to(&upstream.uri()), vec![route], Duration::from_secs(5)).await;

    // One request, wait for its answer, then the next: both directions stay open together.
    let (requests, outgoing) = mpsc::channel(1);
    let mut client = ServerReflectionClient::new(gateway.channel());
    requests.send(list_services()).await.expect("queued");
    let mut stream = client
        .server_reflection_info(ReceiverStream::new(outgoing))
        .await
        .expect("opens")
        .into_inner();
    let first = next(&mut stream).await.expect("no error").expect("first answer");
    assert_eq!(
        service_names(first),
        BTreeSet::from(["grpc.health.v1.Health".to_owned()]),
        "the upstream's list"
    );
    requests.send(list_services()).await.expect("queued");
    let second = next(&mut stream).await.expect("no error").expect("second answer");
    assert_eq!(service_names(second).len(), 1);
    drop(requests);
    assert!(next(&mut stream).await.expect("clean end").is_none());
}

#[tokio::test]
async fn unknown_packages_are_unimplemented() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let mut grpc = tonic::client::Grpc::new(gateway.channel());
    grpc.ready().await.expect("ready");
    let codec =
        tonic_prost::ProstCodec::<tonic_health::pb::HealthCheckRequest, tonic_health::pb::HealthCheckResponse>::default(
        );
    let path = http::uri::PathAndQuery::from_static("/rti.nothing.v1.NothingService/Do");
    let status = grpc
        .unary(tonic::Request::new(Default::default()), path, codec)
        .await
        .expect_err("nobody serves it");
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        status.message(),
        "no service behind the gateway answers /rti.nothing.v1.NothingService/Do"
    );
}

async fn get_infrastructure(
    channel: tonic::transport::Channel,
    request: tonic::Request<rti_proto::registry::GetInfrastructureRequest>,
) -> tonic::Status {
    let mut client = rti_proto::registry::registry_service_client::RegistryServiceClient::new(channel);
    client
        .get_infrastructure(request)
        .await
        .expect_err("the upstream does not serve the registry")
}

fn get_request() -> tonic::Request<rti_proto::registry::GetInfrastructureRequest> {
    tonic::Request::new(rti_proto::registry::GetInfrastructureRequest { id: "infra-1".into() })
}

#[tokio::test]
async fn upstream_statuses_come_back_unchanged() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let direct = get_infrastructure(upstream.channel(), get_request()).await;
    let through = get_infrastructure(gateway.channel(), get_request()).await;
    assert_eq!(direct.code(), Code::Unimplemented);
    assert_eq!(
        (through.code(), through.message(), through.details()),
        (direct.code(), direct.message(), direct.details())
    );
}

#[tokio::test]
async fn request_ids_are_generated_when_absent_and_echoed_when_given() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let path = "/rti.registry.v1.RegistryService/GetInfrastructure";

    let generated = get_infrastructure(gateway.channel(), get_request()).await;
    let id = generated
        .metadata()
        .get("x-request-id")
        .expect("an id comes back")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(rti_platform::ids::is_valid_id(&id), "{id} is a UUID");

    let mut request = get_request();
    request
        .metadata_mut()
        .insert("x-request-id", "client-chosen-42".parse().expect("ascii"));
    let echoed = get_infrastructure(gateway.channel(), request).await;
    assert_eq!(
        echoed.metadata().get("x-request-id").expect("echoed"),
        "client-chosen-42"
    );

    let seen: Vec<_> = upstream
        .seen(path)
        .iter()
        .map(|headers| headers.get("x-request-id").cloned())
        .collect();
    assert_eq!(
        seen,
        [
            Some(id.parse().expect("ascii")),
            Some(http::HeaderValue::from_static("client-chosen-42"))
        ]
    );

    // The gateway's own services get one too.
    let mut health = tonic_health::pb::health_client::HealthClient::new(gateway.channel());
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("serving");
    assert!(answer.metadata().get("x-request-id").is_some());
}

#[tokio::test]
async fn http1_requests_are_answered_on_the_same_port() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&upstream.uri())).await;
    let address = gateway.address;
    let reply = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout set");
        stream
            .write_all(b"GET /nowhere HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
            .expect("request sent");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("reply read");
        reply
    })
    .await
    .expect("no panic");
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    assert!(reply.to_ascii_lowercase().contains("x-request-id: "), "{reply}");
}

#[tokio::test]
async fn the_upstream_continues_the_callers_trace_under_the_gateway_span() {
    let (exporter, _recording) = capture_spans();

    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(all_to(&uri_of(upstream.address))).await;
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut request = get_request();
    let traceparent = format!("00-{caller_trace}-{caller_span}-01");
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    get_infrastructure(gateway.channel(), request).await;

    let seen = upstream.seen("/rti.registry.v1.RegistryService/GetInfrastructure");
    let forwarded = seen[0]
        .get("traceparent")
        .expect("trace context forwarded")
        .to_str()
        .expect("ascii");
    let parts: Vec<&str> = forwarded.split('-').collect();
    assert_eq!(parts[1], caller_trace, "same trace");
    assert_ne!(
        parts[2], caller_span,
        "the upstream's parent is the gateway's span, not the caller's"
    );

    let finished = finished_spans(&exporter, "rti.registry.v1.RegistryService/GetInfrastructure", 1)
        .await
        .remove(0);
    assert_eq!(finished.span_context.trace_id().to_string(), caller_trace);
    assert_eq!(finished.parent_span_id.to_string(), caller_span);
    assert_eq!(finished.span_context.span_id().to_string(), parts[2]);
    assert_eq!(
        attribute(&finished, "rti.protocol"),
        Some(opentelemetry::Value::from("grpc"))
    );
}
