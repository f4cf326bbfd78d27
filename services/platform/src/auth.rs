//! Authentication: bearer JWTs verified with an HS256 secret (development, single-tenant) or with
//! RS256/ES256 keys from a JWKS URL (production), and the [`Principal`] they carry (DESIGN §4).
//! The principal is only ever taken from a verified token, never from an unsigned header.

mod jwks;
mod secret;
mod service;
mod verified;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;
pub use jwks::JwksCache;
pub use secret::{MIN_SECRET_BYTES, check_named_secret, check_secret};
pub use service::ServiceCall;

/// The roles of DESIGN §4, plus `service` for calls between the suite's own services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Applicant,
    Operator,
    Reviewer,
    Coordinator,
    Funder,
    Admin,
    Service,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Applicant,
        Role::Operator,
        Role::Reviewer,
        Role::Coordinator,
        Role::Funder,
        Role::Admin,
        Role::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Operator => "operator",
            Role::Reviewer => "reviewer",
            Role::Coordinator => "coordinator",
            Role::Funder => "funder",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// The claims of an RTI Access token. Scopes: `org` for applicants, `infrastructures` for
/// operators, `country` or `eu` for funders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Role names; names this version does not know are ignored, not rejected.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infrastructures: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eu: bool,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Not valid before (seconds since the epoch), when the issuer sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// A token's `aud`: one audience or several (RFC 7519 §4.1.3 allows both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is this one or among these.
    pub fn names(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

impl Claims {
    /// Claims for `subject` with `roles`, valid from now for `ttl`.
    pub fn new(subject: impl Into<String>, roles: &[Role], ttl: Duration) -> Self {
        let now = crate::time::now_micros() / 1_000_000;
        Self {
            sub: subject.into(),
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
            org: None,
            infrastructures: Vec::new(),
            country: None,
            eu: false,
            iat: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            iss: None,
            aud: None,
            nbf: None,
        }
    }

    /// Claims of a service-to-service token: the `service` role alone, for `audience`.
    pub fn for_service(subject: impl Into<String>, audience: &str, ttl: Duration) -> Self {
        let mut claims = Self::new(subject, &[Role::Service], ttl);
        claims.aud = Some(Audience::One(audience.to_owned()));
        claims
    }
}

/// Who is calling, as a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: BTreeSet<Role>,
    pub org: Option<String>,
    pub infrastructures: BTreeSet<String>,
    pub country: Option<String>,
    pub eu: bool,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// An applicant acting for this organisation (its token's `org` claim).
    pub fn is_applicant_of(&self, organisation_id: &str) -> bool {
        self.has_role(Role::Applicant) && self.org.as_deref() == Some(organisation_id)
    }

    /// An admin, or an operator whose token lists this infrastructure.
    pub fn operates(&self, infrastructure_id: &str) -> bool {
        self.is_admin() || (self.has_role(Role::Operator) && self.infrastructures.contains(infrastructure_id))
    }

    fn from_claims(claims: Claims) -> Self {
        Self {
            subject: claims.sub,
            roles: claims.roles.iter().filter_map(|name| Role::parse(name)).collect(),
            org: claims.org,
            infrastructures: claims.infrastructures.into_iter().collect(),
            country: claims.country,
            eu: claims.eu,
        }
    }
}

/// Why a token was not accepted. Every variant becomes `UNAUTHENTICATED`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the authorization header must be \"Bearer <token>\"")]
    MalformedHeader,
    #[error("the bearer token is expired")]
    Expired,
    #[error("the bearer token is not valid: {0}")]
    Invalid(String),
    #[error("the bearer token is signed with {0:?}, which this deployment does not accept")]
    AlgorithmNotAccepted(Algorithm),
    #[error("no signing key with id {0:?} is published at the JWKS URL")]
    UnknownKey(String),
    #[error("the signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl From<AuthError> for tonic::Status {
    fn from(error: AuthError) -> Self {
        tonic::Status::unauthenticated(error.to_string())
    }
}

/// Verifies bearer tokens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    secret: Option<DecodingKey>,
    service_secret: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
    service_audience: String,
    verified: verified::VerifiedTokens,
}

/// Which key a token's signature was checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    /// The user-token secret (`RTI_AUTH_SECRET`): people's tokens in development.
    UserSecret,
    /// The service secret (`RTI_AUTH_SERVICE_SECRET`): the services' tokens to each other.
    ServiceSecret,
    /// A key of the identity provider's JWKS: people's tokens, and service tokens it issues.
    IdentityProvider,
}

