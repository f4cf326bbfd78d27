//! The standard agreements shipped with intake (IND-7b), stored at start when missing. A version
//! is never edited: a changed text ships as a new file and a new version.

use crate::domain::request::{AgreementKind, AgreementTemplate};

use crate::store::sha256_hex;

/// 2026-01-01T00:00:00Z, when the first versions took effect.
const FIRST_EFFECTIVE_FROM: i64 = 1_767_225_600_000_000;

struct Shipped {
    id: &'static str,
    kind: AgreementKind,
    version: i32,
    title: &'static str,
    path: &'static str,
    text: &'static str,
}

const SHIPPED: [Shipped; 4] = [
    Shipped {
        id: "019b7a00-0000-7000-8000-000000000001",
        kind: AgreementKind::Nda,
        version: 1,
        title: "Mutual non-disclosure agreement",
        path: "agreements/nda-v1.md",
        text: include_str!("../agreements/nda-v1.md"),
    },
    Shipped {
        id: "019b7a00-0000-7000-8000-000000000002",
        kind: AgreementKind::ServiceContract,
        version: 1,
        title: "Service and testing contract",
        path: "agreements/service-contract-v1.md",
        text: include_str!("../agreements/service-contract-v1.md"),
    },
    Shipped {
        id: "019b7a00-0000-7000-8000-000000000003",
        kind: AgreementKind::Collaborative,
        version: 1,
        title: "Collaborative R&D agreement",
        path: "agreements/collaborative-v1.md",
        text: include_str!("../agreements/collaborative-v1.md"),
    },
    Shipped {
        id: "019b7a00-0000-7000-8000-000000000004",
        kind: AgreementKind::TaUserAgreement,
        version: 1,
        title: "Transnational-access user agreement",
        path: "agreements/ta-user-agreement-v1.md",
        text: include_str!("../agreements/ta-user-agreement-v1.md"),
    },
];

/// The shipped templates, with the hash of each text.
pub fn shipped() -> Vec<AgreementTemplate> {
    SHIPPED
        .iter()
        .map(|shipped| AgreementTemplate {
            id: shipped.id.to_owned(),
            kind: shipped.kind,
            version: shipped.version,
            title: shipped.title.to_owned(),
            jurisdiction: "the provider's country of establishment".to_owned(),
            text_uri: shipped.path.to_owned(),
            text_sha256: sha256_hex(shipped.text.as_bytes()),
            effective_from: FIRST_EFFECTIVE_FROM,
        })
        .collect()
}
