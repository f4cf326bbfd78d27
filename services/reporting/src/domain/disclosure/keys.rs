//! Record keys and cell keys of the cell key method [H4.6][H5.4]: every counted unit has a secret,
//! fixed, uniformly spread key, and a cell's key is the sum of its units' keys modulo 2^32.

use sha2::{Digest, Sha256};

/// The secret the record keys are derived from: 32 random bytes, drawn once and kept for as long as
/// figures are published (a new secret re-keys every unit, so every published figure moves at once).
/// Never output, never logged [ONS]: `Debug` prints `[secret]`.
pub struct KeySecret([u8; 32]);

impl KeySecret {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("[secret]")
    }
}

/// What a record key belongs to: the unit being counted [disclosure-notes §4.4, unsourced]. The
/// kind is part of the keyed message, so a user and an organisation with the same id get
/// unrelated keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitKind {
    User,
    Organisation,
    Request,
    UserGroup,
}

impl UnitKind {
    /// The kind's name in the keyed message. Fixed for ever, like the whole derivation: the store
    /// keeps keys it derived earlier, and a changed derivation would give the same unit two keys.
    fn tag(self) -> &'static [u8] {
        match self {
            UnitKind::User => b"user",
            UnitKind::Organisation => b"organisation",
            UnitKind::Request => b"request",
            UnitKind::UserGroup => b"user-group",
        }
    }
}

/// Separates the kind's tag from the id in the keyed message; no tag contains it, so no two
/// (kind, id) pairs give the same message.
const UNIT_SEPARATOR: u8 = 0x1f;

/// A unit's record key, uniform on 0..2^32 and the same for ever: the first four bytes (big-endian)
/// of HMAC-SHA256 (RFC 2104) under the secret of `tag ‖ 0x1F ‖ id`. Derived from a stable id
/// rather than drawn and stored [ONS], so every replica and every rebuild of the projections agree;
/// without the secret the keys cannot be recomputed, so the noise cannot be unpicked [ONS].
pub fn record_key(secret: &KeySecret, kind: UnitKind, id: &str) -> u32 {
    let mac = hmac_sha256(&secret.0, &[kind.tag(), &[UNIT_SEPARATOR], id.as_bytes()]);
    u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]])
}

/// HMAC-SHA256 per RFC 2104 for a 32-byte key: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message)), with K
/// padded by zeros to SHA-256's 64-byte block.
fn hmac_sha256(key: &[u8; 32], message: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (index, byte) in key.iter().enumerate() {
        inner_pad[index] ^= byte;
        outer_pad[index] ^= byte;
    }
    let mut inner = Sha256::new();
    inner.update(inner_pad);
    for part in message {
        inner.update(part);
    }
    let inner_digest = inner.finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner_digest)
        .finalize()
        .into()
}

/// A cell's key: the sum of its units' record keys modulo 2^32, i.e. the fractional part of the sum
/// of U(0,1) keys [H5.4]. Uniform again, the same for the same units, and independent between two
/// cells that differ by a unit. `Debug` hides the value: two cells' keys give away a unit's record
/// key, and with the keys "the perturbation can be unpicked" [ONS].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CellKey(u32);

impl CellKey {
    /// From a sum of record keys as the store adds them up (any number of them, wrapping or not).
    /// A signed `BIGINT` sum converted with `as u64` keeps its value modulo 2^32.
    pub fn from_sum(sum_of_record_keys: u64) -> Self {
        Self((sum_of_record_keys % (1 << 32)) as u32)
    }

    pub fn of(keys: impl IntoIterator<Item = u32>) -> Self {
        Self(keys.into_iter().fold(0u32, u32::wrapping_add))
    }

    /// The key's 32 bits; a fraction in [0, 1) once divided by 2^32.
    pub(super) fn bits(self) -> u32 {
        self.0
    }
}

impl std::fmt::Debug for CellKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CellKey([hidden])")
    }
}

#[cfg(test)]
mod tests {
    use super::super::pseudo_random;
    use super::*;

