//! The allocation side of `rti up --demo`, read through the gateway as its printed tokens allow:
//! calls, proposals with their findings and reviews, allocations and slots.

use std::collections::BTreeMap;

use rti_platform::testing::with_token;
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as proto, CallStatus, EligibilityOutcome, LineDecision, ProposalStatus, SlotStatus};
use tonic::transport::Channel;

/// What the demo's allocation holds; equal before and after a restart when the reload adds nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationDemo {
    pub calls: BTreeMap<String, CallStatus>,
    /// Per proposal: status, overall eligibility and its TA-2 outcomes (one per installation).
    pub proposals: BTreeMap<String, (ProposalStatus, EligibilityOutcome, Vec<EligibilityOutcome>)>,
    pub reviews: usize,
    /// Per allocated call: the allocation's id and its lines' decisions.
    pub allocations: BTreeMap<String, (String, Vec<LineDecision>)>,
    /// Per slot: its lane, status, delivered and lost units.
    pub slots: BTreeMap<String, (proto::Lane, SlotStatus, i64, i64)>,
}

async fn client(address: &str) -> AllocationServiceClient<Channel> {
    let channel = Channel::from_shared(address.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    AllocationServiceClient::new(channel)
}

/// Calls, anonymously (TA-8: calls are public); the rest as the admin. `access_request_ids` are
/// every access request of intake: slots of those the allocation knows are read.
pub async fn read(address: &str, admin: &str, access_request_ids: &[String]) -> AllocationDemo {
    let mut client = client(address).await;
    let calls = client
        .list_calls(proto::ListCallsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("anyone lists the calls")
        .into_inner();
    assert!(calls.next_page_token.is_empty(), "one page holds the demo's calls");
    let mut demo = AllocationDemo {
        calls: BTreeMap::new(),
        proposals: BTreeMap::new(),
        reviews: 0,
        allocations: BTreeMap::new(),
        slots: BTreeMap::new(),
    };
    for call in calls.calls {
        demo.calls.insert(call.id.clone(), call.status());
        let request = proto::ListProposalsRequest {
            call_id: call.id.clone(),
            page_size: 100,
            ..Default::default()
        };
        let page = client
            .list_proposals(with_token(request, admin))
            .await
            .expect("the admin lists proposals")
            .into_inner();
        assert!(
            page.next_page_token.is_empty(),
            "one page holds a demo call's proposals"
        );
        for proposal in page.proposals {
            let transnationality = proposal
                .findings
                .iter()
                .filter(|finding| finding.rule == "TA-2")
                .map(proto::Finding::outcome)
                .collect();
            demo.reviews += proposal.reviews.len();
            demo.proposals.insert(
                proposal.id.clone(),
                (proposal.status(), proposal.eligibility(), transnationality),
            );
        }
        if call.status() == CallStatus::Allocated {
            let allocation = client
                .get_allocation(with_token(
                    proto::GetAllocationRequest {
                        call_id: call.id.clone(),
                    },
                    admin,
                ))
                .await
                .expect("an allocated call has its allocation")
                .into_inner();
            let decisions = allocation.lines.iter().map(proto::AllocationLine::decision).collect();
            demo.allocations.insert(call.id.clone(), (allocation.id, decisions));
        }
    }
    for id in access_request_ids {
        let request = proto::ListSlotsRequest {
            access_request_id: id.clone(),
        };
        match client.list_slots(with_token(request, admin)).await {
            Ok(listed) => {
                for slot in listed.into_inner().slots {
                    let entry = (slot.lane(), slot.status(), slot.delivered_units, slot.lost_units);
                    demo.slots.insert(slot.id, entry);
                }
            }
            // Requests the allocation never received (drafts, the industrial lane before acceptance).
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => panic!("ListSlots {id}: {status:?}"),
        }
    }
    demo
}

/// The call's ranking as the coordinator sees it: (allocatable, not) counts.
pub async fn ranking(address: &str, coordinator: &str, call_id: &str) -> (usize, usize) {
    let request = proto::GetRankingRequest {
        call_id: call_id.to_owned(),
    };
    let ranking = client(address)
        .await
        .get_ranking(with_token(request, coordinator))
        .await
        .expect("the coordinator reads the ranking")
        .into_inner();
    let allocatable = ranking.proposals.iter().filter(|ranked| ranked.allocatable).count();
    (allocatable, ranking.proposals.len() - allocatable)
}

/// How many of the call's proposals `token` may see.
pub async fn visible_proposals(address: &str, token: &str, call_id: &str) -> usize {
    let request = proto::ListProposalsRequest {
        call_id: call_id.to_owned(),
        page_size: 100,
        ..Default::default()
    };
    client(address)
        .await
        .list_proposals(with_token(request, token))
        .await
        .expect("lists proposals")
        .into_inner()
        .proposals
        .len()
}

impl AllocationDemo {
    pub fn proposals_in(&self, status: ProposalStatus) -> usize {
        self.proposals.values().filter(|(each, _, _)| *each == status).count()
    }

    pub fn slots_in(&self, status: SlotStatus) -> usize {
        self.slots.values().filter(|(_, each, _, _)| *each == status).count()
    }

    /// Proposals whose TA-2 finding fails on some installation, and those where it passes on all.
    pub fn transnationality(&self) -> (usize, usize) {
        let evaluated = self.proposals.values().filter(|(_, _, findings)| !findings.is_empty());
        let (failing, passing): (Vec<_>, Vec<_>) =
            evaluated.partition(|(_, _, findings)| findings.contains(&EligibilityOutcome::Fail));
        (failing.len(), passing.len())
    }
}
