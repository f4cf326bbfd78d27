//! Where the reporting service finds the streams it follows, and how it runs.

use crate::domain::disclosure::{DisclosureRules, KeySecret};

/// The services whose event streams reporting projects (`http://host:port`).
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// Installations, infrastructures, providers, and the windows slots hold.
    pub registry: http::Uri,
    /// Access requests and their requesters, decision-clock breaches.
    pub intake: http::Uri,
    /// Allocations, slots and deliveries.
    pub allocation: http::Uri,
}

/// How the service runs; the defaults suit production.
#[derive(Clone)]
pub struct Options {
    /// The disclosure control applied to every statistic (docs/disclosure.md).
    pub disclosure: DisclosureRules,
    /// The record keys' secret; `None` keeps the one stored at first start (tests fix it).
    pub key_secret: Option<[u8; 32]>,
    /// Follow the other services' streams (tests of usage alone may not).
    pub follow: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            disclosure: DisclosureRules::default(),
            key_secret: None,
            follow: true,
        }
    }
}

/// The key secret never shows, nor the rules' parameters (they are meant to stay confidential).
impl std::fmt::Debug for Options {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Options")
            .field("disclosure_enabled", &self.disclosure.enabled)
            .field("key_secret", &self.key_secret.map(|_| "[secret]"))
            .field("follow", &self.follow)
            .finish()
    }
}

impl Options {
    pub(crate) fn key_secret(&self) -> Option<KeySecret> {
        self.key_secret.map(KeySecret::from_bytes)
    }
}
