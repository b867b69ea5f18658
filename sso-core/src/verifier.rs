//! Checking tickets: signature against any configured key, then the claims.

use std::sync::Arc;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::keys::{PublicKey, ServicePattern};
use crate::ticket::{RawTicket, Ticket};
use crate::Error;

/// What a caller expects of a ticket beyond the verifier's fixed settings.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The current Unix time in seconds.
    pub now: u64,
    /// The nonce the ticket must carry (v4), if one is expected.
    pub nonce: Option<&'a str>,
    /// Groups of which the ticket must hold at least one; empty: no requirement.
    pub groups: &'a [String],
}

impl<'a> Check<'a> {
    /// Expiry only: no nonce, no groups.
    pub fn at(now: u64) -> Check<'static> {
        Check {
            now,
            nonce: None,
            groups: &[],
        }
    }
}

/// Why a verifier could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    NoKeys,
    EmptyService,
    EmptyDomain,
    /// Every key is pinned to other services.
    NoKeyForService,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfigError::NoKeys => "a verifier needs at least one public key",
            ConfigError::EmptyService => "the expected service must not be empty",
            ConfigError::EmptyDomain => "the expected domain must not be empty",
            ConfigError::NoKeyForService => {
                "every public key is pinned to other services (services=)"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

/// The public keys a verifier accepts, shared between verifiers (a server
/// builds one per protected location with the same keys).
#[derive(Clone, Debug)]
pub struct KeySet {
    keys: Arc<[VerifyingKey]>,
    /// Per key, the services it may sign for (`None`: any).
    pins: Arc<[Option<ServicePattern>]>,
    /// Identifies the set of keys, so a cache entry verified under one key
    /// set is never taken as verified under another.
    id: u64,
}

impl KeySet {
    pub fn new(keys: &[PublicKey]) -> Result<KeySet, ConfigError> {
        let unpinned: Vec<(PublicKey, Option<ServicePattern>)> =
            keys.iter().map(|k| (*k, None)).collect();
        KeySet::with_pins(&unpinned)
    }

    /// A key set where some keys may sign only for the services their
    /// pattern matches. A [`Verifier`] keeps only the keys allowed for its
    /// service, so a ticket signed by a key pinned elsewhere fails its
    /// signature check (`bad signature`).
    pub fn with_pins(keys: &[(PublicKey, Option<ServicePattern>)]) -> Result<KeySet, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        // The id covers the keys and their pins: a cache entry verified
        // under one set never counts under another.
        let mut digest = Sha256::new();
        for (k, pin) in keys {
            digest.update(k.0.as_bytes());
            if let Some(p) = pin {
                digest.update(b"\0services=");
                digest.update(p.as_str().as_bytes());
                digest.update(b"\0");
            }
        }
        let d = digest.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        Ok(KeySet {
            keys: keys.iter().map(|(k, _)| k.0).collect(),
            pins: keys.iter().map(|(_, p)| p.clone()).collect(),
            id: u64::from_le_bytes(id),
        })
    }

    /// The keys of this set that may sign for `service`; `None` when none may.
    pub fn for_service(&self, service: &str) -> Option<KeySet> {
        if self.pins.iter().all(Option::is_none) {
            return Some(self.clone());
        }
        let allowed: Vec<(PublicKey, Option<ServicePattern>)> = self
            .keys
            .iter()
            .zip(self.pins.iter())
            .filter(|(_, pin)| pin.as_ref().is_none_or(|p| p.allows(service)))
            .map(|(k, pin)| (PublicKey(*k), pin.clone()))
            .collect();
        KeySet::with_pins(&allowed).ok()
    }

    /// How many keys are pinned to services.
    pub fn pinned(&self) -> usize {
        self.pins.iter().filter(|p| p.is_some()).count()
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when any key verifies `signature` over `content` (strict RFC 8032
    /// verification: non-canonical signatures and weak keys are refused).
    pub fn verifies(&self, content: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.keys
            .iter()
            .any(|k| k.verify_strict(content, &signature).is_ok())
    }
}

/// The largest clock-skew allowance any part of the system accepts, in
/// seconds. A larger value is far more likely a typo (milliseconds?) than a
/// real clock difference, and would stretch every ticket's life by that much.
pub const MAX_CLOCK_SKEW: u64 = 3600;

/// Verifies tickets for one service in one domain.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: KeySet,
    /// Keys of the configured set pinned to other services (left out).
    pinned_elsewhere: usize,
    service: String,
    domain: String,
    clock_skew: u64,
}

impl Verifier {
    /// A verifier for `service` in `domain` accepting any of `keys` that
    /// may sign for `service` (see [`KeySet::with_pins`]), with no
    /// clock-skew allowance.
    pub fn new(keys: KeySet, service: &str, domain: &str) -> Result<Verifier, ConfigError> {
        if service.is_empty() {
            return Err(ConfigError::EmptyService);
        }
        if domain.is_empty() {
            return Err(ConfigError::EmptyDomain);
        }
        let usable = keys
            .for_service(service)
            .ok_or(ConfigError::NoKeyForService)?;
        Ok(Verifier {
            pinned_elsewhere: keys.len() - usable.len(),
            keys: usable,
            service: service.to_owned(),
            domain: domain.to_owned(),
            clock_skew: 0,
        })
    }

    /// Accept tickets up to `seconds` after their expiry (clocks differ),
    /// at most [`MAX_CLOCK_SKEW`]: callers refuse larger values with their
    /// own message, and one that does not still never gets more.
    pub fn with_clock_skew(mut self, seconds: u64) -> Verifier {
        self.clock_skew = seconds.min(MAX_CLOCK_SKEW);
        self
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn clock_skew(&self) -> u64 {
        self.clock_skew
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// How many configured keys are pinned to other services and so never
    /// verify a ticket here (for the log of a `bad signature`).
    pub fn keys_pinned_elsewhere(&self) -> usize {
        self.pinned_elsewhere
    }

    /// Full verification: encoding and size, version, fields, signature, then
    /// the claims ([`Verifier::check_claims`]).
    pub fn verify(&self, encoded: &str, check: &Check<'_>) -> Result<Ticket, Error> {
        let ticket = self.verify_signature(encoded)?;
        self.check_claims(&ticket, check)?;
        Ok(ticket)
    }

    /// Decodes, parses and checks the signature, but no claim: the part of
    /// verification that depends only on the ticket bytes and the keys.
    pub fn verify_signature(&self, encoded: &str) -> Result<Ticket, Error> {
        let raw = RawTicket::decode(encoded)?;
        let ticket = Ticket::parse_content(&raw.content)?;
        if !self.keys.verifies(&raw.content, &raw.signature) {
            return Err(Error::BadSignature);
        }
        Ok(ticket)
    }

    /// The `sso_login` check: one signature check (no cache: a login ticket
    /// is used once), then the claims against each candidate nonce (the
    /// browser's nonce cookies, most specific first) until one matches.
    /// With no candidate, or none that matches, the answer is
    /// [`Error::NonceMismatch`]; any other failed claim is reported at once.
    pub fn verify_with_nonces(
        &self,
        encoded: &str,
        nonces: &[&str],
        now: u64,
        groups: &[String],
    ) -> Result<Ticket, Error> {
        let ticket = self.verify_signature(encoded)?;
        let mut claims = Err(Error::NonceMismatch);
        for nonce in nonces {
            let check = Check {
                now,
                nonce: Some(nonce),
                groups,
            };
            claims = self.check_claims(&ticket, &check);
            if claims != Err(Error::NonceMismatch) {
                break;
            }
        }
        claims.map(|()| ticket)
    }

    /// The claims of an authentic ticket: expiry (with the skew allowance),
    /// service, domain, nonce where expected, and groups where required.
    pub fn check_claims(&self, ticket: &Ticket, check: &Check<'_>) -> Result<(), Error> {
        // `now == 0` is what `unix_now` reads off a clock set before 1970:
        // no ticket can be shown unexpired by such a clock.
        if check.now == 0 || ticket.expires.saturating_add(self.clock_skew) < check.now {
            return Err(Error::Expired);
        }
        if ticket.service != self.service {
            return Err(Error::WrongService);
        }
        if ticket.domain != self.domain {
            return Err(Error::WrongDomain);
        }
        if let Some(expected) = check.nonce {
            // An empty expected nonce would match any nonce-less v4 ticket:
            // a caller that lost its nonce must not get a pass.
            if expected.is_empty() || ticket.nonce.as_deref() != Some(expected) {
                return Err(Error::NonceMismatch);
            }
        }
        if !ticket.has_any_group(check.groups) {
            return Err(Error::MissingGroup);
        }
        Ok(())
    }
}
