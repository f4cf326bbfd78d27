//! How one service of the suite calls another: a bearer token with the `service` role and the
//! caller's trace context on every request. The token is minted with the service secret, for the
//! service audience, and renewed before it expires, or, where tokens come from an identity
//! provider, given in configuration. The user-token secret never signs one: whoever holds it
//! cannot pass for a service.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::metadata::MetadataValue;

use super::{Claims, mint_hs256};
use crate::config::AuthConfig;
use crate::telemetry::TracePropagation;

/// A minted token lives this long, and is renewed when less than a minute of it is left.
const TOKEN_TTL: Duration = Duration::from_secs(600);
const RENEW_BEFORE_SECONDS: i64 = 60;

/// A tonic interceptor that authenticates the calling service and passes its trace on.
#[derive(Clone)]
pub struct ServiceCall {
    source: Arc<Source>,
}

enum Source {
    Secret {
        service_secret: String,
        subject: String,
        issuer: Option<String>,
        service_audience: String,
        cached: Mutex<Option<(String, i64)>>,
    },
    Given(String),
}

impl std::fmt::Debug for ServiceCall {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match *self.source {
            Source::Secret { ref subject, .. } => format!("minted for {subject}"),
            Source::Given(_) => "given".to_owned(),
        };
        formatter.debug_struct("ServiceCall").field("token", &source).finish()
    }
}

impl ServiceCall {
    /// Credentials for the service `subject`: the configured service token when there is one,
    /// else tokens minted with the service secret. Neither is a configuration error naming both.
    pub fn from_config(auth: &AuthConfig, subject: &str) -> Result<Self, String> {
        let source = if let Some(token) = auth.service_token.as_ref().filter(|token| !token.is_empty()) {
            Source::Given(token.clone())
        } else if let Some(service_secret) = &auth.service_secret {
            Source::Secret {
                service_secret: service_secret.clone(),
                subject: subject.to_owned(),
                issuer: auth.issuer.clone(),
                service_audience: auth.service_audience.clone(),
                cached: Mutex::new(None),
            }
        } else {
            return Err(format!(
                "{subject} calls other services: set --auth-service-token (RTI_AUTH_SERVICE_TOKEN) or \
                 --auth-service-secret (RTI_AUTH_SERVICE_SECRET)"
            ));
        };
        Ok(Self {
            source: Arc::new(source),
        })
    }

    fn token(&self) -> Result<String, tonic::Status> {
        match &*self.source {
            Source::Given(token) => Ok(token.clone()),
            Source::Secret {
                service_secret,
                subject,
                issuer,
                service_audience,
                cached,
            } => {
                let now = crate::time::now_micros() / 1_000_000;
                let mut cached = cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some((token, expires)) = cached.as_ref()
                    && *expires - now > RENEW_BEFORE_SECONDS
                {
                    return Ok(token.clone());
                }
                let mut claims = Claims::for_service(subject.clone(), service_audience, TOKEN_TTL);
                claims.iss = issuer.clone();
                let token = mint_hs256(service_secret, &claims)
                    .map_err(|error| tonic::Status::internal(format!("cannot sign a service token: {error}")))?;
                *cached = Some((token.clone(), claims.exp));
                Ok(token)
            }
        }
    }
}

