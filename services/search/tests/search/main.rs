//! The index through its public API: cross-language retrieval, ranking, filters, facets, paging and
//! the writer's life cycle.

mod filters;
mod helpers;
mod lifecycle;
mod ranking;
mod retrieval;
