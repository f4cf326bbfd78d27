//! Signing keys from a JWKS URL, cached. Keys are refetched when the cache is older than its
//! time to live, or when a token names a key id the cache does not hold (key rotation), but no
//! more often than once per refetch interval, so forged key ids cannot hammer the identity
//! provider. The fetch runs outside the cache's lock, one at a time: verifications with a known
//! key never wait for it, and concurrent ones that need it share its result.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::AuthError;

const TIME_TO_LIVE: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct JwksCache {
    url: url::Url,
    client: reqwest::Client,
    refetch_interval: Duration,
    /// Held only to read or swap the keys, never across a fetch.
    state: RwLock<State>,
    /// Held across a fetch: one fetch in flight.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default, Clone)]
struct State {
    keys: Arc<JwkSet>,
    /// When the keys were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a fetch last started, whatever came of it: what the refetch interval counts from.
    attempted_at: Option<Instant>,
}

impl State {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < TIME_TO_LIVE)
    }

    fn may_refetch(&self, interval: Duration) -> bool {
        self.attempted_at.is_none_or(|at| at.elapsed() >= interval)
    }
}

impl JwksCache {
    /// A cache of the keys at `url` that refetches for an unknown key id at most once per
    /// `refetch_interval`.
    pub fn new(url: url::Url, refetch_interval: Duration) -> Result<Self, String> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!(
                "RTI_AUTH_JWKS_URL (--auth-jwks-url) must be an http(s) URL, not {url}"
            ));
        }
        // reqwest is built without a bundled TLS provider; use ring, as the rest of the suite does.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|error| format!("cannot build the JWKS client: {error}"))?;
        Ok(Self {
            url,
            client,
            refetch_interval,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key for a token's `kid` (or the only key, when the token names none and the set has
    /// exactly one), checked against the token's algorithm.
    pub async fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<DecodingKey, AuthError> {
        let seen = self.snapshot();
        let known = find(&seen.keys, kid, algorithm)?;
        match known {
            Some(key) if seen.fresh() => return Ok(key),
            // Stale but known: refresh unless a fetch is already running, in which case the key
            // we hold serves this call.
            Some(key) => {
                let Ok(fetching) = self.fetching.try_lock() else {
                    return Ok(key);
                };
                self.refresh_under(&fetching, &seen).await;
            }
            None if seen.fetched_at.is_some() && !seen.may_refetch(self.refetch_interval) => {}
            None => {
                let fetching = self.fetching.lock().await;
                self.refresh_under(&fetching, &seen).await;
            }
        }
        let now = self.snapshot();
        if now.fetched_at.is_none() {
            return Err(AuthError::KeysUnavailable(format!(
                "no key set could be fetched from {}",
                self.url
            )));
        }
        find(&now.keys, kid, algorithm)?.ok_or_else(|| AuthError::UnknownKey(kid.unwrap_or_default().to_owned()))
    }

    fn snapshot(&self) -> State {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Fetches the set unless, while this caller waited for `_fetching`, another fetch started
    /// after `seen` was taken (its result serves this caller too) or the interval has not passed.
    async fn refresh_under(&self, _fetching: &tokio::sync::MutexGuard<'_, ()>, seen: &State) {
        let current = self.snapshot();
        if current.attempted_at != seen.attempted_at || !current.may_refetch(self.refetch_interval) {
            return;
        }
        self.update(|state| state.attempted_at = Some(Instant::now()));
        match self.fetch().await {
            Ok(keys) => self.update(|state| {
                state.keys = Arc::new(keys);
                state.fetched_at = Some(Instant::now());
            }),
            // Keep serving the keys we have while the provider is unreachable.
            Err(error) => tracing::warn!(%error, "fetching the JWKS failed"),
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| AuthError::KeysUnavailable(error.to_string()))?;
        response
            .json::<JwkSet>()
            .await
            .map_err(|error| AuthError::KeysUnavailable(error.to_string()))
    }
}

fn find(keys: &JwkSet, kid: Option<&str>, algorithm: Algorithm) -> Result<Option<DecodingKey>, AuthError> {
    let jwk = match kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    };
    let Some(jwk) = jwk else { return Ok(None) };
    if let Some(key_algorithm) = jwk.common.key_algorithm
        && key_algorithm.to_string() != format!("{algorithm:?}")
    {
        return Err(AuthError::Invalid(format!(
            "key {kid:?} is for {key_algorithm}, not {algorithm:?}"
        )));
    }
    DecodingKey::from_jwk(jwk)
        .map(Some)
        .map_err(|error| AuthError::Invalid(error.to_string()))
}