impl tonic::service::Interceptor for ServiceCall {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = TracePropagation.call(request)?;
        let bearer = MetadataValue::try_from(format!("Bearer {}", self.token()?))
            .map_err(|_| tonic::Status::internal("the service token is not a valid header value"))?;
        request.metadata_mut().insert("authorization", bearer);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthError, Authenticator, Role};
    use tonic::service::Interceptor;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const SERVICE_SECRET: &str = "fedcba9876543210fedcba9876543210";

    fn both_secrets() -> AuthConfig {
        AuthConfig {
            secret: Some(SECRET.to_owned()),
            service_secret: Some(SERVICE_SECRET.to_owned()),
            ..AuthConfig::default()
        }
    }

    fn bearer(call: &mut ServiceCall) -> String {
        let request = call.call(tonic::Request::new(())).expect("intercepted");
        let header = request.metadata().get("authorization").expect("authorization set");
        header.to_str().expect("ascii").trim_start_matches("Bearer ").to_owned()
    }

    fn signed(secret: &str, edit: impl FnOnce(&mut Claims)) -> String {
        let mut claims = Claims::for_service("allocation", "rti-internal", Duration::from_secs(600));
        edit(&mut claims);
        mint_hs256(secret, &claims).expect("signs")
    }

    #[tokio::test]
    async fn minted_tokens_carry_the_service_role_and_audience_and_verify() {
        let auth = both_secrets();
        let mut call = ServiceCall::from_config(&auth, "allocation").expect("credentials");
        let token = bearer(&mut call);
        assert_eq!(token, bearer(&mut call), "a fresh token is reused, not minted per call");
        let principal = Authenticator::new(&auth)
            .expect("verifier")
            .verify(&token)
            .await
            .expect("valid");
        assert_eq!(principal.subject, "allocation");
        assert_eq!(principal.roles, [Role::Service].into());
        // A verifier that does not hold the service secret, such as the gateway, refuses it.
        let without = AuthConfig {
            service_secret: None,
            ..both_secrets()
        };
        let refused = Authenticator::new(&without).expect("verifier").verify(&token).await;
        assert!(matches!(refused, Err(AuthError::Invalid(_))), "{refused:?}");
    }

    #[tokio::test]
    async fn the_user_secret_cannot_mint_a_service_token_nor_a_service_token_pass_for_a_user() {
        let auth = Authenticator::new(&both_secrets()).expect("verifier");
        let refused = |token: String| {
            let auth = auth.clone();
            async move { matches!(auth.verify(&token).await, Err(AuthError::Invalid(_))) }
        };
        // A leaked user-token secret: the service role, with or without the service audience.
        assert!(
            refused(signed(SECRET, |_| {})).await,
            "service role and audience, user secret"
        );
        assert!(
            refused(signed(SECRET, |claims| claims.aud = None)).await,
            "service role, user secret"
        );
        // The service audience on a person's token signed with the user secret.
        assert!(
            refused(signed(SECRET, |claims| claims.roles = vec!["admin".into()])).await,
            "admin for the service audience, user secret"
        );
        // The service secret signs service tokens only: no other role, always the audience.
        assert!(
            refused(signed(SERVICE_SECRET, |claims| claims.roles = vec!["admin".into()])).await,
            "admin, service secret"
        );
        assert!(
            refused(signed(SERVICE_SECRET, |claims| claims.roles.push("admin".into()))).await,
            "service and admin, service secret"
        );
        assert!(
            refused(signed(SERVICE_SECRET, |claims| claims.aud = None)).await,
            "no audience, service secret"
        );
        assert!(
            refused(signed(SERVICE_SECRET, |claims| {
                claims.aud = Some(crate::auth::Audience::One("rti".into()));
            }))
            .await,
            "another audience, service secret"
        );
        // What is allowed stays allowed.
        assert!(auth.verify(&signed(SERVICE_SECRET, |_| {})).await.is_ok());
        let person = Claims::new("x", &[Role::Admin], Duration::from_secs(600));
        assert!(auth.verify(&mint_hs256(SECRET, &person).expect("signs")).await.is_ok());
    }

    #[test]
    fn the_service_secret_must_be_strong_and_apart_from_the_user_secret() {
        let same = AuthConfig {
            service_secret: Some(SECRET.to_owned()),
            ..both_secrets()
        };
        assert!(
            Authenticator::new(&same)
                .expect_err("same secret")
                .contains("must differ")
        );
        let placeholder = AuthConfig {
            service_secret: Some("REPLACE_ME-with-a-secret-of-at-least-32-bytes".to_owned()),
            ..both_secrets()
        };
        assert!(
            Authenticator::new(&placeholder)
                .expect_err("placeholder")
                .contains("RTI_AUTH_SERVICE_SECRET")
        );
        let shared_audience = AuthConfig {
            audience: Some("rti-internal".to_owned()),
            ..both_secrets()
        };
        assert!(Authenticator::new(&shared_audience).is_err());
        assert!(Authenticator::new(&both_secrets()).is_ok());
    }

    #[test]
    fn a_given_token_wins_and_no_credentials_is_an_error_naming_both_options() {
        let given = AuthConfig {
            service_token: Some("issued-by-the-idp".to_owned()),
            ..both_secrets()
        };
        assert_eq!(
            bearer(&mut ServiceCall::from_config(&given, "allocation").expect("ok")),
            "issued-by-the-idp"
        );
        // The user secret alone does not make service credentials.
        let user_secret_only = AuthConfig {
            secret: Some(SECRET.to_owned()),
            ..AuthConfig::default()
        };
        let error = ServiceCall::from_config(&user_secret_only, "allocation").expect_err("nothing to sign with");
        assert!(
            error.contains("--auth-service-token") && error.contains("--auth-service-secret"),
            "{error}"
        );
    }
}
