//! How one service of the suite calls another: a bearer token with the `service` role and the
//! caller's trace context on every request. The token is minted with the HS256 secret and renewed
//! before it expires, or, where tokens come from an identity provider, given in configuration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::metadata::MetadataValue;

use super::{Claims, Role, mint_hs256};
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
        secret: String,
        subject: String,
        issuer: Option<String>,
        audience: Option<String>,
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
    /// else tokens minted with the HS256 secret. Neither is a configuration error naming both.
    pub fn from_config(auth: &AuthConfig, subject: &str) -> Result<Self, String> {
        let source = if let Some(token) = auth.service_token.as_ref().filter(|token| !token.is_empty()) {
            Source::Given(token.clone())
        } else if let Some(secret) = &auth.secret {
            Source::Secret {
                secret: secret.clone(),
                subject: subject.to_owned(),
                issuer: auth.issuer.clone(),
                audience: auth.audience.clone(),
                cached: Mutex::new(None),
            }
        } else {
            return Err(format!(
                "{subject} calls other services: set --auth-service-token (RTI_AUTH_SERVICE_TOKEN) or --auth-secret"
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
                secret,
                subject,
                issuer,
                audience,
                cached,
            } => {
                let now = crate::time::now_micros() / 1_000_000;
                let mut cached = cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some((token, expires)) = cached.as_ref()
                    && *expires - now > RENEW_BEFORE_SECONDS
                {
                    return Ok(token.clone());
                }
                let mut claims = Claims::new(subject.clone(), &[Role::Service], TOKEN_TTL);
                claims.iss = issuer.clone();
                claims.aud = audience.clone().map(super::Audience::One);
                let token = mint_hs256(secret, &claims)
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
    use crate::auth::Authenticator;
    use tonic::service::Interceptor;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn bearer(call: &mut ServiceCall) -> String {
        let request = call.call(tonic::Request::new(())).expect("intercepted");
        let header = request.metadata().get("authorization").expect("authorization set");
        header.to_str().expect("ascii").trim_start_matches("Bearer ").to_owned()
    }

    #[tokio::test]
    async fn minted_tokens_carry_the_service_role_and_verify() {
        let auth = AuthConfig {
            secret: Some(SECRET.to_owned()),
            ..AuthConfig::default()
        };
        let mut call = ServiceCall::from_config(&auth, "allocation").expect("credentials");
        let token = bearer(&mut call);
        assert_eq!(token, bearer(&mut call), "a fresh token is reused, not minted per call");
        let principal = Authenticator::new(&auth)
            .expect("verifier")
            .verify(&token)
            .await
            .expect("valid");
        assert_eq!(principal.subject, "allocation");
        assert!(principal.has_role(Role::Service));
    }

    #[test]
    fn a_given_token_wins_and_no_credentials_is_an_error_naming_both_options() {
        let given = AuthConfig {
            secret: Some(SECRET.to_owned()),
            service_token: Some("issued-by-the-idp".to_owned()),
            ..AuthConfig::default()
        };
        assert_eq!(
            bearer(&mut ServiceCall::from_config(&given, "allocation").expect("ok")),
            "issued-by-the-idp"
        );
        let error = ServiceCall::from_config(&AuthConfig::default(), "allocation").expect_err("nothing to sign with");
        assert!(
            error.contains("--auth-service-token") && error.contains("--auth-secret"),
            "{error}"
        );
    }
}
