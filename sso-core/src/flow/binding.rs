//! Ticket binding (docs/protocol.md, "Ticket binding"): at `sso_login` the
//! ticket's fingerprint is recorded with the digest of a fresh random value
//! that only the browser receives, in its own host-only cookie. A ticket
//! that carries a nonce (a browser ticket) is then accepted from a cookie
//! only together with that value, and at `sso_login` only once: a ticket
//! copied from an `sso_login` URL buys nothing.
//!
//! The store is the adapter's: mod_sso keeps it in httpd's shared object
//! cache, a single-process consumer can use [`MemoryBindingStore`].

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Why the store could not answer. Every error fails closed: a login is
/// refused (503), a cookie ticket sends the browser to a silent re-login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingError {
    /// The fingerprint is bound already: the ticket was used at `sso_login`.
    AlreadyBound,
    /// The store is full, unreachable or failed.
    Unavailable,
}

/// Where bindings live: fingerprint → digest of the binding value, until
/// the ticket expires.
pub trait BindingStore {
    /// Records `digest` for `fingerprint` until `expires`, unless the
    /// fingerprint is bound already ([`BindingError::AlreadyBound`]). Must
    /// be atomic: two concurrent logins with one ticket bind at most once.
    fn bind(
        &self,
        fingerprint: &str,
        digest: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), BindingError>;

    /// The digest bound to `fingerprint`, `None` when there is none (never
    /// bound, expired, evicted, or the store was restarted).
    fn lookup(&self, fingerprint: &str, now: u64) -> Result<Option<String>, BindingError>;

    /// Revokes `fingerprint` until `expires` (logout): it stays bound, to a
    /// digest no cookie matches, so neither the cookies nor a replay of the
    /// `sso_login` URL work again. Best effort.
    fn revoke(&self, fingerprint: &str, expires: u64, now: u64);
}

/// A browser ticket: one that carries a (non-empty) nonce, which only the
/// login server's browser flow puts in. Tickets for programs (realms, the
/// token exchange, `ssotool sign`) carry none.
pub fn is_browser_ticket(ticket: &crate::Ticket) -> bool {
    ticket.nonce.as_deref().is_some_and(|n| !n.is_empty())
}

/// What a revoked fingerprint is bound to: no [`binding_digest`] (hex) matches.
pub const REVOKED: &str = "-";

/// The digest stored for a binding value (the store never holds the value
/// itself, so reading a shared cache does not yield a usable cookie).
pub fn binding_digest(value: &str) -> String {
    Sha256::digest(value.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A bounded in-memory store for tests and single-process consumers. When
/// full, expired entries go first, then the oldest: an evicted binding only
/// costs its browser a silent re-login.
pub struct MemoryBindingStore {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (String, u64)>,
    order: VecDeque<String>,
}

impl MemoryBindingStore {
    pub fn new(capacity: usize) -> MemoryBindingStore {
        MemoryBindingStore {
            capacity,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl BindingStore for MemoryBindingStore {
    fn bind(
        &self,
        fingerprint: &str,
        digest: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), BindingError> {
        if self.capacity == 0 {
            return Err(BindingError::Unavailable);
        }
        let mut e = self.lock();
        if e.map.contains_key(fingerprint) {
            // Even expired: a used ticket stays used (and an expired one is
            // refused by the verifier anyway).
            return Err(BindingError::AlreadyBound);
        }
        if e.map.len() >= self.capacity {
            let Entries { map, order } = &mut *e;
            map.retain(|_, (_, exp)| *exp >= now);
            order.retain(|k| map.contains_key(k));
            while map.len() >= self.capacity {
                match order.pop_front() {
                    Some(k) => {
                        map.remove(&k);
                    }
                    None => break,
                }
            }
        }
        e.map
            .insert(fingerprint.to_owned(), (digest.to_owned(), expires));
        e.order.push_back(fingerprint.to_owned());
        Ok(())
    }

    fn lookup(&self, fingerprint: &str, now: u64) -> Result<Option<String>, BindingError> {
        Ok(self
            .lock()
            .map
            .get(fingerprint)
            .filter(|(_, exp)| *exp >= now)
            .map(|(d, _)| d.clone()))
    }

    fn revoke(&self, fingerprint: &str, expires: u64, now: u64) {
        let _ = self.bind(fingerprint, REVOKED, expires, now);
        if let Some(entry) = self.lock().map.get_mut(fingerprint) {
            entry.0 = REVOKED.to_owned();
        }
    }
}
