//! Rate limits per principal (DESIGN §3, issue 14): every call that passed authentication takes
//! a token from its caller's bucket: the token subject's for an authenticated call, the peer
//! address's for an anonymous one, so a shared NAT address never throttles a signed-in user and
//! one user's scripts never throttle another. The bucket's rate and burst come from the caller's
//! role ([`Quotas`]: anonymous reads lowest, admins highest). An empty bucket refuses the call
//! with `RESOURCE_EXHAUSTED`, a `retry-after` (seconds) in its metadata and a `google.rpc.RetryInfo`
//! detail; over REST the shared mapping makes that HTTP 429 with `Retry-After`. The buckets live
//! in a few shards of bounded maps: a full bucket is indistinguishable from a new one, so the
//! full ones go first when a shard is at capacity, then the longest idle.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rti_platform::auth::Principal;
use tonic::metadata::MetadataMap;
use tonic_types::{ErrorDetails, StatusExt};

use super::limits::{Caller, Quota, Quotas};

/// How many independently locked maps the buckets are spread over.
const SHARDS: usize = 16;

/// Who a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Subject(String),
    Peer(IpAddr),
    /// An anonymous call whose peer is unknown (a front end that lost it): all share one bucket.
    UnknownPeer,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(quota: Quota, now: Instant) -> Self {
        Self {
            tokens: quota.burst(),
            updated: now,
        }
    }

    /// Takes one token, or says how long until there is one.
    fn take(&mut self, quota: Quota, now: Instant) -> Result<(), Duration> {
        self.refill(quota, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / quota.per_second()))
        }
    }

    fn refill(&mut self, quota: Quota, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * quota.per_second()).min(quota.burst());
        self.updated = now;
    }

    /// Whether the bucket has refilled by `now`, so forgetting it loses nothing.
    fn is_full_at(&self, quota: Quota, now: Instant) -> bool {
        let mut later = *self;
        later.refill(quota, now);
        later.tokens >= quota.burst()
    }
}

/// The buckets of every caller; cheap to share behind an `Arc`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    quotas: Quotas,
    shards: Vec<Mutex<HashMap<Key, Bucket>>>,
    keys_per_shard: usize,
    hasher: RandomState,
}

impl RateLimiter {
    /// Buckets for at most about `max_keys` callers at once.
    pub(crate) fn new(quotas: Quotas, max_keys: usize) -> Self {
        Self {
            quotas,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            keys_per_shard: max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Takes a token for a call of `principal` (`None`: anonymous, from `peer`); refuses the call
    /// with `RESOURCE_EXHAUSTED` and a retry hint when the caller's bucket is empty.
    pub(crate) fn admit(&self, principal: Option<&Principal>, peer: Option<IpAddr>) -> Result<(), tonic::Status> {
        let (caller, quota) = self.quotas.of_principal(principal);
        let Some(quota) = quota else {
            return Ok(());
        };
        let key = match (principal, peer) {
            (Some(principal), _) => Key::Subject(principal.subject.clone()),
            (None, Some(peer)) => Key::Peer(peer),
            (None, None) => Key::UnknownPeer,
        };
        self.take(key, quota, Instant::now())
            .map_err(|wait| refusal(caller, quota, wait))
    }

    fn take(&self, key: Key, quota: Quota, now: Instant) -> Result<(), Duration> {
        let hash = self.hasher.hash_one(&key);
        let shard = &self.shards[usize::try_from(hash % SHARDS as u64).unwrap_or_default()];
        // A panic elsewhere while holding the lock leaves the buckets usable.
        let mut buckets = shard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.keys_per_shard {
            self.evict(&mut buckets, now);
        }
        buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(quota, now))
            .take(quota, now)
    }

    /// Forgets the buckets that have refilled; if that is not enough, the least recently used
    /// quarter, so a flood of new callers costs one sweep per quarter of the shard.
    fn evict(&self, buckets: &mut HashMap<Key, Bucket>, now: Instant) {
        // The lowest quota refills slowest: a bucket full under it is full under any.
        let slowest = self.quotas.slowest();
        buckets.retain(|_, bucket| slowest.is_none_or(|quota| !bucket.is_full_at(quota, now)));
        if buckets.len() < self.keys_per_shard {
            return;
        }
        let mut ages: Vec<Instant> = buckets.values().map(|bucket| bucket.updated).collect();
        let evicted = (ages.len() / 4).max(1);
        let (_, newest_evicted, _) = ages.select_nth_unstable(evicted - 1);
        let newest_evicted = *newest_evicted;
        buckets.retain(|_, bucket| bucket.updated > newest_evicted);
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len())
            .sum()
    }
}

