//! The reporting service as a real server, on SQLite and on PostgreSQL, in front of stand-ins
//! for the streams it follows: projections and every measure against hand-computed figures,
//! usage records and their checks, normalisation, funder scope, the disclosure control under
//! attack, a crash mid-stream, two replicas on one database, and who may call what.

mod authz;
mod disclosure;
mod helpers;
mod journal;
mod measures;
mod normalisation;
mod replicas;
mod reports;
mod restart;
mod scope;
mod usage;
