//! The registry's service tests: every test runs against a registry on SQLite and on PostgreSQL.

mod authz;
mod calendar;
mod catalogue;
mod events;
mod helpers;
mod lifecycle;
mod limits;
mod meaning;
mod metrics;
mod publishing;
mod search;
mod store;
