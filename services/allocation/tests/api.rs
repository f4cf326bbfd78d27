//! The allocation service as a real server, on SQLite and on PostgreSQL: health, and its event
//! stream with the RPC table applied both ways.

use rti_allocation::{AUTHZ, App};
use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::server::ServiceConfig;
use rti_platform::testing::{TestDatabase, call_with_empty_request, test_auth, token};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;

async fn serves_health_and_guards_its_event_stream(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let config = ServiceConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        database.url.clone(),
        test_auth(),
    );
    let app = App::build(config).await.expect("starts");
    let address = app.local_addr();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects");

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: AUTHZ.service.to_owned(),
        })
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let anonymous = call_with_empty_request(channel.clone(), AUTHZ.service, "Subscribe", None).await;
    assert_eq!(anonymous.expect_err("anonymous").code(), Code::Unauthenticated);
    let funder = call_with_empty_request(channel.clone(), AUTHZ.service, "Subscribe", Some(&token(Role::Funder))).await;
    assert_eq!(funder.expect_err("funder").code(), Code::PermissionDenied);
    for role in [Role::Service, Role::Admin] {
        call_with_empty_request(channel.clone(), AUTHZ.service, "Subscribe", Some(&token(role)))
            .await
            .expect("allowed");
    }

    shutdown.cancel();
    running
        .await
        .expect("task")
        .expect("stops cleanly, ending open streams");
}

backend_tests!(serves_health_and_guards_its_event_stream);