    fn secret() -> KeySecret {
        KeySecret::from_bytes(*b"a-fixed-secret-for-these-tests!!")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn the_keyed_hash_is_hmac_sha256_of_rfc_4231() {
        // RFC 4231 test cases 1 and 2; their keys are shorter than 32 bytes, and HMAC pads a short
        // key with zeros, so the same key padded to 32 bytes must give the same MAC.
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        assert_eq!(
            hex(&hmac_sha256(&key, &[b"Hi ", b"There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let mut jefe = [0u8; 32];
        jefe[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&hmac_sha256(&jefe, &[b"what do ya want for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn record_keys_are_the_same_for_the_same_unit_and_differ_across_secrets_and_kinds() {
        let key = record_key(&secret(), UnitKind::User, "user-1");
        assert_eq!(key, record_key(&secret(), UnitKind::User, "user-1"));
        assert_ne!(key, record_key(&secret(), UnitKind::User, "user-2"));
        assert_ne!(key, record_key(&secret(), UnitKind::Organisation, "user-1"));
        assert_ne!(
            key,
            record_key(&KeySecret::from_bytes([7; 32]), UnitKind::User, "user-1")
        );
        let kinds = [
            UnitKind::User,
            UnitKind::Organisation,
            UnitKind::Request,
            UnitKind::UserGroup,
        ];
        let mut keys: Vec<u32> = kinds.iter().map(|kind| record_key(&secret(), *kind, "x")).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), kinds.len(), "every kind keys the same id differently");
    }

    #[test]
    fn the_record_key_derivation_does_not_change_between_releases() {
        // Stored keys were derived with this function: if this value moves, every unit gets a
        // second key and published figures stop being consistent over time.
        assert_eq!(
            record_key(&secret(), UnitKind::Organisation, "org-1"),
            PINNED_ORGANISATION_KEY
        );
    }

    /// Cross-checked with Python: `hmac.new(secret, b"organisation\x1forg-1", sha256)`, first four
    /// bytes big-endian.
    const PINNED_ORGANISATION_KEY: u32 = 2_202_385_356;

    #[test]
    fn record_keys_spread_evenly_over_sixteen_buckets() {
        let mut buckets = [0u32; 16];
        for index in 0..10_000 {
            let key = record_key(&secret(), UnitKind::User, &format!("user-{index}"));
            buckets[(key >> 28) as usize] += 1;
        }
        // 625 expected per bucket, ±20 %.
        assert!(buckets.iter().all(|count| (500..=750).contains(count)), "{buckets:?}");
    }

    #[test]
    fn neither_the_secret_nor_a_cell_key_shows_in_debug_output() {
        assert_eq!(format!("{:?}", KeySecret::from_bytes([0xab; 32])), "[secret]");
        let cell_key = CellKey::of([123_456_789]);
        let shown = format!("{cell_key:?}");
        assert!(!shown.contains("123456789") && !shown.contains("75bcd15"), "{shown}");
    }

    #[test]
    fn a_cell_key_is_the_sum_of_record_keys_modulo_two_to_the_32_in_any_order() {
        let keys = [u32::MAX, 5, 1 << 31, 77];
        let sum: u64 = keys.iter().map(|key| u64::from(*key)).sum();
        assert!(sum > u64::from(u32::MAX), "the sum must wrap for this test");
        assert_eq!(CellKey::of(keys), CellKey::from_sum(sum));
        assert_eq!(CellKey::of([77, 1 << 31, u32::MAX, 5]), CellKey::of(keys));
        assert_eq!(CellKey::of([u32::MAX, 2]).bits(), 1);
        assert_eq!(CellKey::from_sum((3 << 32) + 9).bits(), 9);
        // A signed SQL sum that wrapped below zero still lands on the same key.
        assert_eq!(CellKey::from_sum(-1i64 as u64).bits(), u32::MAX);
        let many: Vec<u32> = pseudo_random(11).take(1_000).map(|value| value as u32).collect();
        let total: u64 = many.iter().map(|key| u64::from(*key)).sum();
        assert_eq!(CellKey::of(many), CellKey::from_sum(total));
    }
}
