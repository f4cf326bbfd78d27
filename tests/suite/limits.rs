//! Unbounded input refused at the door (issue 13, item 3), through the gateway as an attacker
//! would come: a message over its call's limit is RESOURCE_EXHAUSTED naming the limit, while
//! `ImportSanctionsList` alone takes tens of megabytes and `IngestUsage` small messages; every
//! repeated field over its bound is INVALID_ARGUMENT naming the field and the bound.

use rti_platform::auth::Role;
use rti_platform::backend_tests;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::allocation as allocation_proto;
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::common::SubscribeRequest;
use rti_proto::intake as intake_proto;
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::registry as registry_proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use rti_proto::reporting as reporting_proto;
use rti_proto::reporting::reporting_service_client::ReportingServiceClient;
use rti_tests::{spawn_suite, with_token};
use tonic::Code;

const MIB: usize = 1024 * 1024;

fn admin<T>(message: T) -> tonic::Request<T> {
    with_token(message, &token(Role::Admin))
}

/// Asserts an INVALID_ARGUMENT whose violations name `field` with `description`.
fn assert_refused_by_name(result: Result<impl std::fmt::Debug, tonic::Status>, field: &str, description: &str) {
    let status = result.expect_err("over the bound");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    let violations: Vec<(String, String)> = details
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| (violation.field.clone(), violation.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        violations
            .iter()
            .any(|(named, said)| named == field && said == description),
        "{field}: {description} not among {violations:?}"
    );
}

fn ids(count: usize) -> Vec<String> {
    (0..count).map(|_| rti_platform::ids::new_id()).collect()
}

async fn a_message_over_four_mebibytes_is_refused_naming_the_limit_but_a_sanctions_list_passes(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut intake = IntakeServiceClient::new(suite.channel.clone());
    let oversized = intake_proto::CreateUserGroupRequest {
        request_id: "group-1".into(),
        user_group: Some(intake_proto::UserGroup {
            name: "x".repeat(4 * MIB + 1),
            ..Default::default()
        }),
    };
    let refused = intake
        .create_user_group(admin(oversized))
        .await
        .expect_err("over 4 MiB");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("CreateUserGroup") && refused.message().contains("(4 MiB)"),
        "{}",
        refused.message()
    );

    // Five megabytes of a list that is not one: read and refused for its content, not its size.
    let list = intake_proto::ImportSanctionsListRequest {
        format: intake_proto::SanctionsListFormat::Csv as i32,
        content: vec![b'x'; 5 * MIB],
    };
    let read = intake.import_sanctions_list(admin(list)).await.expect_err("not a list");
    assert_eq!(read.code(), Code::InvalidArgument, "{read:?}");

    // Each message of the usage stream is small, however long the stream.
    let mut reporting = ReportingServiceClient::new(suite.channel.clone());
    let records = vec![
        reporting_proto::UsageRecord {
            record_id: "r-1".into(),
            ..Default::default()
        },
        reporting_proto::UsageRecord {
            record_id: "x".repeat(100 * 1024),
            ..Default::default()
        },
    ];
    let refused = reporting
        .ingest_usage(admin(tokio_stream::iter(records)))
        .await
        .expect_err("a record over 64 KiB");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("(64 KiB)"), "{}", refused.message());
}

