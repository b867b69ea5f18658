//! sso-core: the ticket engine of an ai-sso compatible single sign-on system.
//!
//! - [`ticket`]: the v3/v4 content format and the base64url wire form;
//! - [`keys`]: raw and PEM key files, with secret-key permission checks;
//! - [`Signer`] mints tickets, [`Verifier`] checks them;
//! - [`VerifyCache`]: a bounded, sharded cache for servers;
//! - [`file_trust`]: which key and configuration files may be trusted
//!   (StrictModes), for every consumer;
//! - [`spec`]: one verifier configuration (keys with trust check and pins,
//!   service, domain, clock skew, groups, cookies) for every consumer;
//! - [`flow`]: the decisions of a protected web location (cookies, redirects,
//!   `sso_login`, ticket binding), for every web adapter.
//!
//! The wire contract is the protocol page (docs/protocol.md).

pub mod cache;
mod error;
pub mod event_log;
pub mod file_trust;
pub mod flow;
pub mod keys;
pub mod proxy;
pub mod signer;
pub mod spec;
pub mod ticket;
pub mod verifier;
pub mod web;

pub use cache::{Verified, VerifyCache, DEFAULT_CACHE_ENTRIES};
pub use error::Error;
pub use keys::{KeyError, KeyErrorKind, KeyFormat, PublicKey, SecretKey, ServicePattern};
pub use signer::Signer;
pub use ticket::{decode_unverified, RawTicket, Ticket, Version, MAX_TICKET_LEN};
pub use verifier::{Check, ConfigError, KeySet, Verifier, MAX_CLOCK_SKEW};

/// The current Unix time in seconds (0 if the clock is before 1970, which
/// [`Verifier::check_claims`] takes as expired: a broken clock fails closed).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A short identifier of a ticket that is safe to log: the first 8 bytes of
/// SHA-256 over its decoded bytes (signature and content), in hex. Never
/// log the ticket itself.
///
/// The decoded form is canonical: a padded and an unpadded copy of one
/// ticket (both accepted by every verifier) have one fingerprint, so a
/// copy with its `=` stripped cannot be bound at `sso_login` a second time
/// (docs/protocol.md, "Ticket binding"). A string that is no ticket is
/// fingerprinted as it is, under another label.
pub fn ticket_fingerprint(encoded: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = match ticket::RawTicket::decode(encoded) {
        Ok(raw) => Sha256::new()
            .chain_update(b"sso ticket fingerprint v2\0")
            .chain_update(raw.signature)
            .chain_update(&raw.content)
            .finalize(),
        Err(_) => Sha256::new()
            .chain_update(b"sso not a ticket\0")
            .chain_update(encoded.as_bytes())
            .finalize(),
    };
    web::hex(&digest[..8])
}