/// The longest a token may live, from `iat` to `exp`: a stolen token is worth a day at most.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl Authenticator {
    /// Checks the configuration: a strong user secret ([`check_secret`]) or a JWKS URL, or both;
    /// a strong service secret of its own, when set, and a service audience apart from the users'.
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        if config.secret.is_none() && config.jwks_url.is_none() {
            return Err(
                "no way to verify tokens: set RTI_AUTH_SECRET (--auth-secret) or RTI_AUTH_JWKS_URL (--auth-jwks-url)"
                    .into(),
            );
        }
        if let Some(secret) = &config.secret {
            check_secret(secret)?;
        }
        if let Some(service_secret) = &config.service_secret {
            check_named_secret(SERVICE_SECRET_OPTION, service_secret)?;
            if config.secret.as_ref() == Some(service_secret) {
                return Err(format!(
                    "{SERVICE_SECRET_OPTION} must differ from RTI_AUTH_SECRET: whoever holds the user-token secret \
                     must not be able to mint service tokens"
                ));
            }
        }
        if config.service_audience.is_empty() || config.audience.as_ref() == Some(&config.service_audience) {
            return Err(format!(
                "RTI_AUTH_SERVICE_AUDIENCE (--auth-service-audience) {:?} must be set and differ from the users' audience",
                config.service_audience
            ));
        }
        let jwks = match &config.jwks_url {
            Some(url) => Some(JwksCache::new(url.clone(), config.jwks_refetch_interval)?),
            None => None,
        };
        let key = |secret: &String| DecodingKey::from_secret(secret.as_bytes());
        Ok(Self {
            inner: Arc::new(Inner {
                secret: config.secret.as_ref().map(key),
                service_secret: config.service_secret.as_ref().map(key),
                jwks,
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                service_audience: config.service_audience.clone(),
                verified: verified::VerifiedTokens::default(),
            }),
        })
    }

    /// The principal of an `authorization` header value, `None` when there is no header.
    pub async fn authenticate(
        &self,
        authorization: Option<&http::HeaderValue>,
    ) -> Result<Option<Principal>, AuthError> {
        let Some(value) = authorization else { return Ok(None) };
        let token = value
            .to_str()
            .ok()
            .and_then(|text| text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::MalformedHeader)?;
        self.verify(token).await.map(Some)
    }

    /// Verifies a token's signature, expiry, lifetime and (when configured) issuer and audience,
    /// and that the `service` role comes only with a service token: one for the service audience,
    /// signed with the service secret or by the identity provider. A token that passed lately is
    /// taken on trust for up to a minute, never past its expiry (`verified`).
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = crate::time::now_micros() / 1_000_000;
        if let Some(principal) = self.inner.verified.get(token, now) {
            return Ok(principal);
        }
        let (principal, expires) = self.verify_afresh(token).await?;
        self.inner.verified.remember(token, &principal, expires, now);
        Ok(principal)
    }

    /// [`verify`](Self::verify) without the tokens verified lately: the principal and the
    /// token's expiry.
    async fn verify_afresh(&self, token: &str) -> Result<(Principal, i64), AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| AuthError::Invalid(error.to_string()))?;
        let (key, signer) = match header.alg {
            Algorithm::HS256 => {
                if let Some(service_key) = &self.inner.service_secret {
                    match self.decode(token, service_key, header.alg, Signer::ServiceSecret) {
                        Err(error) if *error.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature => {}
                        decoded => return self.admit(decoded.map_err(into_auth_error)?, Signer::ServiceSecret),
                    }
                }
                // With an identity provider, people's tokens come from it alone.
                if self.inner.jwks.is_some() {
                    return Err(AuthError::AlgorithmNotAccepted(header.alg));
                }
                let key = self
                    .inner
                    .secret
                    .clone()
                    .ok_or(AuthError::AlgorithmNotAccepted(header.alg))?;
                (key, Signer::UserSecret)
            }
            Algorithm::RS256 | Algorithm::ES256 => match &self.inner.jwks {
                Some(jwks) => (
                    jwks.key(header.kid.as_deref(), header.alg).await?,
                    Signer::IdentityProvider,
                ),
                None => return Err(AuthError::AlgorithmNotAccepted(header.alg)),
            },
            other => return Err(AuthError::AlgorithmNotAccepted(other)),
        };
        let claims = self.decode(token, &key, header.alg, signer).map_err(into_auth_error)?;
        self.admit(claims, signer)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        algorithm: Algorithm,
        signer: Signer,
    ) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(algorithm);
        validation.leeway = 30;
        validation.validate_nbf = true;
        // A configured issuer or audience is required, not only compared when present.
        let mut required = vec!["exp", "sub"];
        required.extend(self.inner.issuer.as_ref().map(|_| "iss"));
        match &self.inner.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        let service_audience = self.inner.service_audience.as_str();
        match (signer, &self.inner.audience) {
            (Signer::ServiceSecret, _) => {
                required.push("aud");
                validation.set_audience(&[service_audience]);
            }
            (_, Some(audience)) => {
                required.push("aud");
                validation.set_audience(&[audience.as_str(), service_audience]);
            }
            (_, None) => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        jsonwebtoken::decode::<Claims>(token, key, &validation).map(|data| data.claims)
    }

    /// The principal of verified claims and their expiry: a day's lifetime at most, and the
    /// `service` role and audience together or not at all.
    fn admit(&self, claims: Claims, signer: Signer) -> Result<(Principal, i64), AuthError> {
        if claims.exp.saturating_sub(claims.iat) > MAX_TOKEN_LIFETIME.as_secs() as i64 {
            return Err(AuthError::Invalid(format!(
                "it lives longer than the {} hours a token may",
                MAX_TOKEN_LIFETIME.as_secs() / 3600
            )));
        }
        let for_services = claims
            .aud
            .as_ref()
            .is_some_and(|audience| audience.names(&self.inner.service_audience));
        let expires = claims.exp;
        let principal = Principal::from_claims(claims);
        let service_only = principal.roles == BTreeSet::from([Role::Service]);
        let claims_service = principal.has_role(Role::Service);
        let admitted = match signer {
            Signer::ServiceSecret => service_only,
            Signer::UserSecret => !for_services && !claims_service,
            Signer::IdentityProvider => for_services == claims_service && (!for_services || service_only),
        };
        if !admitted {
            return Err(AuthError::Invalid(format!(
                "the service role comes only with a token for the audience {:?} that carries no other role",
                self.inner.service_audience
            )));
        }
        Ok((principal, expires))
    }
}