async fn every_repeated_field_over_its_bound_is_refused_by_name(backend: Backend) {
    let Some(suite) = spawn_suite(backend).await else {
        return;
    };
    let mut registry = RegistryServiceClient::new(suite.channel.clone());
    let installation = registry_proto::CreateInstallationRequest {
        request_id: "installation-1".into(),
        installation: Some(registry_proto::Installation {
            countries: vec!["DE".into(); 251],
            techniques: vec!["SAXS".into(); 51],
            descriptions: vec![registry_proto::LocalizedText::default(); 41],
            ..Default::default()
        }),
    };
    let answer = registry.create_installation(admin(installation.clone())).await;
    assert_refused_by_name(
        answer,
        "installation.countries",
        "must have at most 250 entries, not 251",
    );
    let answer = registry.create_installation(admin(installation.clone())).await;
    assert_refused_by_name(
        answer,
        "installation.techniques",
        "must have at most 50 entries, not 51",
    );
    let answer = registry.create_installation(admin(installation)).await;
    assert_refused_by_name(
        answer,
        "installation.descriptions",
        "must have at most 40 entries, not 41",
    );
    let search = registry_proto::SearchInstallationsRequest {
        access_modes: vec![registry_proto::AccessMode::Excellence as i32; 65],
        ..Default::default()
    };
    let answer = registry.search_installations(search).await;
    assert_refused_by_name(answer, "access_modes", "must have at most 64 entries, not 65");
    let subscribe = SubscribeRequest {
        after_sequence: 0,
        types: vec!["rti.registry.v1.ProviderCreated".into(); 65],
    };
    let answer = registry.subscribe(admin(subscribe)).await.map(|_| ());
    assert_refused_by_name(answer, "types", "must have at most 64 entries, not 65");

    let mut intake = IntakeServiceClient::new(suite.channel.clone());
    let group = intake_proto::CreateUserGroupRequest {
        request_id: "group-1".into(),
        user_group: Some(intake_proto::UserGroup {
            name: "Group".into(),
            leader_person_id: rti_platform::ids::new_id(),
            member_person_ids: ids(201),
            ..Default::default()
        }),
    };
    let answer = intake.create_user_group(admin(group)).await;
    assert_refused_by_name(
        answer,
        "user_group.member_person_ids",
        "must have at most 200 entries, not 201",
    );
    let organisation = intake_proto::RegisterOrganisationRequest {
        request_id: "organisation-1".into(),
        organisation: Some(intake_proto::Organisation {
            legal_name: "Acme".into(),
            country: "DE".into(),
            holdings: vec![intake_proto::Holding::default(); 101],
            ..Default::default()
        }),
    };
    let answer = intake.register_organisation(admin(organisation)).await;
    assert_refused_by_name(
        answer,
        "organisation.holdings",
        "must have at most 100 entries, not 101",
    );
    let access_request = intake_proto::CreateAccessRequestRequest {
        idempotency_key: "request-1".into(),
        access_request: Some(intake_proto::AccessRequest {
            installations: ids(21)
                .into_iter()
                .map(|installation_id| intake_proto::RequestedInstallation {
                    installation_id,
                    units: 1,
                })
                .collect(),
            ..Default::default()
        }),
    };
    let answer = intake.create_access_request(admin(access_request)).await;
    assert_refused_by_name(
        answer,
        "access_request.installations",
        "must have at most 20 entries, not 21",
    );
    let listing = intake_proto::ListAccessRequestsRequest {
        statuses: vec![intake_proto::AccessRequestStatus::Draft as i32; 17],
        ..Default::default()
    };
    let answer = intake.list_access_requests(admin(listing)).await;
    assert_refused_by_name(answer, "statuses", "must have at most 16 entries, not 17");

    let mut allocation = AllocationServiceClient::new(suite.channel.clone());
    let call = allocation_proto::CreateCallRequest {
        request_id: "call-1".into(),
        title: "Call".into(),
        installations: ids(201)
            .into_iter()
            .map(|installation_id| allocation_proto::CallInstallation {
                installation_id,
                units: 1,
                ..Default::default()
            })
            .collect(),
        criteria: vec![allocation_proto::Criterion::default(); 21],
        ..Default::default()
    };
    let answer = allocation.create_call(admin(call.clone())).await;
    assert_refused_by_name(answer, "installations", "must have at most 200 entries, not 201");
    let answer = allocation.create_call(admin(call)).await;
    assert_refused_by_name(answer, "criteria", "must have at most 20 entries, not 21");
    let panel = allocation_proto::SetPanelRequest {
        call_id: rti_platform::ids::new_id(),
        members: vec![allocation_proto::PanelMember::default(); 101],
    };
    let answer = allocation.set_panel(admin(panel)).await;
    assert_refused_by_name(answer, "members", "must have at most 100 entries, not 101");
    let review = allocation_proto::SubmitReviewRequest {
        proposal_id: rti_platform::ids::new_id(),
        scores: vec![allocation_proto::CriterionScore::default(); 21],
        ..Default::default()
    };
    let answer = allocation
        .submit_review(with_token(review, &token(Role::Reviewer)))
        .await;
    assert_refused_by_name(answer, "scores", "must have at most 20 entries, not 21");

    let mut reporting = ReportingServiceClient::new(suite.channel.clone());
    let query = reporting_proto::QueryUsageStatisticsRequest {
        group_by: vec!["home_country".into(); 12],
        measures: vec!["users".into()],
        filter: Some(reporting_proto::StatisticsFilter {
            installation_ids: ids(501),
            ..Default::default()
        }),
    };
    let answer = reporting.query_usage_statistics(admin(query.clone())).await;
    assert_refused_by_name(answer, "group_by", "must have at most 11 entries, not 12");
    let answer = reporting.query_usage_statistics(admin(query)).await;
    assert_refused_by_name(
        answer,
        "filter.installation_ids",
        "must have at most 500 entries, not 501",
    );
}

backend_tests!(
    a_message_over_four_mebibytes_is_refused_naming_the_limit_but_a_sanctions_list_passes,
    every_repeated_field_over_its_bound_is_refused_by_name,
);
