//! Create, get, list and update of the catalogue; bad input; idempotent creates; pagination.

use std::collections::HashSet;

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;
use tonic::Code;

use crate::helpers::{infrastructure, installation, provider, spawn_service, violated_fields, with_token};

async fn creates_and_reads_back_the_whole_catalogue(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let admin = token(Role::Admin);

    let created_provider = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider("Helmholtz Demo")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create provider")
        .into_inner();
    assert!(!created_provider.id.is_empty());
    assert!(created_provider.create_time.is_some());

    let mut submitted = infrastructure(&created_provider.id, "Nordlicht Synchrotron");
    submitted.countries = vec!["el".into(), "UK".into()];
    let created = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(submitted),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create infrastructure")
        .into_inner();
    assert_eq!(created.countries, ["GR", "GB"], "EL and UK are stored as GR and GB");

    let read = client
        .get_infrastructure(proto::GetInfrastructureRequest { id: created.id.clone() })
        .await
        .expect("anonymous read")
        .into_inner();
    assert_eq!(read, created);

    let created_installation = client
        .create_installation(with_token(
            proto::CreateInstallationRequest {
                installation: Some(installation(&created.id, "Beamline 7")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create installation")
        .into_inner();
    assert_eq!(created_installation.status, proto::InstallationStatus::Draft as i32);
    let read_installation = client
        .get_installation(with_token(
            proto::GetInstallationRequest {
                id: created_installation.id.clone(),
            },
            &admin,
        ))
        .await
        .expect("read installation")
        .into_inner();
    assert_eq!(read_installation, created_installation);
    // Issue 13, item 5: a draft is not public, neither read nor listed.
    let hidden = client
        .get_installation(proto::GetInstallationRequest {
            id: created_installation.id.clone(),
        })
        .await
        .expect_err("a draft, anonymously");
    assert_eq!(hidden.code(), tonic::Code::NotFound, "{hidden:?}");
    let listed = |token: Option<&str>| {
        let mut client = client.clone();
        let request = proto::ListInstallationsRequest::default();
        let request = match token {
            Some(token) => with_token(request, token),
            None => tonic::Request::new(request),
        };
        async move {
            let page = client.list_installations(request).await.expect("lists").into_inner();
            page.installations
                .into_iter()
                .map(|installation| installation.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(!listed(None).await.contains(&created_installation.id));
    assert!(listed(Some(&admin)).await.contains(&created_installation.id));
    let read_provider = client
        .get_provider(proto::GetProviderRequest {
            id: created_provider.id.clone(),
        })
        .await
        .expect("read provider")
        .into_inner();
    assert_eq!(read_provider, created_provider);
}

async fn reports_every_bad_field_at_once(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let bad = proto::Infrastructure {
        provider_id: String::new(),
        name: "   ".into(),
        kind: 0,
        structure: 42,
        countries: vec!["DE".into(), "XX".into()],
        website: "not a url".into(),
        ..Default::default()
    };
    let status = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(bad),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("invalid");
    assert_eq!(
        violated_fields(&status),
        [
            "infrastructure.provider_id",
            "infrastructure.name",
            "infrastructure.kind",
            "infrastructure.structure",
            "infrastructure.countries[1]",
            "infrastructure.website",
        ]
    );

    let missing = client
        .create_provider(with_token(proto::CreateProviderRequest::default(), &token(Role::Admin)))
        .await
        .expect_err("no provider");
    assert_eq!(violated_fields(&missing), ["provider"]);
}

async fn unknown_ids_and_parents_are_not_found(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let unknown = rti_platform::ids::new_id();
    let status = client
        .get_infrastructure(proto::GetInfrastructureRequest { id: unknown.clone() })
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains(&unknown));
    let orphan = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(infrastructure(&unknown, "Orphan")),
                ..Default::default()
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("no such provider");
    assert_eq!(orphan.code(), Code::NotFound);
    assert!(orphan.message().starts_with("provider "), "{}", orphan.message());
}

async fn updates_only_the_fields_in_the_mask(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let admin = token(Role::Admin);
    let owner = client
        .create_provider(with_token(
            proto::CreateProviderRequest {
                provider: Some(provider("Owner")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("provider")
        .into_inner();
    let created = client
        .create_infrastructure(with_token(
            proto::CreateInfrastructureRequest {
                infrastructure: Some(infrastructure(&owner.id, "Before")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("infrastructure")
        .into_inner();

    let mut change = created.clone();
    change.name = "After".into();
    change.acronym = "IGNORED".into();
    let updated = client
        .update_infrastructure(with_token(
            proto::UpdateInfrastructureRequest {
                infrastructure: Some(change.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["name".into()],
                }),
            },
            &admin,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.name, "After");
    assert_eq!(updated.acronym, created.acronym, "acronym was not in the mask");
    let micros = |timestamp: &Option<rti_proto::pbjson_types::Timestamp>| {
        rti_platform::time::micros_from_timestamp(timestamp.as_ref().expect("a timestamp"))
    };
    assert!(micros(&updated.update_time) > micros(&created.update_time));

    let status = client
        .update_infrastructure(with_token(
            proto::UpdateInfrastructureRequest {
                infrastructure: Some(change),
                update_mask: Some(FieldMask {
                    paths: vec!["name".into(), "provider_id".into()],
                }),
            },
            &admin,
        ))
        .await
        .expect_err("provider_id cannot change");
    assert_eq!(violated_fields(&status), ["update_mask.paths[1]"]);
}

async fn a_retried_create_returns_the_first_result(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let admin = token(Role::Admin);
    let request = proto::CreateProviderRequest {
        request_id: "3f1c0b1e-retry".into(),
        provider: Some(provider("Once")),
    };
    let first = client
        .create_provider(with_token(request.clone(), &admin))
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_provider(with_token(request.clone(), &admin))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);

    let mut different = request;
    different.provider = Some(provider("Twice"));
    let status = client
        .create_provider(with_token(different, &admin))
        .await
        .expect_err("same key, other body");
    assert_eq!(violated_fields(&status), ["request_id"]);

    let listed = client
        .list_providers(proto::ListProvidersRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.providers.len(), 1);
}

async fn concurrent_retries_create_exactly_one_resource(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let admin = token(Role::Admin);
    let request = proto::CreateProviderRequest {
        request_id: "concurrent-key".into(),
        provider: Some(provider("Raced")),
    };
    let calls = (0..16).map(|_| {
        let mut client = service.client();
        let request = with_token(request.clone(), &admin);
        tokio::spawn(async move { client.create_provider(request).await.map(tonic::Response::into_inner) })
    });
    let mut ids = HashSet::new();
    for call in calls {
        ids.insert(call.await.expect("task").expect("create").id);
    }
    assert_eq!(ids.len(), 1, "every retry returns the same provider");
    let listed = service
        .client()
        .list_providers(proto::ListProvidersRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.providers.len(), 1);
}

async fn pages_through_a_filtered_list_without_gaps_or_repeats(backend: Backend) {
    let Some(service) = spawn_service(backend).await else {
        return;
    };
    let mut client = service.client();
    let admin = token(Role::Admin);
    let mut provider_ids = Vec::new();
    for name in ["First", "Second"] {
        let created = client
            .create_provider(with_token(
                proto::CreateProviderRequest {
                    provider: Some(provider(name)),
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .expect("provider")
            .into_inner();
        provider_ids.push(created.id);
    }
    let mut expected = Vec::new();
    for index in 0..7 {
        for (which, provider_id) in provider_ids.iter().enumerate() {
            let created = client
                .create_infrastructure(with_token(
                    proto::CreateInfrastructureRequest {
                        infrastructure: Some(infrastructure(provider_id, &format!("Infrastructure {which}-{index}"))),
                        ..Default::default()
                    },
                    &admin,
                ))
                .await
                .expect("infrastructure")
                .into_inner();
            if which == 0 {
                expected.push(created.id);
            }
        }
    }

    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_infrastructures(proto::ListInfrastructuresRequest {
                page_size: 3,
                page_token: page_token.clone(),
                provider_id: provider_ids[0].clone(),
            })
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        seen.extend(page.infrastructures.into_iter().map(|infrastructure| infrastructure.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every item once, in creation order");

    let first = client
        .list_infrastructures(proto::ListInfrastructuresRequest {
            page_size: 3,
            provider_id: provider_ids[0].clone(),
            ..Default::default()
        })
        .await
        .expect("first page")
        .into_inner();
    let status = client
        .list_infrastructures(proto::ListInfrastructuresRequest {
            page_size: 3,
            page_token: first.next_page_token,
            provider_id: provider_ids[1].clone(),
        })
        .await
        .expect_err("token from another filter");
    assert_eq!(violated_fields(&status), ["page_token"]);
    let status = client
        .list_installations(proto::ListInstallationsRequest {
            page_size: 501,
            ..Default::default()
        })
        .await
        .expect_err("page too large");
    assert_eq!(violated_fields(&status), ["page_size"]);
}

backend_tests!(
    creates_and_reads_back_the_whole_catalogue,
    reports_every_bad_field_at_once,
    unknown_ids_and_parents_are_not_found,
    updates_only_the_fields_in_the_mask,
    a_retried_create_returns_the_first_result,
    concurrent_retries_create_exactly_one_resource,
    pages_through_a_filtered_list_without_gaps_or_repeats,
);
