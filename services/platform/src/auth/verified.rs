//! Tokens verified lately. A client sends the same token with each of its calls, and checking a
//! signature (and, through the gateway, checking it twice) was the largest single cost of a call
//! that does no work of its own, as Envoy's `jwt_authn` cache also finds. Only a token that
//! passed every check is remembered, under its exact text, and only until the sooner of its own
//! expiry (without the leeway a fresh check allows) and a minute ([`REMEMBERED_FOR_SECS`]), so that a key the
//! identity provider withdraws stops admitting its tokens within that time. The number of tokens
//! remembered is bounded; a caller with many valid tokens only makes its own calls slower.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Principal;

/// The longest a verified token is remembered, whatever its expiry.
pub(super) const REMEMBERED_FOR_SECS: i64 = 60;

/// The most tokens remembered at once.
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct VerifiedTokens {
    tokens: Mutex<HashMap<Box<str>, Remembered>>,
}

#[derive(Debug)]
struct Remembered {
    principal: Principal,
    /// Seconds since the epoch from which the token must be checked afresh.
    until: i64,
}

impl VerifiedTokens {
    /// The principal of `token` when it was verified and may still be taken on trust at `now`
    /// (seconds since the epoch).
    pub(super) fn get(&self, token: &str, now: i64) -> Option<Principal> {
        let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens
            .get(token)
            .filter(|remembered| now < remembered.until)
            .map(|remembered| remembered.principal.clone())
    }

    /// Remembers that `token`, which expires at `expires`, was verified at `now` as `principal`.
    pub(super) fn remember(&self, token: &str, principal: &Principal, expires: i64, now: i64) {
        let until = expires.min(now.saturating_add(REMEMBERED_FOR_SECS));
        if until <= now {
            return;
        }
        let mut tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tokens.len() >= CAPACITY && !tokens.contains_key(token) {
            tokens.retain(|_, remembered| now < remembered.until);
            if tokens.len() >= CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(
            token.into(),
            Remembered {
                principal: principal.clone(),
                until,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.tokens.lock().expect("not poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;
    use crate::auth::{AuthError, Authenticator, Claims, Role, mint_hs256};
    use crate::config::AuthConfig;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.into(),
            roles: BTreeSet::from([Role::Applicant]),
            org: None,
            infrastructures: BTreeSet::new(),
            country: None,
            eu: false,
        }
    }

    #[test]
    fn a_token_is_taken_on_trust_until_it_expires_or_a_minute_has_passed() {
        let verified = VerifiedTokens::default();
        verified.remember("expires-soon", &principal("a"), 1_010, 1_000);
        verified.remember("lives-long", &principal("b"), 90_000, 1_000);
        assert_eq!(verified.get("expires-soon", 1_009), Some(principal("a")));
        assert_eq!(verified.get("expires-soon", 1_010), None, "its expiry ends it");
        assert_eq!(
            verified.get("lives-long", 1_000 + REMEMBERED_FOR_SECS - 1),
            Some(principal("b"))
        );
        assert_eq!(
            verified.get("lives-long", 1_000 + REMEMBERED_FOR_SECS),
            None,
            "a minute ends it"
        );
        assert_eq!(verified.get("never-verified", 1_000), None);
    }

    #[test]
    fn an_expired_token_is_not_remembered() {
        let verified = VerifiedTokens::default();
        verified.remember("expired", &principal("a"), 999, 1_000);
        assert_eq!(verified.len(), 0);
    }

    #[test]
    fn a_full_cache_drops_what_has_lapsed_and_then_everything() {
        let verified = VerifiedTokens::default();
        for index in 0..CAPACITY {
            // Half lapse at 1_030.
            let expires = if index % 2 == 0 { 1_030 } else { 5_000 };
            verified.remember(&format!("token-{index}"), &principal("a"), expires, 1_000);
        }
        verified.remember("one-more", &principal("b"), 5_000, 1_040);
        assert_eq!(verified.len(), CAPACITY / 2 + 1);
        assert_eq!(verified.get("one-more", 1_041), Some(principal("b")));
        assert_eq!(verified.get("token-0", 1_041), None);

        for index in 0..CAPACITY {
            verified.remember(&format!("other-{index}"), &principal("c"), 5_000, 1_040);
        }
        assert!(verified.len() <= CAPACITY, "bounded: {}", verified.len());
    }

    #[tokio::test]
    async fn a_token_verified_lately_admits_only_itself() {
        let auth = Authenticator::new(&AuthConfig {
            secret: Some(SECRET.into()),
            ..AuthConfig::default()
        })
        .expect("valid config");
        let claims = Claims::new("x", &[Role::Operator], Duration::from_secs(600));
        let token = mint_hs256(SECRET, &claims).expect("signs");
        let first = auth.verify(&token).await.expect("valid");
        assert_eq!(auth.clone().verify(&token).await, Ok(first), "the same answer again");

        // The same claims with another signature, or another payload under the same signature.
        let (signed, signature) = token.rsplit_once('.').expect("three parts");
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged_signature = format!("{signed}.{flipped}{}", &signature[1..]);
        assert!(matches!(
            auth.verify(&forged_signature).await,
            Err(AuthError::Invalid(_))
        ));
        let mut admin = claims.clone();
        admin.roles = vec!["admin".into()];
        let other = mint_hs256(SECRET, &admin).expect("signs");
        let (other_payload, _) = other.rsplit_once('.').expect("three parts");
        let forged_payload = format!("{other_payload}.{signature}");
        assert!(matches!(auth.verify(&forged_payload).await, Err(AuthError::Invalid(_))));
    }
}
