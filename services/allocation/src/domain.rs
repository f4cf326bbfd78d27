//! The allocation's domain: the programme's rules (TA-x, CTRY-x) as pure functions, the states of
//! calls, proposals and slots, and the optimiser. No tonic, no SQL, no protobuf here.

pub mod allocations;
pub mod calls;
pub mod countries;
pub mod eligibility;
pub mod evaluation;
pub mod ledger;
pub mod proposals;
pub mod review;
pub mod slots;
pub mod solver;
pub mod states;

pub use states::{CallStatus, Lane, LineDecision, ProposalStatus, SlotStatus};
