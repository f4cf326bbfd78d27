//! The intake service as a real server in front of a real registry, on SQLite and on
//! PostgreSQL: organisations, access requests and their status machines, screening, and who
//! may do what.

mod arithmetic;
mod authz;
mod clocks;
mod helpers;
mod lifecycle;
mod organisations;
mod quotes;
mod requests;
mod rescreening;
mod sanctions;
