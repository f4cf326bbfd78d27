//! Health follows the store and shutdown; shutdown lets in-flight calls finish.

use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{WriterHold, token};
use rti_proto::registry as proto;
use tonic_health::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::helpers::{eventually, provider, spawn_service_with, with_token};

fn serving(status: i32) -> bool {
    status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
}

async fn drains_in_flight_calls_and_reports_not_serving_on_shutdown(backend: Backend) {
    let Some(service) = spawn_service_with(backend, |config| config.drain_timeout = Duration::from_secs(10)).await
    else {
        return;
    };
    let mut health = HealthClient::new(service.channel.clone());
    let service_name = rti_registry::AUTHZ.service.to_owned();
    let mut watch = health
        .watch(HealthCheckRequest {
            service: service_name.clone(),
        })
        .await
        .expect("watch health")
        .into_inner();
    let first: HealthCheckResponse = watch.message().await.expect("stream").expect("first status");
    assert!(serving(first.status), "SERVING once the store is ready");

    // Keep a create call in flight by holding the store's write path from outside.
    let hold = WriterHold::take(&service.database.url).await;
    let mut client = service.client();
    let call = tokio::spawn(async move {
        client
            .create_provider(with_token(
                proto::CreateProviderRequest {
                    provider: Some(provider("In flight")),
                    ..Default::default()
                },
                &token(Role::Admin),
            ))
            .await
    });
    let in_flight = service.in_flight.clone();
    eventually("the create call to be in flight", || async {
        (in_flight.count() >= 2).then_some(())
    })
    .await;

    service.shutdown.cancel();
    let status = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health changes promptly")
        .expect("stream")
        .expect("a status");
    assert_eq!(status.status, ServingStatus::NotServing as i32);
    drop(watch);

    hold.release().await;
    let created = call
        .await
        .expect("task")
        .expect("the in-flight call completes")
        .into_inner();
    assert_eq!(created.name, "In flight");
    tokio::time::timeout(Duration::from_secs(10), service.running)
        .await
        .expect("the server stops once drained")
        .expect("task")
        .expect("clean stop");
}

async fn health_is_not_found_for_services_it_does_not_serve(backend: Backend) {
    let Some(service) = spawn_service_with(backend, |_| {}).await else {
        return;
    };
    let mut health = HealthClient::new(service.channel.clone());
    let overall = health
        .check(HealthCheckRequest { service: String::new() })
        .await
        .expect("overall")
        .into_inner();
    assert!(serving(overall.status));
    let unknown = health
        .check(HealthCheckRequest {
            service: "rti.intake.v1.IntakeService".into(),
        })
        .await
        .expect_err("not this service");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

backend_tests!(
    drains_in_flight_calls_and_reports_not_serving_on_shutdown,
    health_is_not_found_for_services_it_does_not_serve
);
