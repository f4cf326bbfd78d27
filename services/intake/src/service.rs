//! The intake's operations, one method of [`IntakeService`] each: an operation checks who may
//! act on what (the domain's access rules), applies the domain's rules, asks the registry what
//! it must, and decides the edges of its transactions through the store. The gRPC adapter
//! converts requests into the commands here and the results back.

mod clocks;
mod organisations;
mod quotes;
mod requests;
mod rescreening;
mod screening;

use std::sync::Arc;

use rti_platform::auth::Principal;
use rti_platform::error::InvalidInput;
use tokio::sync::Mutex;

use crate::catalogue::Catalogue;
use crate::domain::names::NameIndex;
use crate::domain::request::AccessRequest;
use crate::domain::sme::SmallMidCapRule;
use crate::domain::{IntakeError, IntakeResult, access, aid};
use crate::store::IntakeStore;

pub use clocks::SetDecisionClock;
pub use organisations::{CreateUserGroup, NewPerson, NewUserGroup, RegisterOrganisation, RegisterPerson};
pub use requests::{CreateAccessRequest, ListAccessRequests};
pub use screening::{ImportSanctionsList, ReviewScreening};

/// Rules that change by programme or grant (CONFIG).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// SME-3: the small mid-cap ceilings in force.
    pub small_mid_cap: SmallMidCapRule,
    /// SME-4: the age under which an enterprise may count as a start-up.
    pub start_up_max_age_years: u32,
    /// SA-5: the discounts by requester class.
    pub discounts: aid::Discounts,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            small_mid_cap: crate::domain::sme::SMALL_MID_CAP_2025_1099,
            start_up_max_age_years: 10,
            discounts: aid::Discounts::default(),
        }
    }
}

/// A sanctions list's id and its name index.
type CachedIndex = (String, Arc<NameIndex>);

#[derive(Debug, Clone)]
pub struct IntakeService {
    store: IntakeStore,
    catalogue: Catalogue,
    rules: Rules,
    /// The name index of the newest sanctions list, built once per list version.
    index: Arc<Mutex<Option<CachedIndex>>>,
    /// The name index of the names a newer version adds (SEC-3 re-screening).
    delta: Arc<Mutex<Option<rescreening::CachedDelta>>>,
    rescreen_wakeup: Arc<tokio::sync::Notify>,
}

impl IntakeService {
    pub fn new(store: IntakeStore, catalogue: Catalogue, rules: Rules) -> Self {
        Self {
            store,
            catalogue,
            rules,
            index: Arc::default(),
            delta: Arc::default(),
            rescreen_wakeup: Arc::default(),
        }
    }

    /// The request, when the caller may read it (`access::may_read_request`). A request that
    /// does not exist is "not yours" to a caller who does not see everything.
    async fn readable_request(&self, caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        let request = match self.store.get_access_request(id).await {
            Ok(request) => request,
            Err(IntakeError::NotFound { .. }) if !access::sees_everything(caller) => {
                return Err(access::not_yours_to_see(id));
            }
            Err(error) => return Err(error),
        };
        if access::may_read_request(caller, &request) {
            Ok(request)
        } else {
            Err(access::not_yours_to_see(id))
        }
    }

    /// The request, when the caller may act for its requester.
    async fn own_request(&self, caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        let request = self.readable_request(caller, id).await?;
        access::acts_for_requester(caller, &request)?;
        Ok(request)
    }

    /// The request, when the caller operates its installations as `operated` asks.
    async fn operated_request(
        &self,
        caller: &Principal,
        id: &str,
        operated: access::Operated,
    ) -> IntakeResult<AccessRequest> {
        let request = self.readable_request(caller, id).await?;
        access::operates_request(caller, &request, operated)?;
        Ok(request)
    }
}

/// The current time, UTC microseconds.
fn now() -> i64 {
    crate::store::now()
}