/// `RESOURCE_EXHAUSTED` with the wait in whole seconds (rounded up, at least 1) in `retry-after`
/// and exactly in a `google.rpc.RetryInfo`.
fn refusal(caller: Caller, quota: Quota, wait: Duration) -> tonic::Status {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut metadata = MetadataMap::new();
    metadata.insert("retry-after", seconds.into());
    tonic::Status::with_error_details_and_metadata(
        tonic::Code::ResourceExhausted,
        format!("rate limit of {quota} for {caller} calls exceeded; retry in {seconds} s"),
        ErrorDetails::with_retry_info(Some(wait)),
        metadata,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rti_platform::auth::Role;
    use rti_platform::error::ErrorCode;

    use super::*;

    fn principal(subject: &str, roles: &[Role]) -> Principal {
        Principal {
            subject: subject.into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            org: None,
            infrastructures: BTreeSet::new(),
            country: None,
            eu: false,
        }
    }

    fn limiter(settings: &[&str]) -> RateLimiter {
        let settings: Vec<_> = settings.iter().map(|text| text.parse().expect("a setting")).collect();
        RateLimiter::new(Quotas::from_settings(&settings), 1_000)
    }

    fn quota(text: &str) -> Quota {
        text.parse().expect("a quota")
    }

    fn peer(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn a_caller_gets_its_burst_then_is_refused_with_a_retry_hint() {
        let limiter = limiter(&["applicant=1/min:3"]);
        let alice = principal("alice", &[Role::Applicant]);
        for _ in 0..3 {
            assert!(limiter.admit(Some(&alice), peer(1)).is_ok());
        }
        let refused = limiter.admit(Some(&alice), peer(1)).expect_err("the burst is spent");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("applicant"), "{}", refused.message());
        let retry_after: u64 = refused
            .metadata()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .expect("retry-after in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let delay = refused
            .get_details_retry_info()
            .and_then(|info| info.retry_delay)
            .expect("a RetryInfo detail");
        assert!(
            delay > Duration::from_secs(50) && delay <= Duration::from_secs(60),
            "{delay:?}"
        );
    }

    #[test]
    fn over_rest_a_refusal_is_429_with_retry_after() {
        let limiter = limiter(&["anonymous=1/h:1"]);
        assert!(limiter.admit(None, peer(1)).is_ok());
        let refused = limiter.admit(None, peer(1)).expect_err("spent");
        assert_eq!(
            ErrorCode::from_grpc(refused.code()).http_status(),
            http::StatusCode::TOO_MANY_REQUESTS
        );
        let response = refused.into_http::<axum::body::Body>();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .expect("Retry-After among the headers");
        assert_eq!(retry_after, "3600");
    }

    #[test]
    fn each_subject_and_each_anonymous_peer_has_its_own_bucket() {
        let limiter = limiter(&["applicant=1/h:1", "anonymous=1/h:1"]);
        let alice = principal("alice", &[Role::Applicant]);
        let bob = principal("bob", &[Role::Applicant]);
        assert!(limiter.admit(Some(&alice), peer(1)).is_ok());
        assert!(
            limiter.admit(Some(&alice), peer(2)).is_err(),
            "keyed by subject, not address"
        );
        assert!(limiter.admit(Some(&bob), peer(1)).is_ok());
        assert!(
            limiter.admit(None, peer(1)).is_ok(),
            "anonymous calls have buckets of their own"
        );
        assert!(limiter.admit(None, peer(1)).is_err());
        assert!(limiter.admit(None, peer(2)).is_ok());
    }

    #[test]
    fn the_quota_is_the_highest_of_the_callers_roles() {
        let limiter = limiter(&["applicant=1/h:1", "admin=1/h:5"]);
        let both = principal("root", &[Role::Applicant, Role::Admin]);
        for call in 0..5 {
            assert!(limiter.admit(Some(&both), None).is_ok(), "call {call}");
        }
        assert!(limiter.admit(Some(&both), None).is_err());
    }

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let quota = quota("2/s:2");
        let limiter = RateLimiter::new(Quotas::default(), 10);
        let start = Instant::now();
        let key = || Key::Subject("s".into());
        assert!(limiter.take(key(), quota, start).is_ok());
        assert!(limiter.take(key(), quota, start).is_ok());
        let wait = limiter.take(key(), quota, start).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.take(key(), quota, start + Duration::from_millis(499)).is_err());
        assert!(limiter.take(key(), quota, start + Duration::from_millis(1_000)).is_ok());
    }

    #[test]
    fn off_admits_everything() {
        let limiter = limiter(&["off"]);
        for _ in 0..1_000 {
            assert!(limiter.admit(None, peer(1)).is_ok());
        }
    }

    #[test]
    fn memory_stays_bounded_however_many_callers_come() {
        let settings = vec!["anonymous=1/h:1".parse().expect("a setting")];
        let limiter = RateLimiter::new(Quotas::from_settings(&settings), 64);
        for index in 0..10_000_u32 {
            let address = IpAddr::from(index.to_be_bytes());
            assert!(limiter.admit(None, Some(address)).is_ok());
        }
        assert!(limiter.keys() <= 64, "{} buckets kept", limiter.keys());
    }

    #[test]
    fn refilled_buckets_are_forgotten_before_busy_ones() {
        let quota = quota("1/s:1");
        let settings = vec!["anonymous=1/s:1".parse().expect("a setting")];
        let limiter = RateLimiter::new(Quotas::from_settings(&settings), 2 * SHARDS);
        let start = Instant::now();
        let mut buckets = HashMap::new();
        let mut busy = Bucket::full(quota, start);
        assert!(busy.take(quota, start).is_ok());
        buckets.insert(Key::Subject("idle".into()), Bucket::full(quota, start));
        let mut busy_later = busy;
        busy_later.updated = start + Duration::from_millis(500);
        buckets.insert(Key::Subject("busy".into()), busy_later);
        limiter.evict(&mut buckets, start + Duration::from_millis(600));
        assert!(
            buckets.contains_key(&Key::Subject("busy".into())),
            "an empty bucket is kept"
        );
        assert!(!buckets.contains_key(&Key::Subject("idle".into())), "a full one goes");
    }
}
