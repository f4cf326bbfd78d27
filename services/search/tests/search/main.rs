//! The index through its public API: cross-language retrieval, recall aids (phrase slop,
//! decompounding, light stemming, the relaxed fallback), ranking, filters, facets, paging and the
//! writer's life cycle.

mod filters;
mod helpers;
mod lifecycle;
mod ranking;
mod recall;
mod retrieval;
