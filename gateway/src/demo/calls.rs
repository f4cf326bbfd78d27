//! Allocation demo data for `rti up --demo`: fictional transnational-access calls over demo
//! installations in several countries (`gateway/demo/calls.json`), with user groups whose members
//! work in several countries, and their proposals through every stage: evaluated, reviewed by a
//! panel (with conflicts of interest declared), ranked, allocated (a dry run, then the committed
//! run), slots offered, held, declined, accepted, confirmed and delivered; and slots for the
//! accepted industrial-lane request of [`crate::demo::requests`]. Loaded through the gateway after
//! the catalogue and intake's demo, each step as the role that takes it (coordinator, reviewers,
//! operator, applicants), with tokens signed by the suite's secret.
//!
//! A reload (a restart) adds and changes nothing: organisations, people, groups and requests carry
//! fixed ids and idempotency keys; a call is found by its title before it is created; every later
//! step reads the state back and is taken only while the proposal, call or slot is still before
//! it. Every name is invented and marked "(demo)".

mod data;
mod proposals;
mod review;
mod slots;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rti_platform::auth::{Claims, Role, mint_hs256};
use rti_proto::allocation::allocation_service_client::AllocationServiceClient;
use rti_proto::allocation::{self as proto, ProposalStatus, SlotStatus};
use tonic::transport::Channel;

use crate::demo::requests::DemoRequests;
use crate::demo::{DemoCatalogue, authorised, loader_token};
use data::{DemoCall, DemoData, DemoPerson, DemoProposal, DemoSlot, SlotTarget, Stage, parse};

/// How long the allocation may take to receive a submitted proposal, or a withdrawal, from
/// intake's event stream.
const RECEIVED_WITHIN: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The demo's coordinator and operator: the subjects of the COORDINATOR and OPERATOR tokens
/// `rti up --demo` prints, so that those tokens see what the demo did.
const COORDINATOR: &str = "demo-coordinator";
const OPERATOR: &str = "demo-operator";

/// What a fixed id stands for: the digits before the number in [`demo_id`].
#[derive(Debug, Clone, Copy)]
enum IdKind {
    Organisation = 1,
    Person = 2,
    UserGroup = 3,
    OrganisationKey = 11,
    PersonKey = 12,
    UserGroupKey = 13,
    AccessRequestKey = 21,
}

/// A fixed UUID of the allocation demo: `0193d3e0-0000-7000-8001-KKKKKKKKNNNN`, apart from
/// intake's demo ids (`…-8000-…`) by its fourth group.
fn demo_id(kind: IdKind, number: u8) -> String {
    format!("0193d3e0-0000-7000-8001-{:08}{number:04}", kind as u8)
}

/// Tokens for each role the loader acts in, signed with the suite's secret.
struct Tokens {
    secret: String,
    admin: String,
    coordinator: String,
    operator: String,
}

const TOKEN_TTL: Duration = Duration::from_secs(600);

impl Tokens {
    fn new(secret: &str, catalogue: &DemoCatalogue) -> Result<Self, tonic::Status> {
        let mut operator = Claims::new(OPERATOR, &[Role::Operator], TOKEN_TTL);
        operator.infrastructures.clone_from(&catalogue.infrastructure_ids);
        Ok(Self {
            secret: secret.to_owned(),
            admin: loader_token(secret).map_err(tonic::Status::internal)?,
            coordinator: mint(secret, &Claims::new(COORDINATOR, &[Role::Coordinator], TOKEN_TTL))?,
            operator: mint(secret, &operator)?,
        })
    }

    fn reviewer(&self, subject: &str) -> Result<String, tonic::Status> {
        mint(&self.secret, &Claims::new(subject, &[Role::Reviewer], TOKEN_TTL))
    }

    /// An applicant of `organisation_id` (the APPLICANT token's subject for the primary one).
    fn applicant(&self, organisation_id: &str) -> Result<String, tonic::Status> {
        let mut claims = Claims::new(
            format!("demo-applicant-{organisation_id}"),
            &[Role::Applicant],
            TOKEN_TTL,
        );
        claims.org = Some(organisation_id.to_owned());
        mint(&self.secret, &claims)
    }
}

fn mint(secret: &str, claims: &Claims) -> Result<String, tonic::Status> {
    mint_hs256(secret, claims).map_err(|error| tonic::Status::internal(format!("cannot sign a demo token: {error}")))
}

/// A catalogue key's installation id.
fn installation_id<'a>(catalogue: &'a DemoCatalogue, key: &str) -> Result<&'a str, tonic::Status> {
    catalogue
        .installation_ids
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| tonic::Status::internal(format!("calls.json names {key:?}, not in the demo catalogue")))
}

/// What the allocation demo holds once loaded, as read back through the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCalls {
    pub call_ids: Vec<String>,
    pub allocated_calls: usize,
    pub proposals: BTreeMap<ProposalStatus, usize>,
    pub slots: BTreeMap<SlotStatus, usize>,
    pub delivered_units: i64,
    pub lost_units: i64,
}

