//! The allocation service as a real server in front of a real registry and intake, on SQLite and
//! on PostgreSQL: calls and their rulebooks, eligibility by the programme's rules, review and
//! ranking, allocation under the caps, slots held in the registry, and who may do what.

mod allocating;
mod authz;
mod calls;
mod concurrency;
mod coordinators;
mod eligibility;
mod events;
mod helpers;
mod rescreening;
mod review;
mod slots;
mod withdrawals;
