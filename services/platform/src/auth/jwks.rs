//! Signing keys from a JWKS URL, cached. Keys are refetched when the cache is older than its
//! time to live, or when a token names a key id the cache does not hold (key rotation), but no
//! more often than once per [`MIN_REFETCH`], so forged key ids cannot hammer the identity provider.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::RwLock;

use super::AuthError;

const TIME_TO_LIVE: Duration = Duration::from_secs(300);
const MIN_REFETCH: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct JwksCache {
    url: url::Url,
    client: reqwest::Client,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    keys: JwkSet,
    fetched_at: Option<Instant>,
}

impl JwksCache {
    pub fn new(url: url::Url) -> Result<Self, String> {
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
            state: RwLock::new(State::default()),
        })
    }

    /// The key for a token's `kid` (or the only key, when the token names none and the set has
    /// exactly one), checked against the token's algorithm.
    pub async fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<DecodingKey, AuthError> {
        {
            let state = self.state.read().await;
            let fresh = state.fetched_at.is_some_and(|at| at.elapsed() < TIME_TO_LIVE);
            if fresh && let Some(key) = find(&state.keys, kid, algorithm)? {
                return Ok(key);
            }
        }
        let mut state = self.state.write().await;
        let may_refetch = state.fetched_at.is_none_or(|at| at.elapsed() >= MIN_REFETCH);
        if may_refetch {
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(Instant::now());
                }
                // Keep serving the keys we have while the provider is unreachable.
                Err(error) if state.fetched_at.is_none() => return Err(error),
                Err(error) => tracing::warn!(%error, "refreshing the JWKS failed; using cached keys"),
            }
        }
        find(&state.keys, kid, algorithm)?.ok_or_else(|| AuthError::UnknownKey(kid.unwrap_or_default().to_owned()))
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