/// `3 calls (1 allocated), 24 proposals (IN_REVIEW 13, …), 12 slots (HELD 2, …), 15 units delivered, 1 lost`.
impl fmt::Display for DemoCalls {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proposals: Vec<String> = self
            .proposals
            .iter()
            .map(|(status, count)| format!("{} {count}", short(status.as_str_name(), "PROPOSAL_STATUS_")))
            .collect();
        let slots: Vec<String> = self
            .slots
            .iter()
            .map(|(status, count)| format!("{} {count}", short(status.as_str_name(), "SLOT_STATUS_")))
            .collect();
        write!(
            formatter,
            "{} calls ({} allocated), {} proposals ({}), {} slots ({}), {} units delivered, {} lost",
            self.call_ids.len(),
            self.allocated_calls,
            self.proposals.values().sum::<usize>(),
            proposals.join(", "),
            self.slots.values().sum::<usize>(),
            slots.join(", "),
            self.delivered_units,
            self.lost_units
        )
    }
}

fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// Loads the allocation demo through the gateway at `channel`, after the catalogue and intake's
/// demo; `secret` signs the tokens of the roles it acts in.
pub async fn load(
    channel: Channel,
    secret: &str,
    catalogue: &DemoCatalogue,
    requests: &DemoRequests,
) -> Result<DemoCalls, tonic::Status> {
    let data = parse()?;
    let tokens = Tokens::new(secret, catalogue)?;
    proposals::register_people(channel.clone(), &tokens, &data).await?;
    let mut call_ids = Vec::new();
    let mut loaded = DemoCalls::default();
    for call in &data.calls {
        let created = review::find_or_create_call(channel.clone(), &tokens, catalogue, call).await?;
        let ids = proposals::propose(channel.clone(), &tokens, catalogue, &data.people, call, &created.id).await?;
        review::assess(channel.clone(), &tokens, catalogue, call, &created, &ids).await?;
        if call.stage == Stage::Allocated {
            for (demo, id) in call.proposals.iter().zip(&ids) {
                slots::drive(channel.clone(), &tokens, catalogue, demo, id).await?;
            }
        }
        call_ids.push((created.id.clone(), ids));
    }
    slots::drive_industrial(channel.clone(), &tokens, requests, &data.industrial_slots).await?;

    let mut client = AllocationServiceClient::new(channel);
    for (call_id, proposal_ids) in &call_ids {
        let call = client
            .get_call(proto::GetCallRequest { id: call_id.clone() })
            .await?
            .into_inner();
        if call.status() == proto::CallStatus::Allocated {
            loaded.allocated_calls += 1;
        }
        for id in proposal_ids {
            let request = proto::GetProposalRequest { id: id.clone() };
            let proposal = client
                .get_proposal(authorised(request, &tokens.admin)?)
                .await?
                .into_inner();
            *loaded.proposals.entry(proposal.status()).or_default() += 1;
            count_slots(&mut client, &tokens, id, &mut loaded).await?;
        }
        loaded.call_ids.push(call_id.clone());
    }
    count_slots(
        &mut client,
        &tokens,
        &requests.accepted_industrial_request_id,
        &mut loaded,
    )
    .await?;
    Ok(loaded)
}

async fn count_slots(
    client: &mut AllocationServiceClient<Channel>,
    tokens: &Tokens,
    access_request_id: &str,
    loaded: &mut DemoCalls,
) -> Result<(), tonic::Status> {
    let request = proto::ListSlotsRequest {
        access_request_id: access_request_id.to_owned(),
    };
    let listed = client
        .list_slots(authorised(request, &tokens.admin)?)
        .await?
        .into_inner();
    for slot in listed.slots {
        *loaded.slots.entry(slot.status()).or_default() += 1;
        loaded.delivered_units += slot.delivered_units;
        loaded.lost_units += slot.lost_units;
    }
    Ok(())
}

/// Polls `probe` until it yields, for at most [`RECEIVED_WITHIN`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + RECEIVED_WITHIN;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(tonic::Status::deadline_exceeded(format!(
                "{what} did not happen within {RECEIVED_WITHIN:?}"
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rti_platform::ids::is_valid_id;

    use super::*;

    #[test]
    fn fixed_ids_are_distinct_uuids_apart_from_intakes_demo() {
        let mut ids = BTreeSet::new();
        for kind in [
            IdKind::Organisation,
            IdKind::Person,
            IdKind::UserGroup,
            IdKind::OrganisationKey,
            IdKind::PersonKey,
            IdKind::UserGroupKey,
            IdKind::AccessRequestKey,
        ] {
            for number in [1, 2, 10, 99, 255] {
                let id = demo_id(kind, number);
                assert!(is_valid_id(&id), "{id}");
                assert!(ids.insert(id.clone()), "{id} twice");
            }
        }
        assert_eq!(demo_id(IdKind::Person, 7), "0193d3e0-0000-7000-8001-000000020007");
    }

    #[test]
    fn the_summary_counts_by_status() {
        let summary = DemoCalls {
            call_ids: vec!["a".into(), "b".into()],
            allocated_calls: 1,
            proposals: [(ProposalStatus::Granted, 2), (ProposalStatus::InReview, 3)]
                .into_iter()
                .collect(),
            slots: [(SlotStatus::Held, 1), (SlotStatus::Delivered, 2)]
                .into_iter()
                .collect(),
            delivered_units: 7,
            lost_units: 1,
        };
        assert_eq!(
            summary.to_string(),
            "2 calls (1 allocated), 5 proposals (IN_REVIEW 3, GRANTED 2), 3 slots (HELD 1, DELIVERED 2), \
             7 units delivered, 1 lost"
        );
    }
}
