//! What makes an HS256 secret acceptable: long enough, not a placeholder, not predictable.

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
    check_named_secret("RTI_AUTH_SECRET (--auth-secret)", secret)
}

/// [`check_secret`] for the option `name`, which the message names.
pub fn check_named_secret(name: &str, secret: &str) -> Result<(), String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "{name} is {} bytes; it must be at least {MIN_SECRET_BYTES}",
            secret.len()
        ));
    }
    let lowercase = secret.to_ascii_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|word| lowercase.contains(*word)) {
        return Err(format!(
            "{name} is a placeholder ({word:?}); set a random one, e.g. `openssl rand -hex 32`"
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
            "{name} is too predictable (about {bits:.0} bits in its characters, at least {MIN_SECRET_BITS:.0} \
             needed); set a random one, e.g. `openssl rand -hex 32`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Authenticator;
    use crate::config::AuthConfig;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

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
        assert_eq!(check_secret(crate::testing::TEST_SERVICE_SECRET), Ok(()));
        let placeholder = AuthConfig {
            secret: Some(shipped.into()),
            ..AuthConfig::default()
        };
        assert!(Authenticator::new(&placeholder).is_err());
    }
}
