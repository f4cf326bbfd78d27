//! A bounded soak on loopback: `rti up` (the four services and the gateway in one process, on
//! SQLite) under mixed traffic for a while: creates with idempotency keys, reads, listings,
//! searches, REST reads, and calls refused for want of a token. Every call answers as it should,
//! nothing acknowledged is lost or duplicated, and the process's resident memory, read after a
//! warm-up and at the end, stays within a bound that leaking per call would soon exceed.

use std::time::{Duration, Instant};

use rti_platform::auth::Role;
use rti_platform::testing::{http_get, token, with_token};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tokio::task::JoinSet;

use super::{Counts, Process, connect_when_up, free_address};

/// How long the traffic runs after the warm-up, and the warm-up itself.
const SOAK: Duration = Duration::from_secs(20);
const WARM_UP: Duration = Duration::from_secs(5);
/// Clients calling at once.
const CLIENTS: usize = 6;
/// How much the process's resident memory may grow over the soak: allocator pools settle during
/// the warm-up, and SQLite's page caches grow with the data written (up to 32 MiB a connection,
/// `rti_platform::db`), about half of this here; keeping 8 KiB per call would pass it.
const RESIDENT_GROWTH_BOUND_KIB: u64 = 32 * 1024;

/// What one client saw: creates acknowledged (their names), other calls, and wrong answers.
#[derive(Debug, Default)]
struct Seen {
    created: Vec<String>,
    calls: usize,
    wrong: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_traffic_for_a_while_keeps_memory_flat_and_every_write() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let listen = free_address();
    let data_dir = directory.path().join("data");
    let mut up = Process::rti(
        "rti up",
        &[
            "up",
            "--listen",
            &listen.to_string(),
            "--data-dir",
            data_dir.to_str().expect("a UTF-8 path"),
            "--rate-limit",
            "off",
            "--encoder-model-dir",
            "/nonexistent/encoder-model",
        ],
    );
    let channel = connect_when_up(listen, &mut up).await;

    let traffic = |until: Instant, phase: &'static str, client: usize| {
        let channel = channel.clone();
        async move {
            let mut registry = RegistryServiceClient::new(channel);
            let admin = token(Role::Admin);
            let mut seen = Seen::default();
            let mut round = 0;
            while Instant::now() < until {
                round += 1;
                let name = format!("Soak lab {phase}-{client}-{round}");
                let created = registry
                    .create_provider(with_token(
                        proto::CreateProviderRequest {
                            provider: Some(proto::Provider {
                                name: name.clone(),
                                country: "DE".into(),
                                ..Default::default()
                            }),
                            request_id: rti_platform::ids::new_id(),
                        },
                        &admin,
                    ))
                    .await;
                let Ok(created) = created else {
                    seen.wrong.push(format!("create {name}: {created:?}"));
                    continue;
                };
                let id = created.into_inner().id;
                seen.created.push(name);
                let read = registry
                    .get_provider(with_token(proto::GetProviderRequest { id: id.clone() }, &admin))
                    .await;
                if read.is_err() {
                    seen.wrong.push(format!("get {id}: {read:?}"));
                }
                let listed = registry
                    .list_providers(proto::ListProvidersRequest {
                        page_size: 20,
                        ..Default::default()
                    })
                    .await;
                if listed.is_err() {
                    seen.wrong.push(format!("list: {listed:?}"));
                }
                let searched = registry
                    .search_installations(proto::SearchInstallationsRequest {
                        query: "Reinraum Lithografie".into(),
                        page_size: 5,
                        ..Default::default()
                    })
                    .await;
                if searched.is_err() {
                    seen.wrong.push(format!("search: {searched:?}"));
                }
                let anonymous = registry.create_provider(proto::CreateProviderRequest::default()).await;
                if anonymous.as_ref().err().map(tonic::Status::code) != Some(tonic::Code::Unauthenticated) {
                    seen.wrong.push(format!("an anonymous create: {anonymous:?}"));
                }
                let bearer = format!("Bearer {admin}");
                let (status, body) =
                    http_get(listen, &format!("/v1/providers/{id}"), &[("authorization", &bearer)]).await;
                if status != 200 {
                    seen.wrong.push(format!("GET /v1/providers/{id}: {status} {body}"));
                }
                seen.calls += 6;
            }
            seen
        }
    };
    let run = |until: Instant, phase: &'static str| async move {
        let mut clients = JoinSet::new();
        for client in 0..CLIENTS {
            clients.spawn(traffic(until, phase, client));
        }
        let mut all = Seen::default();
        while let Some(seen) = clients.join_next().await {
            let seen = seen.expect("a client ends");
            all.created.extend(seen.created);
            all.calls += seen.calls;
            all.wrong.extend(seen.wrong);
        }
        all
    };

    let warm_up = run(Instant::now() + WARM_UP, "warm-up").await;
    let resident_before = up.resident_kib();
    let soak = run(Instant::now() + SOAK, "soak").await;
    let resident_after = up.resident_kib();
    up.assert_running();

    let mut created: Vec<String> = warm_up.created.into_iter().chain(soak.created).collect();
    created.sort();
    let stored = stored_soak_providers(RegistryServiceClient::new(channel.clone())).await;
    let acknowledged = created.len();
    let found = created.iter().filter(|name| stored.binary_search(name).is_ok()).count();
    let duplicated = stored.windows(2).filter(|pair| pair[0] == pair[1]).count();
    println!(
        "faults/soak: {} calls over {} s, {} wrong, VmRSS {resident_before} KiB -> {resident_after} KiB",
        soak.calls + warm_up.calls,
        (WARM_UP + SOAK).as_secs(),
        soak.wrong.len() + warm_up.wrong.len(),
    );
    assert!(
        warm_up.wrong.is_empty() && soak.wrong.is_empty(),
        "{:?} {:?}",
        warm_up.wrong,
        soak.wrong
    );
    Counts {
        acknowledged,
        found,
        duplicated,
        lost: acknowledged - found,
    }
    .report("soak");
    assert!(
        resident_after <= resident_before + RESIDENT_GROWTH_BOUND_KIB,
        "rti up's memory grew from {resident_before} KiB to {resident_after} KiB over the soak"
    );
}

/// The names of the soak's providers as stored, sorted, every page of them.
async fn stored_soak_providers(mut registry: RegistryServiceClient<tonic::transport::Channel>) -> Vec<String> {
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = registry
            .list_providers(proto::ListProvidersRequest {
                page_size: 100,
                page_token: page_token.clone(),
            })
            .await
            .expect("list providers")
            .into_inner();
        names.extend(
            page.providers
                .into_iter()
                .map(|provider| provider.name)
                .filter(|name| name.starts_with("Soak lab ")),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    names.sort();
    names
}
