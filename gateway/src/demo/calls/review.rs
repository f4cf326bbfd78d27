//! The coordinator's and the panel's side of the demo calls: the call itself, its panel, the
//! conflicts of interest and reviews, the operator's feasibility, the ranking, a dry run and
//! the committed allocation, each taken only while the call is open and the proposal before it.

use rti_platform::time::{now_micros, timestamp_from_micros};
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as proto, ProposalStatus};
use tonic::transport::Channel;

use super::{COORDINATOR, DemoCall, DemoProposal, Stage, Tokens, installation_id};
use crate::demo::{DemoCatalogue, MICROS_PER_DAY, authorised};

const CALLS_PAGE: i32 = 100;

/// The demo call with `call`'s title, created by the coordinator when there is none yet. The
/// dates follow the day of the first load, so the call is found by its title, not recreated
/// under its request id with other dates.
pub(super) async fn find_or_create_call(
    channel: Channel,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    call: &DemoCall,
) -> Result<proto::Call, tonic::Status> {
    let mut client = AllocationServiceClient::new(channel);
    let mut page_token = String::new();
    loop {
        let request = proto::ListCallsRequest {
            page_size: CALLS_PAGE,
            page_token,
        };
        let page = client
            .list_calls(authorised(request, &tokens.admin)?)
            .await?
            .into_inner();
        if let Some(found) = page
            .calls
            .into_iter()
            .find(|existing| existing.title == call.title && existing.coordinator == COORDINATOR)
        {
            return Ok(found);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let today = now_micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
    let mut installations = Vec::with_capacity(call.installations.len());
    for offered in &call.installations {
        installations.push(proto::CallInstallation {
            installation_id: installation_id(catalogue, &offered.installation)?.to_owned(),
            units: offered.units,
            equivalent_ri_countries: offered.equivalent_ri_countries.clone(),
            ..Default::default()
        });
    }
    let request = proto::CreateCallRequest {
        request_id: format!("demo-call-{}", call.key),
        title: call.title.clone(),
        programme: call.programme.clone(),
        grant_agreement: call.grant_agreement.clone(),
        public_url: format!("https://access.example.org/calls/{}", call.key),
        // CTRY-2: the close time is the reference date of eligibility.
        close_time: Some(timestamp_from_micros(today + call.closes_in_days * MICROS_PER_DAY)),
        open_time: Some(timestamp_from_micros(today - call.opened_days_ago * MICROS_PER_DAY)),
        continuous: call.continuous,
        installations,
        criteria: call.criteria.clone(),
        rulebook: Some(call.rulebook.clone()),
        grant_planned_units: 0,
        max_days_decision_to_access: 0,
    };
    Ok(client
        .create_call(authorised(request, &tokens.coordinator)?)
        .await?
        .into_inner())
}

/// Takes the call through review, and allocates it when the demo says so. An allocated call is
/// left alone: its reviews are closed and its allocation is approved once.
pub(super) async fn assess(
    channel: Channel,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    call: &DemoCall,
    stored: &proto::Call,
    proposal_ids: &[String],
) -> Result<(), tonic::Status> {
    if call.stage == Stage::Open || stored.status() == proto::CallStatus::Allocated {
        return Ok(());
    }
    let mut client = AllocationServiceClient::new(channel);
    // SetPanel replaces the panel: the same members again change nothing.
    let request = proto::SetPanelRequest {
        call_id: stored.id.clone(),
        members: call.panel.clone(),
    };
    client.set_panel(authorised(request, &tokens.coordinator)?).await?;
    for (demo, id) in call.proposals.iter().zip(proposal_ids) {
        assess_proposal(&mut client, tokens, catalogue, demo, id).await?;
    }
    let request = proto::GetRankingRequest {
        call_id: stored.id.clone(),
    };
    let ranking = client
        .get_ranking(authorised(request, &tokens.coordinator)?)
        .await?
        .into_inner();
    if !ranking.proposals.iter().any(|ranked| ranked.allocatable) {
        return Err(tonic::Status::internal(format!(
            "no proposal of demo call {} can be allocated: {ranking:?}",
            call.key
        )));
    }
    // The coordinator looks before approving: a dry run stores nothing.
    for dry_run in [true, false] {
        if !dry_run && call.stage != Stage::Allocated {
            break;
        }
        let request = proto::RunAllocationRequest {
            call_id: stored.id.clone(),
            dry_run,
        };
        client.run_allocation(authorised(request, &tokens.coordinator)?).await?;
    }
    Ok(())
}

/// Conflicts, reviews and feasibility of one proposal in review, those not yet there.
async fn assess_proposal(
    client: &mut AllocationServiceClient<Channel>,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    demo: &DemoProposal,
    id: &str,
) -> Result<(), tonic::Status> {
    let request = proto::GetProposalRequest { id: id.to_owned() };
    let proposal = client
        .get_proposal(authorised(request, &tokens.admin)?)
        .await?
        .into_inner();
    if proposal.status() != ProposalStatus::InReview {
        return Ok(());
    }
    for conflict in &demo.conflicts {
        let token = tokens.reviewer(&conflict.reviewer)?;
        // A member who declared a conflict can no longer see the proposal.
        let request = proto::GetProposalRequest { id: id.to_owned() };
        match client.get_proposal(authorised(request, &token)?).await {
            Err(status) if status.code() == tonic::Code::PermissionDenied => continue,
            Err(status) => return Err(status),
            Ok(_) => {}
        }
        let request = proto::DeclareConflictRequest {
            proposal_id: id.to_owned(),
            reason: conflict.reason.clone(),
        };
        client.declare_conflict(authorised(request, &token)?).await?;
    }
    for review in &demo.reviews {
        if proposal.reviews.iter().any(|stored| stored.reviewer == review.reviewer) {
            continue;
        }
        let request = proto::SubmitReviewRequest {
            proposal_id: id.to_owned(),
            scores: review
                .scores
                .iter()
                .map(|(criterion, score)| proto::CriterionScore {
                    criterion: criterion.clone(),
                    score: *score,
                })
                .collect(),
            comment: review.comment.clone(),
        };
        client
            .submit_review(authorised(request, &tokens.reviewer(&review.reviewer)?)?)
            .await?;
    }
    let Some(feasible) = demo.feasible else {
        return Ok(());
    };
    for ask in &demo.asks {
        let installation = installation_id(catalogue, &ask.installation)?;
        if proposal
            .feasibility
            .iter()
            .any(|stored| stored.installation_id == installation)
        {
            continue;
        }
        let request = proto::SubmitFeasibilityRequest {
            proposal_id: id.to_owned(),
            installation_id: installation.to_owned(),
            feasible,
            note: demo.feasibility_note.clone(),
        };
        client
            .submit_feasibility(authorised(request, &tokens.operator)?)
            .await?;
    }
    Ok(())
}
