//! The intake's domain rules, free of tonic and SQL.

pub mod names;
pub mod sanctions_xml;
pub mod sme;
