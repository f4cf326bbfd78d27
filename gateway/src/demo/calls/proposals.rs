//! Intake's side of the demo calls: the organisations and people of the user groups, one group
//! per proposal, and the transnational-access requests that intake screens and hands to
//! allocation in review; then the wait until allocation has received each (from intake's event
//! stream), and the withdrawals.

use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as allocation, ProposalStatus};
use rti_proto::intake::intake_service_client::IntakeServiceClient;
use rti_proto::intake::{self as proto, AccessRequestStatus as Status};
use tonic::transport::Channel;

use super::{DemoCall, DemoData, DemoPerson, DemoProposal, IdKind, Tokens, demo_id, eventually, installation_id};
use crate::demo::{DemoCatalogue, authorised};

/// Registers the demo organisations and people (each once, by its fixed id and key).
pub(super) async fn register_people(channel: Channel, tokens: &Tokens, data: &DemoData) -> Result<(), tonic::Status> {
    let mut client = IntakeServiceClient::new(channel);
    for demo in &data.organisations {
        let request = demo.registration(
            demo_id(IdKind::OrganisationKey, demo.number),
            demo_id(IdKind::Organisation, demo.number),
        );
        client
            .register_organisation(authorised(request, &tokens.admin)?)
            .await?;
    }
    for person in &data.people {
        let request = person.registration(
            demo_id(IdKind::PersonKey, person.number),
            demo_id(IdKind::Person, person.number),
            demo_id(IdKind::Organisation, person.employer),
        );
        client.register_person(authorised(request, &tokens.admin)?).await?;
    }
    Ok(())
}

/// The requesting organisation of a proposal: the leader's employer, which registers the group.
fn requester(people: &[DemoPerson], leader: u8) -> Result<String, tonic::Status> {
    people
        .iter()
        .find(|person| person.number == leader)
        .map(|person| demo_id(IdKind::Organisation, person.employer))
        .ok_or_else(|| tonic::Status::internal(format!("calls.json names person {leader}, who is not listed")))
}

/// Creates the group and the request of every proposal of `call` (once, by fixed keys), submits
/// those still drafts, waits until allocation has them, and withdraws those the demo withdraws.
/// Returns the proposal ids in the order of the call's proposals.
pub(super) async fn propose(
    channel: Channel,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    people: &[DemoPerson],
    call: &DemoCall,
    call_id: &str,
) -> Result<Vec<String>, tonic::Status> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut ids = Vec::with_capacity(call.proposals.len());
    for demo in &call.proposals {
        let id = create(&mut intake, tokens, catalogue, people, demo, call_id).await?;
        let request = intake
            .get_access_request(authorised(
                proto::GetAccessRequestRequest { id: id.clone() },
                &tokens.admin,
            )?)
            .await?
            .into_inner();
        if request.status() == Status::Draft {
            let message = proto::SubmitAccessRequestRequest {
                id: id.clone(),
                accept_agreement: false,
            };
            let submitted = intake
                .submit_access_request(authorised(message, &tokens.admin)?)
                .await?
                .into_inner();
            if submitted.status() != Status::InReview {
                return Err(tonic::Status::internal(format!(
                    "demo proposal {} is {:?} after submission, not in review: {:?}",
                    demo.number,
                    submitted.status(),
                    submitted.screening
                )));
            }
        }
        ids.push(id);
    }
    let mut allocation = AllocationServiceClient::new(channel);
    for (demo, id) in call.proposals.iter().zip(&ids) {
        received(&mut allocation, tokens, id, None).await?;
        let Some(reason) = &demo.withdraw else { continue };
        let request = intake
            .get_access_request(authorised(
                proto::GetAccessRequestRequest { id: id.clone() },
                &tokens.admin,
            )?)
            .await?
            .into_inner();
        if request.status() == Status::InReview {
            let message = proto::WithdrawAccessRequestRequest {
                id: id.clone(),
                reason: reason.clone(),
            };
            intake
                .withdraw_access_request(authorised(message, &tokens.admin)?)
                .await?;
        }
        // Before the panel and the allocation run: a withdrawn proposal takes no part.
        received(&mut allocation, tokens, id, Some(ProposalStatus::Withdrawn)).await?;
    }
    Ok(ids)
}

/// Creates the proposal's user group and draft request (each once); returns the request id.
async fn create(
    intake: &mut IntakeServiceClient<Channel>,
    tokens: &Tokens,
    catalogue: &DemoCatalogue,
    people: &[DemoPerson],
    demo: &DemoProposal,
    call_id: &str,
) -> Result<String, tonic::Status> {
    let (leader, members) = demo
        .group
        .members
        .split_first()
        .ok_or_else(|| tonic::Status::internal(format!("demo proposal {} has no group leader", demo.number)))?;
    let organisation_id = requester(people, *leader)?;
    let leader = demo_id(IdKind::Person, *leader);
    let group_id = demo_id(IdKind::UserGroup, demo.number);
    let request = proto::CreateUserGroupRequest {
        request_id: demo_id(IdKind::UserGroupKey, demo.number),
        user_group: Some(proto::UserGroup {
            id: group_id.clone(),
            name: demo.group.name.clone(),
            leader_person_id: leader.clone(),
            member_person_ids: members.iter().map(|number| demo_id(IdKind::Person, *number)).collect(),
            organisation_id: organisation_id.clone(),
            ..Default::default()
        }),
    };
    intake.create_user_group(authorised(request, &tokens.admin)?).await?;
    let mut installations = Vec::with_capacity(demo.asks.len());
    for ask in &demo.asks {
        installations.push(proto::RequestedInstallation {
            installation_id: installation_id(catalogue, &ask.installation)?.to_owned(),
            units: ask.units,
        });
    }
    let request = proto::CreateAccessRequestRequest {
        idempotency_key: demo_id(IdKind::AccessRequestKey, demo.number),
        access_request: Some(proto::AccessRequest {
            lane: proto::Lane::Transnational.into(),
            organisation_id,
            installations,
            title: demo.title.clone(),
            description: demo.description.clone(),
            // TA-5: the groups publish their results.
            confidentiality: proto::ConfidentialityLevel::Public.into(),
            ip_regime: proto::IpRegime::OpenDissemination.into(),
            agreement_kind: proto::AgreementKind::TaUserAgreement.into(),
            contact_person_id: leader,
            user_group_id: group_id,
            call_id: call_id.to_owned(),
            ..Default::default()
        }),
    };
    let created = intake
        .create_access_request(authorised(request, &tokens.admin)?)
        .await?;
    Ok(created.into_inner().id)
}

/// Waits until allocation has proposal `id` (evaluated on receipt), in `status` when given.
async fn received(
    allocation: &mut AllocationServiceClient<Channel>,
    tokens: &Tokens,
    id: &str,
    status: Option<ProposalStatus>,
) -> Result<allocation::Proposal, tonic::Status> {
    let what = format!("allocation receiving demo proposal {id} from intake ({status:?})");
    eventually(&what, || {
        let mut allocation = allocation.clone();
        async move {
            let request = allocation::GetProposalRequest { id: id.to_owned() };
            match allocation.get_proposal(authorised(request, &tokens.admin)?).await {
                Ok(answer) => {
                    let proposal = answer.into_inner();
                    Ok(status
                        .is_none_or(|wanted| proposal.status() == wanted)
                        .then_some(proposal))
                }
                Err(error) if error.code() == tonic::Code::NotFound => Ok(None),
                Err(error) => Err(error),
            }
        }
    })
    .await
}
