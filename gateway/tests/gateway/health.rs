//! `grpc.health.v1.Health` at the gateway: its own status and each service's, as the upstream
//! that serves it says.

use tonic::Code;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{Nowhere, TestGateway, Upstream, next};

const REGISTRY: &str = "rti.registry.v1.RegistryService";
const INTAKE: &str = "rti.intake.v1.IntakeService";
const ALLOCATION: &str = "rti.allocation.v1.AllocationService";
const REPORTING: &str = "rti.reporting.v1.ReportingService";

async fn check(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> Result<Wire, tonic::Status> {
    let answer = client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?;
    Ok(answer.into_inner().status())
}

#[tokio::test]
async fn check_answers_for_each_service_as_its_upstream_says() {
    let first = Upstream::start().await;
    first.health.set_service_status(REGISTRY, ServingStatus::Serving).await;
    first.health.set_service_status(INTAKE, ServingStatus::NotServing).await;
    let second = Upstream::start().await;
    second
        .health
        .set_service_status(REPORTING, ServingStatus::Serving)
        .await;
    let nowhere = Nowhere::reserve();
    let upstreams = rti_gateway::Upstreams {
        registry: vec![first.uri()],
        intake: vec![first.uri()],
        allocation: vec![nowhere.uri()],
        reporting: vec![second.uri()],
    };
    let gateway = TestGateway::start(upstreams).await;
    let mut client = HealthClient::new(gateway.channel());

    assert_eq!(check(&mut client, "").await.expect("own health"), Wire::Serving);
    assert_eq!(check(&mut client, REGISTRY).await.expect("registry"), Wire::Serving);
    assert_eq!(check(&mut client, INTAKE).await.expect("intake"), Wire::NotServing);
    assert_eq!(
        check(&mut client, ALLOCATION).await.expect("allocation is down"),
        Wire::NotServing
    );
    assert_eq!(check(&mut client, REPORTING).await.expect("reporting"), Wire::Serving);
}

#[tokio::test]
async fn check_of_an_unknown_service_is_not_found() {
    let upstream = Upstream::start().await;
    let gateway = TestGateway::start(crate::helpers::all_to(&upstream.uri())).await;
    let mut client = HealthClient::new(gateway.channel());

    let nobody = check(&mut client, "rti.nothing.v1.NothingService")
        .await
        .expect_err("no route");
    assert_eq!(nobody.code(), Code::NotFound);
    // A routed package whose upstream does not know the name: the upstream's answer comes back.
    let unknown_to_upstream = check(&mut client, "rti.registry.v1.Other")
        .await
        .expect_err("unknown upstream");
    assert_eq!(unknown_to_upstream.code(), Code::NotFound);
    let watched = client
        .watch(HealthCheckRequest {
            service: "rti.nothing.v1.NothingService".into(),
        })
        .await;
    assert_eq!(watched.expect_err("no route").code(), Code::NotFound);
}

#[tokio::test]
async fn watch_relays_the_upstream_status_changes_in_order() {
    let upstream = Upstream::start().await;
    upstream
        .health
        .set_service_status(REGISTRY, ServingStatus::Serving)
        .await;
    let gateway = TestGateway::start(crate::helpers::all_to(&upstream.uri())).await;
    let mut client = HealthClient::new(gateway.channel());
    let mut stream = client
        .watch(HealthCheckRequest {
            service: REGISTRY.into(),
        })
        .await
        .expect("watch opens")
        .into_inner();

    let status = |message: Option<tonic_health::pb::HealthCheckResponse>| message.expect("a message").status();
    assert_eq!(status(next(&mut stream).await.expect("first")), Wire::Serving);
    upstream
        .health
        .set_service_status(REGISTRY, ServingStatus::NotServing)
        .await;
    assert_eq!(status(next(&mut stream).await.expect("second")), Wire::NotServing);
    upstream
        .health
        .set_service_status(REGISTRY, ServingStatus::Serving)
        .await;
    assert_eq!(status(next(&mut stream).await.expect("third")), Wire::Serving);
}

#[tokio::test]
async fn watch_reports_not_serving_while_the_upstream_is_down_and_serving_once_it_is_back() {
    let nowhere = Nowhere::reserve();
    let gateway = TestGateway::start(crate::helpers::all_to(&nowhere.uri())).await;
    let mut client = HealthClient::new(gateway.channel());
    let mut stream = client
        .watch(HealthCheckRequest {
            service: REGISTRY.into(),
        })
        .await
        .expect("watch opens")
        .into_inner();
    let first = next(&mut stream).await.expect("first").expect("a message");
    assert_eq!(first.status(), Wire::NotServing);

    let upstream = Upstream::start_on(nowhere.listen()).await;
    upstream
        .health
        .set_service_status(REGISTRY, ServingStatus::Serving)
        .await;
    let second = next(&mut stream).await.expect("second").expect("a message");
    assert_eq!(second.status(), Wire::Serving);
}
