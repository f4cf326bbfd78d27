//! Tokens signed by an identity provider (RS256 and ES256) verified with keys from its JWKS URL,
//! cached, refetched on an unknown key id at most once per interval, one fetch at a time. The
//! "provider" is a tiny HTTP server on loopback that serves `fixtures/test-jwks.json`, after a
//! delay when asked, and counts the fetches.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rti_platform::auth::{AuthError, Authenticator, Claims, Role};
use rti_platform::config::AuthConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JWKS: &str = include_str!("fixtures/test-jwks.json");
const ES256_KEY: &[u8] = include_bytes!("fixtures/es256-test-key.pem");
const RS256_KEY: &[u8] = include_bytes!("fixtures/rs256-test-key.pem");

/// Serves the JWKS over HTTP/1.1 and counts requests.
async fn identity_provider() -> (url::Url, Arc<AtomicUsize>) {
    slow_identity_provider(Duration::ZERO).await
}

/// Serves the JWKS `delay` after each request arrives, so that verifications overlap a fetch.
async fn slow_identity_provider(delay: Duration) -> (url::Url, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0_u8; 2048];
                let _ = socket.read(&mut request).await;
                tokio::time::sleep(delay).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{JWKS}",
                    JWKS.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (
        format!("http://{address}/.well-known/jwks.json").parse().expect("url"),
        fetches,
    )
}

fn sign(algorithm: Algorithm, kid: &str, key: &EncodingKey, claims: &Claims) -> String {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("signs")
}

fn claims() -> Claims {
    let mut claims = Claims::new("idp-user-7", &[Role::Coordinator], Duration::from_secs(300));
    claims.iss = Some("https://idp.example.org".into());
    claims
}

