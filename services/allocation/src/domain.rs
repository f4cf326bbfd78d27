//! The allocation's domain rules, free of tonic and SQL.

pub mod countries;
pub mod eligibility;
pub mod solver;
