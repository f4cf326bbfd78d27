//! Re-screening when the sanctions list changes, and before a slot is confirmed (SEC-3): each
//! open request against the names the newest version adds or changes since the version it was
//! last screened with. The name index of that delta is built, and the names screened, on the
//! blocking pool, not on the async workers. Idempotent: a request is screened once per version,
//! checked again under the request's lock, so a run resumed after a restart, a second replica
//! or a re-import of the same file changes nothing twice.

use std::sync::Arc;

use rti_platform::auth::Principal;
use rti_platform::error::InvalidInput;
use rti_platform::time::now_micros;

use super::IntakeService;
use crate::domain::names::NameIndex;
use crate::domain::request::AccessRequest;
use crate::domain::rescreening;
use crate::domain::sanctions::SanctionsListVersion;
use crate::domain::screening;
use crate::domain::{IntakeError, IntakeResult};

/// The delta index of a (baseline, newer) pair of versions.
pub(super) type CachedDelta = ((String, String), Arc<NameIndex>);

impl IntakeService {
    /// `RescreenAccessRequest`: the request screened against the newest list's delta, when it
    /// is due; allocation asks before it confirms a slot.
    pub async fn rescreen_access_request(&self, _caller: &Principal, id: &str) -> IntakeResult<AccessRequest> {
        if id.is_empty() {
            return Err(InvalidInput::single("id", "is required").into());
        }
        match self.store.newest_sanctions_list().await? {
            Some(list) => self.rescreen(id, &list).await,
            None => self.store.get_access_request(id).await,
        }
    }

    /// Screens request `id` against what `list` adds since the version it was last screened
    /// with, when it is open and due, and records it (with the step a new hit takes).
    pub(crate) async fn rescreen(&self, id: &str, list: &SanctionsListVersion) -> IntakeResult<AccessRequest> {
        let request = self.store.get_access_request(id).await?;
        let Some(baseline_id) = rescreening::due(&request, list) else {
            return Ok(request);
        };
        if let Some(baseline) = self.store.sanctions_list(&baseline_id).await?
            && !rescreening::newer(list, &baseline)
        {
            return Ok(request);
        }
        let index = self.delta_index(&baseline_id, &list.id).await?;
        let mut facts = self.screening_parties(&request).await?;
        // Establishment blocks do not change with the list; they were decided at submission.
        facts.organisations.clear();
        let outcome = tokio::task::spawn_blocking(move || screening::screen(&facts, &index))
            .await
            .map_err(|error| IntakeError::Corrupt(format!("re-screening stopped: {error}")))?;
        let mut change = self.store.begin_change(id).await?;
        if rescreening::due(change.request(), list).as_deref() != Some(baseline_id.as_str()) {
            // Screened meanwhile (another replica, or the worker and a confirmation at once).
            return change.commit(Vec::new()).await;
        }
        let at = now_micros();
        match rescreening::apply(change.request_mut(), &outcome, list, &baseline_id, at) {
            Some(step) => {
                tracing::warn!(request = id, list = %list.id, verdict = ?outcome.verdict, "re-screening holds a request");
                change.commit(vec![step]).await
            }
            None => change.commit_fields(None, at).await,
        }
    }

    /// The name index of the names `list` adds or changes since `baseline`, built once per pair.
    async fn delta_index(&self, baseline: &str, list: &str) -> IntakeResult<Arc<NameIndex>> {
        let key = (baseline.to_owned(), list.to_owned());
        let mut cached = self.delta.lock().await;
        if let Some((cached_key, index)) = cached.as_ref()
            && *cached_key == key
        {
            return Ok(index.clone());
        }
        let names = self.store.sanctions_names_added(baseline, list).await?;
        let index = tokio::task::spawn_blocking(move || Arc::new(NameIndex::new(names)))
            .await
            .map_err(|error| IntakeError::Corrupt(format!("building the delta index stopped: {error}")))?;
        *cached = Some((key, index.clone()));
        Ok(index)
    }

    /// One pass of the re-screening worker: while an imported version's run is unfinished,
    /// every open request is screened against the newest version, and the runs are marked
    /// finished. Returns how many requests were screened again.
    pub async fn run_pending_rescreenings(&self) -> IntakeResult<usize> {
        let runs = self.store.unfinished_rescreening_runs().await?;
        if runs.is_empty() {
            return Ok(0);
        }
        let Some(list) = self.store.newest_sanctions_list().await? else {
            return Ok(0);
        };
        let mut screened = 0;
        for id in self.store.open_request_ids().await? {
            let before = self.store.get_access_request(&id).await?;
            let after = self.rescreen(&id, &list).await?;
            screened += usize::from(after.screening != before.screening);
        }
        self.store.finish_rescreening_runs(&runs, now_micros()).await?;
        tracing::info!(list = %list.id, screened, "re-screening against the newest sanctions list finished");
        Ok(screened)
    }

    /// Wakes the re-screening worker (after an import).
    pub(super) fn rescreen_soon(&self) {
        self.rescreen_wakeup.notify_one();
    }

    /// What the worker waits on between passes.
    pub fn rescreen_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.rescreen_wakeup.clone()
    }
}
