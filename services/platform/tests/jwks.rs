//! Tokens signed by an identity provider (RS256 and ES256) verified with keys from its JWKS URL,
//! cached, refetched on an unknown key id. The "provider" is a tiny HTTP server on loopback that
//! serves `fixtures/test-jwks.json` and counts the fetches.

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut request = [0_u8; 2048];
            let _ = socket.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{JWKS}",
                JWKS.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
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