#[tokio::test]
async fn verifies_es256_and_rs256_tokens_with_keys_from_the_jwks_url_fetched_once() {
    let (url, fetches) = identity_provider().await;
    let authenticator = Authenticator::new(&AuthConfig {
        jwks_url: Some(url),
        issuer: Some("https://idp.example.org".into()),
        ..AuthConfig::default()
    })
    .expect("config");
    let es256 = sign(
        Algorithm::ES256,
        "test-es256",
        &EncodingKey::from_ec_pem(ES256_KEY).expect("pem"),
        &claims(),
    );
    let rs256 = sign(
        Algorithm::RS256,
        "test-rs256",
        &EncodingKey::from_rsa_pem(RS256_KEY).expect("pem"),
        &claims(),
    );
    for token in [&es256, &rs256, &es256] {
        let principal = authenticator.verify(token).await.expect("verified");
        assert_eq!(principal.subject, "idp-user-7");
        assert!(principal.has_role(Role::Coordinator));
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the key set is cached");
}

#[tokio::test]
async fn refuses_unknown_key_ids_swapped_algorithms_and_wrong_issuers() {
    let (url, _) = identity_provider().await;
    let authenticator = Authenticator::new(&AuthConfig {
        jwks_url: Some(url),
        issuer: Some("https://idp.example.org".into()),
        ..AuthConfig::default()
    })
    .expect("config");
    let ec_key = EncodingKey::from_ec_pem(ES256_KEY).expect("pem");
    let unknown = sign(Algorithm::ES256, "rotated-away", &ec_key, &claims());
    assert_eq!(
        authenticator.verify(&unknown).await,
        Err(AuthError::UnknownKey("rotated-away".into()))
    );

    // The EC key's id, but a header claiming RS256: the key's own algorithm must match.
    let rsa_key = EncodingKey::from_rsa_pem(RS256_KEY).expect("pem");
    let swapped = sign(Algorithm::RS256, "test-es256", &rsa_key, &claims());
    assert!(matches!(
        authenticator.verify(&swapped).await,
        Err(AuthError::Invalid(_))
    ));

    let mut foreign = claims();
    foreign.iss = Some("https://elsewhere.example.org".into());
    let foreign = sign(Algorithm::ES256, "test-es256", &ec_key, &foreign);
    assert!(matches!(
        authenticator.verify(&foreign).await,
        Err(AuthError::Invalid(_))
    ));

    // HS256 is refused when no secret is configured, whatever it is signed with.
    let hs256 = rti_platform::auth::mint_hs256("a-secret-of-at-least-thirty-two-bytes!", &claims()).expect("signs");
    assert_eq!(
        authenticator.verify(&hs256).await,
        Err(AuthError::AlgorithmNotAccepted(Algorithm::HS256))
    );
}

#[tokio::test]
async fn an_unreachable_identity_provider_is_unauthenticated_not_a_crash() {
    let authenticator = Authenticator::new(&AuthConfig {
        jwks_url: Some("http://127.0.0.1:1/jwks.json".parse().expect("url")),
        ..AuthConfig::default()
    })
    .expect("config");
    let token = sign(
        Algorithm::ES256,
        "test-es256",
        &EncodingKey::from_ec_pem(ES256_KEY).expect("pem"),
        &claims(),
    );
    assert!(matches!(
        authenticator.verify(&token).await,
        Err(AuthError::KeysUnavailable(_))
    ));
}

fn provider_config(url: url::Url, refetch_interval: Duration) -> AuthConfig {
    AuthConfig {
        jwks_url: Some(url),
        issuer: Some("https://idp.example.org".into()),
        jwks_refetch_interval: refetch_interval,
        ..AuthConfig::default()
    }
}

/// Verifies `token` from `count` tasks at once and returns their outcomes.
async fn verify_concurrently(authenticator: &Authenticator, token: &str, count: usize) -> Vec<Result<Role, AuthError>> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let authenticator = authenticator.clone();
        let token = token.to_owned();
        tasks.spawn(async move {
            authenticator
                .verify(&token)
                .await
                .map(|principal| *principal.roles.first().expect("one role"))
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_share_one_fetch_and_unknown_key_ids_do_not_refetch_within_the_interval() {
    let (url, fetches) = slow_identity_provider(Duration::from_millis(200)).await;
    let authenticator = Authenticator::new(&provider_config(url, Duration::from_secs(3600))).expect("config");
    let ec_key = EncodingKey::from_ec_pem(ES256_KEY).expect("pem");
    let known = sign(Algorithm::ES256, "test-es256", &ec_key, &claims());
    let outcomes = verify_concurrently(&authenticator, &known, 16).await;
    assert!(
        outcomes.iter().all(|outcome| *outcome == Ok(Role::Coordinator)),
        "{outcomes:?}"
    );
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "sixteen verifications on a cold cache, one fetch"
    );

    // Forged key ids, at once and one after another: the set was fetched within the interval.
    let forged = sign(Algorithm::ES256, "forged-kid", &ec_key, &claims());
    let outcomes = verify_concurrently(&authenticator, &forged, 16).await;
    assert!(
        outcomes
            .iter()
            .all(|outcome| *outcome == Err(AuthError::UnknownKey("forged-kid".into()))),
        "{outcomes:?}"
    );
    for attempt in 0..5 {
        let other = sign(Algorithm::ES256, &format!("forged-{attempt}"), &ec_key, &claims());
        assert!(matches!(
            authenticator.verify(&other).await,
            Err(AuthError::UnknownKey(_))
        ));
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "unknown key ids within the interval fetch nothing"
    );
    assert!(authenticator.verify(&known).await.is_ok(), "known keys still verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_id_refetches_once_per_interval_however_many_ask() {
    let interval = Duration::from_millis(800);
    let (url, fetches) = slow_identity_provider(Duration::from_millis(100)).await;
    let authenticator = Authenticator::new(&provider_config(url, interval)).expect("config");
    let ec_key = EncodingKey::from_ec_pem(ES256_KEY).expect("pem");
    let known = sign(Algorithm::ES256, "test-es256", &ec_key, &claims());
    assert!(authenticator.verify(&known).await.is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // The rate limit's window has to pass for the next fetch to be allowed at all.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let rotated = sign(Algorithm::ES256, "rotated-in", &ec_key, &claims());
    let outcomes = verify_concurrently(&authenticator, &rotated, 16).await;
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "one refetch for sixteen callers of an unknown key id"
    );
}
