//! Trust boundaries at the gateway (docs/security.md, item 4): a service token is for calls
//! between the suite's services, never accepted from outside, and the user-token secret cannot
//! mint one.

use std::time::Duration;

use rti_platform::auth::{Claims, Role, mint_hs256};
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::{TEST_SECRET, call_with_empty_request, token};
use rti_tests::spawn_suite;
use tonic::Code;

const REGISTRY: &str = "rti.registry.v1.RegistryService";

async fn a_service_token_from_outside_is_refused_at_the_gateway(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let service = token(Role::Service);
    for method in ["Subscribe", "ListInfrastructures"] {
        let through_gateway = call_with_empty_request(suite.channel.clone(), REGISTRY, method, Some(&service)).await;
        assert_eq!(
            through_gateway.map_err(|status| status.code()),
            Err(Code::Unauthenticated),
            "{method} with a service token through the gateway"
        );
    }
    // The same token is good between the services themselves, and an admin passes the gateway.
    call_with_empty_request(suite.registry.clone(), REGISTRY, "Subscribe", Some(&service))
        .await
        .expect("a service token, service to service");
    call_with_empty_request(suite.channel.clone(), REGISTRY, "Subscribe", Some(&token(Role::Admin)))
        .await
        .expect("an admin through the gateway");

    // The user-token secret, leaked, mints no service token: refused at the gateway and by the
    // service itself.
    let mut forged = Claims::for_service("intruder", "rti-internal", Duration::from_secs(600));
    forged.iss = None;
    let forged = mint_hs256(TEST_SECRET, &forged).expect("signs");
    for channel in [suite.channel.clone(), suite.registry.clone()] {
        let outcome = call_with_empty_request(channel, REGISTRY, "Subscribe", Some(&forged)).await;
        assert_eq!(outcome.map_err(|status| status.code()), Err(Code::Unauthenticated));
    }
}

backend_tests!(a_service_token_from_outside_is_refused_at_the_gateway);
