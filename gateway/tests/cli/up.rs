//! `rti up --demo`: ready line, demo catalogue, access requests and calls through the gateway,
//! SIGTERM, idempotent restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use rti_proto::allocation::{CallStatus, LineDecision, ProposalStatus, SlotStatus};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self, AccessRequestStatus as Status};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;

use crate::demo_calls::{self, AllocationDemo};
use crate::spawn;

/// A running `rti up` and the gateway address it printed.
struct Up {
    child: Child,
    address: String,
    stdout: Vec<String>,
}

fn start(data_dir: &Path) -> Up {
    let (mut child, receiver) = spawn(&[
        "up",
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().expect("utf-8"),
    ]);
    let mut lines = Vec::new();
    loop {
        // A guard, not a timing: loading the demo in a debug build takes about 15 s on two idle
        // cores and several times that when the machine is busy with other tests.
        let Ok(line) = receiver.recv_timeout(Duration::from_secs(180)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rti up did not print its address within three minutes: {lines:#?}");
        };
        if let Some(address) = line.strip_prefix("gateway listening on ") {
            let address = address.trim().to_owned();
            lines.push(line);
            return Up {
                child,
                address,
                stdout: lines,
            };
        }
        lines.push(line);
    }
}

fn terminate(mut up: Up) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = up.child.try_wait().expect("wait") {
            assert!(status.success(), "rti up exits cleanly on SIGTERM: {status:?}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rti up did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn installation_count(address: &str) -> usize {
    let channel = tonic::transport::Channel::from_shared(address.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = RegistryServiceClient::new(channel);
    let page = client
        .list_installations(proto::ListInstallationsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("anonymous list")
        .into_inner();
    page.installations.len()
}

impl Up {
    /// The value of an `export RTI_{role}_TOKEN=…` line the demo printed.
    fn token(&self, role: &str) -> String {
        let prefix = format!("export RTI_{role}_TOKEN=");
        self.stdout
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} line: {:#?}", self.stdout))
            .trim()
            .to_owned()
    }

    /// The line that sums up the demo requests.
    fn requests_line(&self) -> String {
        self.summary("Demo requests: ")
    }

    /// The printed line that starts with `prefix`.
    fn summary(&self, prefix: &str) -> String {
        self.stdout
            .iter()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line: {:#?}", self.stdout))
            .clone()
    }
}

fn ids(requests: &[(String, String, Status)]) -> Vec<String> {
    requests.iter().map(|(id, _, _)| id.clone()).collect()
}

/// The allocation demo holds calls in review and allocated, proposals in every status with both
/// outcomes of TA-2, a committed allocation, slots in every state they rest in and deliveries.
async fn check_allocation_demo(up: &Up, demo: &AllocationDemo) {
    let allocated: Vec<&String> = demo
        .calls
        .iter()
        .filter(|(_, status)| **status == CallStatus::Allocated)
        .map(|(id, _)| id)
        .collect();
    assert!(demo.calls.len() >= 2 && !allocated.is_empty(), "{demo:#?}");
    assert!(demo.proposals.len() >= 15, "{demo:#?}");
    for status in [
        ProposalStatus::InReview,
        ProposalStatus::Granted,
        ProposalStatus::Refused,
        ProposalStatus::Withdrawn,
    ] {
        assert!(
            demo.proposals_in(status) > 0,
            "no demo proposal is {status:?}: {demo:#?}"
        );
    }
    // TA-2: most groups pass, one or two fail.
    let (failing, passing) = demo.transnationality();
    assert!((1..=3).contains(&failing) && passing > 3 * failing, "{demo:#?}");
    assert!(demo.reviews > 0, "{demo:#?}");
    for (_, decisions) in demo.allocations.values() {
        for decision in [LineDecision::Granted, LineDecision::Cut, LineDecision::Refused] {
            assert!(decisions.contains(&decision), "no line is {decision:?}: {decisions:?}");
        }
    }
    for status in [
        SlotStatus::Held,
        SlotStatus::Declined,
        SlotStatus::Accepted,
        SlotStatus::Confirmed,
        SlotStatus::Delivered,
    ] {
        assert!(demo.slots_in(status) > 0, "no demo slot is {status:?}: {demo:#?}");
    }
    let delivered = |lane| {
        demo.slots
            .values()
            .any(|(each, status, units, _)| *each == lane && *status == SlotStatus::Delivered && *units > 0)
    };
    assert!(delivered(rti_proto::allocation::Lane::Transnational), "{demo:#?}");
    assert!(delivered(rti_proto::allocation::Lane::Industrial), "{demo:#?}");
    assert!(demo.slots.values().any(|(_, _, _, lost)| *lost > 0), "{demo:#?}");

    // A call still in review: ranked, some proposals allocatable, and the REVIEWER token's
    // declared conflict hides a proposal from it.
    let mut in_review = None;
    for (call_id, status) in &demo.calls {
        if *status == CallStatus::Open
            && demo_calls::ranking(&up.address, &up.token("COORDINATOR"), call_id)
                .await
                .0
                > 0
        {
            in_review = Some(call_id);
        }
    }
    let call_id = in_review.unwrap_or_else(|| panic!("no open demo call has an allocatable proposal: {demo:#?}"));
    let (allocatable, blocked) = demo_calls::ranking(&up.address, &up.token("COORDINATOR"), call_id).await;
    assert!(
        allocatable > 0 && blocked > 0,
        "{allocatable} allocatable, {blocked} not"
    );
    let all = demo_calls::visible_proposals(&up.address, &up.token("ADMIN"), call_id).await;
    let reviewer = demo_calls::visible_proposals(&up.address, &up.token("REVIEWER"), call_id).await;
    assert!(0 < reviewer && reviewer < all, "the reviewer sees {reviewer} of {all}");
}

/// The access requests `token` may see, through the gateway: (id, organisation id, status).
async fn access_requests(address: &str, token: &str) -> Vec<(String, String, Status)> {
    let channel = tonic::transport::Channel::from_shared(address.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut request = tonic::Request::new(intake::ListAccessRequestsRequest {
        page_size: 500,
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    let page = IntakeServiceClient::new(channel)
        .list_access_requests(request)
        .await
        .expect("lists the access requests")
        .into_inner();
    assert!(page.next_page_token.is_empty(), "one page holds the demo");
    page.access_requests
        .into_iter()
        .map(|request| {
            let status = request.status();
            (request.id, request.organisation_id, status)
        })
        .collect()
}

fn by_status(requests: &[(String, String, Status)]) -> BTreeMap<Status, usize> {
    let mut counts = BTreeMap::new();
    for (_, _, status) in requests {
        *counts.entry(*status).or_default() += 1;
    }
    counts
}

fn organisations(requests: &[(String, String, Status)]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|(_, organisation, _)| organisation.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_demo_serves_the_catalogue_and_restarts_without_duplicates() {
    let directory = tempfile::tempdir().expect("tempdir");
    let first = start(directory.path());
    assert!(
        first
            .stdout
            .iter()
            .any(|line| line.starts_with("export RTI_ADMIN_TOKEN=")),
        "{:#?}",
        first.stdout
    );
    assert!(
        first.stdout.iter().any(|line| line.contains("grpcurl -plaintext")),
        "example calls are printed"
    );
    let count = installation_count(&first.address).await;
    assert!(count >= 10, "the demo catalogue is there: {count}");

    // Intake's demo: requests in every state, for organisations of every kind.
    let requests = access_requests(&first.address, &first.token("ADMIN")).await;
    let statuses = by_status(&requests);
    for status in [
        Status::Draft,
        Status::Screening,
        Status::Feasibility,
        Status::Quoted,
        Status::Accepted,
        Status::InReview,
        Status::Closed,
        Status::Declined,
        Status::Withdrawn,
    ] {
        assert!(
            statuses.contains_key(&status),
            "no demo request is {status:?}: {statuses:?}"
        );
    }
    let requesters = organisations(&requests);
    assert!(requesters.len() >= 8, "{requesters:?}");
    assert!(
        first.requests_line().contains("8 organisations"),
        "{}",
        first.requests_line()
    );
    // The APPLICANT token acts for the primary demo organisation, which has requests.
    let own = access_requests(&first.address, &first.token("APPLICANT")).await;
    assert!(!own.is_empty(), "the applicant sees its organisation's requests");
    let own_organisations = organisations(&own);
    assert_eq!(own_organisations.len(), 1, "{own_organisations:?}");
    let applicant_organisation = own_organisations.first().expect("one").clone();
    assert!(
        rti_platform::ids::is_valid_id(&applicant_organisation),
        "{applicant_organisation}"
    );
    assert!(
        first.stdout.iter().any(|line| line.contains(&applicant_organisation)),
        "the guide names the applicant's organisation"
    );

    // The secret `rti up` generated lets `rti token` mint tokens the suite accepts.
    let minted = crate::run(&[
        "token",
        "--role",
        "admin",
        "--data-dir",
        directory.path().to_str().expect("utf-8"),
    ]);
    assert!(minted.status.success(), "{minted:?}");
    let token = String::from_utf8(minted.stdout).expect("utf-8");
    let channel = tonic::transport::Channel::from_shared(first.address.clone())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut request = tonic::Request::new(proto::CreateProviderRequest {
        provider: Some(proto::Provider {
            name: "Minted".into(),
            country: "LU".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", token.trim()).parse().expect("ascii"),
    );
    RegistryServiceClient::new(channel)
        .create_provider(request)
        .await
        .expect("the minted token is accepted");
    // Allocation's demo: calls, proposals through every stage, slots and deliveries.
    let allocation = demo_calls::read(&first.address, &first.token("ADMIN"), &ids(&requests)).await;
    check_allocation_demo(&first, &allocation).await;
    let calls_line = first.summary("Demo calls: ");
    let requests_line = first.requests_line();
    // Reporting's demo: a year of usage, which an EC funder sees by home country.
    let usage = usage_by_country(&first.address, &first.token("FUNDER_EC")).await;
    assert!(
        usage.len() >= 12,
        "the demo's usage covers twelve countries: {usage:#?}"
    );
    let usage_line = first.summary("Demo usage: ");
    terminate(first);

    let second = start(directory.path());
    assert_eq!(
        installation_count(&second.address).await,
        count,
        "a restart does not load the demo twice"
    );
    let again = access_requests(&second.address, &second.token("ADMIN")).await;
    assert_eq!(again.len(), requests.len(), "a restart adds no access request");
    assert_eq!(by_status(&again), statuses, "a restart moves no access request");
    assert_eq!(organisations(&again), requesters, "a restart adds no organisation");
    assert_eq!(second.requests_line(), requests_line);
    let reloaded = demo_calls::read(&second.address, &second.token("ADMIN"), &ids(&again)).await;
    assert_eq!(reloaded, allocation, "a restart adds and moves nothing in allocation");
    assert_eq!(second.summary("Demo calls: "), calls_line);
    assert_eq!(
        usage_by_country(&second.address, &second.token("FUNDER_EC")).await,
        usage,
        "a restart records no usage twice"
    );
    assert_eq!(second.summary("Demo usage: "), usage_line);
    terminate(second);
}

/// The demo year's users and units by home country, as a funder pulls them.
async fn usage_by_country(address: &str, token: &str) -> Vec<rti_proto::reporting::StatisticsRow> {
    use rti_proto::reporting::reporting_service_client::ReportingServiceClient;
    use rti_proto::reporting::{QueryUsageStatisticsRequest, StatisticsFilter};
    let channel = tonic::transport::Channel::from_shared(address.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut request = tonic::Request::new(QueryUsageStatisticsRequest {
        group_by: vec!["home_country".into()],
        measures: vec!["users".into(), "units_used".into()],
        filter: Some(StatisticsFilter {
            from: rti_platform::time::time_micros("2025-12-01T00:00:00Z")
                .map(rti_platform::time::timestamp_from_micros),
            to: rti_platform::time::time_micros("2026-12-01T00:00:00Z").map(rti_platform::time::timestamp_from_micros),
            ..StatisticsFilter::default()
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    let mut rows = Vec::new();
    let mut stream = ReportingServiceClient::new(channel)
        .query_usage_statistics(request)
        .await
        .expect("statistics")
        .into_inner();
    while let Some(row) = stream.message().await.expect("a row") {
        rows.push(row);
    }
    rows
}
