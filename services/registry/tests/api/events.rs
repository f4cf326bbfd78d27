//! The outbox and `Subscribe`: backlog then live, resuming after a cursor, type filters, and no
//! gap or duplicate while events are written as a subscriber connects.

use std::collections::HashSet;
use std::time::Duration;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::common::{Event, SubscribeRequest, event::Payload};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::Streaming;
use tonic::transport::Channel;

use crate::helpers::{TestService, infrastructure, provider, spawn_service, with_token};

async fn create_provider(client: &mut RegistryServiceClient<Channel>, name: &str) -> proto::Provider {
    client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider(name)),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("create provider")
        .into_inner()
}

async fn subscribe(service: &TestService, after_sequence: i64, types: &[&str]) -> Streaming<Event> {
    let request = SubscribeRequest {
        after_sequence,
        types: types.iter().map(|name| (*name).to_owned()).collect(),
    };
    service
        .client()
        .subscribe(with_token(request, &token(Role::Service)))
        .await
        .expect("subscribe")
        .into_inner()
}

async fn next_event(stream: &mut Streaming<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("an event within five seconds")
        .expect("stream healthy")
        .expect("stream open")
}

async fn delivers_the_backlog_then_live_events(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let first = create_provider(&mut client, "First").await;
    let second = create_provider(&mut client, "Second").await;

    let mut stream = subscribe(&service, 0, &[]).await;
    let backlog = [next_event(&mut stream).await, next_event(&mut stream).await];
    assert_eq!(backlog.map(|event| event.aggregate_id), [first.id.clone(), second.id]);

    let third = create_provider(&mut client, "Third").await;
    let live = next_event(&mut stream).await;
    assert_eq!(live.aggregate_id, third.id);
    assert_eq!(live.r#type, "rti.registry.v1.ProviderCreated");
    assert_eq!(live.source, "registry");
    let Some(Payload::ProviderCreated(created)) = live.payload else {
        panic!("a ProviderCreated payload")
    };
    assert_eq!(created.provider.map(|provider| provider.name).as_deref(), Some("Third"));
}

async fn resumes_after_a_cursor_and_filters_by_type(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let owner = create_provider(&mut client, "Owner").await;
    let mut everything = subscribe(&service, 0, &[]).await;
    let cursor = next_event(&mut everything).await.sequence;

    let created = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(infrastructure(&owner.id, "Resumed")),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("infrastructure")
        .into_inner();
    let mut resumed = subscribe(&service, cursor, &[]).await;
    let event = next_event(&mut resumed).await;
    assert_eq!(
        (event.sequence > cursor, event.aggregate_id.as_str()),
        (true, created.id.as_str())
    );

    create_provider(&mut client, "Not an infrastructure").await;
    let mut filtered = subscribe(&service, 0, &["rti.registry.v1.InfrastructureCreated"]).await;
    assert_eq!(next_event(&mut filtered).await.aggregate_id, created.id);
    let later = create_provider(&mut client, "Still not").await;
    let infrastructure_event = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(infrastructure(&later.id, "Second")),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect("second infrastructure")
        .into_inner();
    assert_eq!(
        next_event(&mut filtered).await.aggregate_id,
        infrastructure_event.id,
        "providers were filtered out"
    );
}

async fn no_gap_and_no_duplicate_while_writers_race_a_connecting_subscriber(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 15;
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut client = service.client();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for index in 0..PER_WRITER {
                    ids.push(
                        create_provider(&mut client, &format!("Writer {writer} #{index}"))
                            .await
                            .id,
                    );
                }
                ids
            })
        })
        .collect();
    // Connect while the writers are busy: part of the history is backlog, part arrives live.
    let mut client = service.client();
    create_provider(&mut client, "Before subscribing").await;
    let mut stream = subscribe(&service, 0, &[]).await;

    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    let total = WRITERS * PER_WRITER + 1;
    let mut sequences = Vec::with_capacity(total);
    let mut received = HashSet::new();
    while sequences.len() < total {
        let event = next_event(&mut stream).await;
        sequences.push(event.sequence);
        assert!(
            received.insert(event.aggregate_id),
            "duplicate event at sequence {}",
            event.sequence
        );
    }
    assert!(
        sequences.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "sequences must be consecutive: {sequences:?}"
    );
    assert!(written.is_subset(&received), "every committed write was delivered");
}

async fn rejects_a_negative_cursor(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let request = SubscribeRequest {
        after_sequence: -1,
        types: vec![],
    };
    let status = service
        .client()
        .subscribe(with_token(request, &token(Role::Admin)))
        .await
        .expect_err("negative");
    assert_eq!(crate::helpers::violated_fields(&status), ["after_sequence"]);
}

backend_tests!(
    delivers_the_backlog_then_live_events,
    resumes_after_a_cursor_and_filters_by_type,
    no_gap_and_no_duplicate_while_writers_race_a_connecting_subscriber,
    rejects_a_negative_cursor,
);