const SERVICE_SECRET_OPTION: &str = "RTI_AUTH_SERVICE_SECRET (--auth-service-secret)";

fn into_auth_error(error: jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
        _ => AuthError::Invalid(error.to_string()),
    }
}

/// Signs `claims` with an HS256 secret: development tokens (`rti token`) and tests.
pub fn mint_hs256(secret: &str, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn authenticator() -> Authenticator {
        Authenticator::new(&AuthConfig {
            secret: Some(SECRET.into()),
            ..AuthConfig::default()
        })
        .expect("valid config")
    }

    fn bearer(token: &str) -> http::HeaderValue {
        http::HeaderValue::from_str(&format!("Bearer {token}")).expect("ascii")
    }

    #[tokio::test]
    async fn accepts_a_signed_token_and_reads_its_scopes() {
        let mut claims = Claims::new("op-1", &[Role::Operator], Duration::from_secs(60));
        claims.infrastructures = vec!["infra-a".into()];
        let token = mint_hs256(SECRET, &claims).expect("signs");
        let principal = authenticator()
            .authenticate(Some(&bearer(&token)))
            .await
            .expect("valid")
            .expect("present");
        assert_eq!(principal.subject, "op-1");
        assert!(principal.operates("infra-a"));
        assert!(!principal.operates("infra-b"));
    }

    #[tokio::test]
    async fn no_header_is_anonymous_not_an_error() {
        assert_eq!(authenticator().authenticate(None).await, Ok(None));
    }

    #[tokio::test]
    async fn rejects_tokens_signed_with_another_secret() {
        let claims = Claims::new("x", &[Role::Admin], Duration::from_secs(60));
        let token = mint_hs256("another-secret-of-thirty-two-bytes!!", &claims).expect("signs");
        assert!(matches!(
            authenticator().verify(&token).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn rejects_expired_tokens() {
        let mut claims = Claims::new("x", &[Role::Admin], Duration::from_secs(60));
        claims.exp = claims.iat - 3600;
        let token = mint_hs256(SECRET, &claims).expect("signs");
        assert_eq!(authenticator().verify(&token).await, Err(AuthError::Expired));
    }

    #[tokio::test]
    async fn rejects_malformed_headers_and_unsigned_tokens() {
        let auth = authenticator();
        let basic = http::HeaderValue::from_static("Basic dXNlcjpwYXNz");
        assert_eq!(auth.authenticate(Some(&basic)).await, Err(AuthError::MalformedHeader));
        // {"alg":"none"} with an admin claim and no signature.
        let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZXMiOlsiYWRtaW4iXSwiaWF0IjowLCJleHAiOjk5OTk5OTk5OTl9.";
        assert!(auth.verify(unsigned).await.is_err());
    }

    #[tokio::test]
    async fn ignores_unknown_role_names() {
        let mut claims = Claims::new("x", &[Role::Funder], Duration::from_secs(60));
        claims.roles.push("superuser".into());
        let token = mint_hs256(SECRET, &claims).expect("signs");
        let principal = authenticator().verify(&token).await.expect("valid");
        assert_eq!(principal.roles, BTreeSet::from([Role::Funder]));
    }

    fn configured(issuer: Option<&str>, audience: Option<&str>, jwks: bool) -> Authenticator {
        Authenticator::new(&AuthConfig {
            secret: Some(SECRET.into()),
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
            jwks_url: jwks.then(|| "http://127.0.0.1:1/jwks.json".parse().expect("url")),
            ..AuthConfig::default()
        })
        .expect("valid config")
    }

    fn signed(edit: impl FnOnce(&mut Claims)) -> String {
        let mut claims = Claims::new("x", &[Role::Admin], Duration::from_secs(600));
        edit(&mut claims);
        mint_hs256(SECRET, &claims).expect("signs")
    }

    #[tokio::test]
    async fn a_configured_issuer_and_audience_are_required_and_an_audience_may_be_a_list() {
        let auth = configured(Some("https://id.example"), Some("rti"), false);
        let both = |claims: &mut Claims| {
            claims.iss = Some("https://id.example".into());
            claims.aud = Some(Audience::Many(vec!["other".into(), "rti".into()]));
        };
        assert!(auth.verify(&signed(both)).await.is_ok(), "aud as a list naming us");
        let one = signed(|claims| {
            claims.iss = Some("https://id.example".into());
            claims.aud = Some(Audience::One("rti".into()));
        });
        assert!(auth.verify(&one).await.is_ok(), "aud as a string");
        let no_issuer = signed(|claims| claims.aud = Some(Audience::One("rti".into())));
        assert!(matches!(auth.verify(&no_issuer).await, Err(AuthError::Invalid(_))));
        let no_audience = signed(|claims| claims.iss = Some("https://id.example".into()));
        assert!(matches!(auth.verify(&no_audience).await, Err(AuthError::Invalid(_))));
        let elsewhere = signed(|claims| {
            claims.iss = Some("https://id.example".into());
            claims.aud = Some(Audience::Many(vec!["other".into()]));
        });
        assert!(matches!(auth.verify(&elsewhere).await, Err(AuthError::Invalid(_))));
        // Unconfigured, neither is needed.
        assert!(authenticator().verify(&signed(|_| {})).await.is_ok());
    }

    #[tokio::test]
    async fn a_token_is_refused_before_its_nbf_and_when_it_lives_longer_than_a_day() {
        let auth = authenticator();
        let later = signed(|claims| claims.nbf = Some(claims.iat + 3600));
        assert!(matches!(auth.verify(&later).await, Err(AuthError::Invalid(_))));
        let started = signed(|claims| claims.nbf = Some(claims.iat - 60));
        assert!(auth.verify(&started).await.is_ok());
        let long = signed(|claims| claims.exp = claims.iat + 25 * 3600);
        assert!(matches!(auth.verify(&long).await, Err(AuthError::Invalid(reason)) if reason.contains("24 hours")));
        let day = signed(|claims| claims.exp = claims.iat + 24 * 3600);
        assert!(auth.verify(&day).await.is_ok());
    }

    #[tokio::test]
    async fn with_a_jwks_the_user_secret_signs_no_token() {
        let auth = configured(None, None, true);
        assert_eq!(
            auth.verify(&signed(|_| {})).await,
            Err(AuthError::AlgorithmNotAccepted(Algorithm::HS256)),
            "an admin token signed with the user secret"
        );
        // Without a JWKS the secret signs people's tokens, as in development.
        assert!(authenticator().verify(&signed(|_| {})).await.is_ok());
    }

    #[test]
    fn configuration_needs_a_long_secret_or_a_jwks_url() {
        assert!(Authenticator::new(&AuthConfig::default()).is_err());
        let short = AuthConfig {
            secret: Some("short".into()),
            ..AuthConfig::default()
        };
        assert!(
            Authenticator::new(&short)
                .expect_err("too short")
                .contains("at least 32")
        );
    }
}
