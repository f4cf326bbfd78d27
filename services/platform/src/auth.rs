//! Authentication: bearer JWTs verified with an HS256 secret (development, single-tenant) or with
//! RS256/ES256 keys from a JWKS URL (production), and the [`Principal`] they carry (DESIGN §4).
//! The principal is only ever taken from a verified token, never from an unsigned header.

mod jwks;
mod service;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;
pub use jwks::JwksCache;
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
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
}

/// The longest a token may live, from `iat` to `exp`: a stolen token is worth a day at most.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires.
pub const MIN_SECRET_BYTES: usize = 32;

/// The least a secret's characters must carry, estimated from how often each occurs: 128 bits.
const MIN_SECRET_BITS: f64 = 128.0;

/// Words of the placeholders that example configurations ship with (`REPLACE_ME-…`).
const PLACEHOLDER_WORDS: [&str; 6] = [
    "replace_me",
    "replace-me",
    "replaceme",
    "changeme",
    "change_me",
    "placeholder",
];

/// Refuses an HS256 secret anyone could guess: shorter than 32 bytes (RFC 7518 §3.2), a
/// placeholder left from an example file, or too little variety to hold 128 bits (a repeated
/// character or word). Whoever holds the secret can mint an admin's token, so a deployment
/// applied as shipped must not start.
pub fn check_secret(secret: &str) -> Result<(), String> {
    const NAME: &str = "RTI_AUTH_SECRET (--auth-secret)";
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "{NAME} is {} bytes; it must be at least {MIN_SECRET_BYTES}",
            secret.len()
        ));
    }
    let lowercase = secret.to_ascii_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|word| lowercase.contains(*word)) {
        return Err(format!(
            "{NAME} is a placeholder ({word:?}); set a random one, e.g. `openssl rand -hex 32`"
        ));
    }
    let mut counts = std::collections::HashMap::new();
    for byte in secret.bytes() {
        *counts.entry(byte).or_insert(0_u32) += 1;
    }
    let length = secret.len() as f64;
    let bits: f64 = counts
        .values()
        .map(|&count| {
            let share = f64::from(count) / length;
            -share * share.log2() * length
        })
        .sum();
    if bits < MIN_SECRET_BITS {
        return Err(format!(
            "{NAME} is too predictable (about {bits:.0} bits in its characters, at least {MIN_SECRET_BITS:.0} \
             needed); set a random one, e.g. `openssl rand -hex 32`"
        ));
    }
    Ok(())
}

impl Authenticator {
    /// Checks the configuration: a strong secret ([`check_secret`]), or a JWKS URL, or both.
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
        let jwks = match &config.jwks_url {
            Some(url) => Some(JwksCache::new(url.clone())?),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                secret: config
                    .secret
                    .as_ref()
                    .map(|secret| DecodingKey::from_secret(secret.as_bytes())),
                jwks,
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
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

    /// Verifies a token's signature, expiry and (when configured) issuer and audience.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| AuthError::Invalid(error.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .inner
                .secret
                .clone()
                .ok_or(AuthError::AlgorithmNotAccepted(header.alg))?,
            Algorithm::RS256 | Algorithm::ES256 => match &self.inner.jwks {
                Some(jwks) => jwks.key(header.kid.as_deref(), header.alg).await?,
                None => return Err(AuthError::AlgorithmNotAccepted(header.alg)),
            },
            other => return Err(AuthError::AlgorithmNotAccepted(other)),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = 30;
        validation.validate_nbf = true;
        // A configured issuer or audience is required, not only compared when present.
        let mut required = vec!["exp", "sub"];
        required.extend(self.inner.issuer.as_ref().map(|_| "iss"));
        required.extend(self.inner.audience.as_ref().map(|_| "aud"));
        validation.set_required_spec_claims(&required);
        match &self.inner.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.inner.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(error.to_string()),
        })?;
        let claims = data.claims;
        if claims.exp.saturating_sub(claims.iat) > MAX_TOKEN_LIFETIME.as_secs() as i64 {
            return Err(AuthError::Invalid(format!(
                "it lives longer than the {} hours a token may",
                MAX_TOKEN_LIFETIME.as_secs() / 3600
            )));
        }
        let principal = Principal::from_claims(claims);
        // With an identity provider, people's tokens come from it; the shared secret signs only
        // the suite's own service tokens.
        if header.alg == Algorithm::HS256
            && self.inner.jwks.is_some()
            && principal.roles != BTreeSet::from([Role::Service])
        {
            return Err(AuthError::AlgorithmNotAccepted(header.alg));
        }
        Ok(principal)
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
    async fn with_a_jwks_the_secret_signs_only_service_tokens() {
        let auth = configured(None, None, true);
        assert_eq!(
            auth.verify(&signed(|_| {})).await,
            Err(AuthError::AlgorithmNotAccepted(Algorithm::HS256)),
            "an admin token signed with the shared secret"
        );
        let service = signed(|claims| claims.roles = vec!["service".into()]);
        assert!(auth.verify(&service).await.is_ok());
        let both = signed(|claims| claims.roles = vec!["service".into(), "admin".into()]);
        assert!(auth.verify(&both).await.is_err());
        // Without a JWKS the secret signs everyone's tokens, as in development.
        assert!(authenticator().verify(&signed(|_| {})).await.is_ok());
    }

    #[test]
    fn placeholder_and_predictable_secrets_are_refused() {
        // The Kubernetes example this project once shipped passes the length check.
        let shipped = "REPLACE_ME-with-a-secret-of-at-least-32-bytes";
        assert!(check_secret(shipped).expect_err("placeholder").contains("placeholder"));
        assert!(check_secret("changeme-changeme-changeme-changeme").is_err());
        assert!(
            check_secret(&"a".repeat(64))
                .expect_err("one character")
                .contains("predictable")
        );
        assert!(check_secret(&"ab".repeat(32)).is_err());
        assert!(check_secret(&"password".repeat(4)).is_err());
        // What `openssl rand -hex 32` prints, and the suite's own test secrets, are accepted.
        assert_eq!(
            check_secret("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            Ok(())
        );
        assert_eq!(check_secret(SECRET), Ok(()));
        assert_eq!(check_secret(crate::testing::TEST_SECRET), Ok(()));
        let placeholder = AuthConfig {
            secret: Some(shipped.into()),
            ..AuthConfig::default()
        };
        assert!(Authenticator::new(&placeholder).is_err());
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
