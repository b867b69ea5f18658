//! Ticket binding (docs/protocol.md, "Ticket binding"). A browser ticket
//! carries the commitment of a secret that only the browser holds (the
//! nonce cookie until `sso_login`, the binding cookie after it). The cookie
//! check proves that secret on every request: whoever copied the ticket
//! from an `sso_login` URL, or read a shared store, cannot make the cookie.
//! The check needs no store, so it holds in every process of a
//! multi-process server (httpd children, gunicorn workers, gate replicas).
//!
//! The store is for what a secret cannot say: that a ticket was used at
//! `sso_login` already (a login is recorded once), and that it was revoked
//! (logout, or a refused `sso_login` that burnt it). It is the adapter's:
//! mod_sso keeps it in httpd's shared object cache, a single-process
//! consumer can use [`MemoryBindingStore`].

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Why the store could not answer. Every error fails closed: a login is
/// refused (503), a cookie ticket sends the browser to a silent re-login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingError {
    /// The fingerprint is bound already: the ticket was used at `sso_login`.
    AlreadyBound,
    /// The store is full, unreachable or failed.
    Unavailable,
}

/// Where fingerprints of used and revoked tickets live, until the ticket
/// expires.
pub trait BindingStore {
    /// Records `value` ([`BOUND`] at `sso_login`) for `fingerprint` until
    /// `expires`, unless the fingerprint is recorded already
    /// ([`BindingError::AlreadyBound`]). Must be atomic: two concurrent
    /// logins with one ticket record at most once.
    fn bind(
        &self,
        fingerprint: &str,
        value: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), BindingError>;

    /// What is recorded for `fingerprint`, `None` when nothing is (never
    /// bound, expired, evicted, or the store was restarted).
    fn lookup(&self, fingerprint: &str, now: u64) -> Result<Option<String>, BindingError>;

    /// Records `fingerprint` as [`REVOKED`] until `expires` (logout, or a
    /// refused `sso_login`): its cookies are refused, and a later
    /// `sso_login` with it is a replay. Best effort.
    fn revoke(&self, fingerprint: &str, expires: u64, now: u64);
}

/// A browser ticket: one that carries a (non-empty) nonce, which only the
/// login server's browser flow puts in. Tickets for programs (realms, the
/// token exchange, `ssotool sign`) carry none.
pub fn is_browser_ticket(ticket: &crate::Ticket) -> bool {
    ticket.nonce.as_deref().is_some_and(|n| !n.is_empty())
}

/// What `sso_login` records for a ticket it accepted.
pub const BOUND: &str = "+";

/// What a revoked (or burnt) fingerprint is recorded as.
pub const REVOKED: &str = "-";

/// Whether one of the browser's binding cookies (`values`, most specific
/// first) is the secret whose commitment the browser ticket carries as its
/// nonce ([`crate::web::nonce_commitment`]); returns that secret. At most
/// `limit` cookies are tried: each costs a hash.
pub fn proven_secret<'a>(
    ticket: &crate::Ticket,
    values: &[&'a str],
    limit: usize,
) -> Option<&'a str> {
    let nonce = ticket.nonce.as_deref().filter(|n| !n.is_empty())?;
    values
        .iter()
        .take(limit)
        .find(|v| !v.is_empty() && crate::web::nonce_commitment(v) == nonce)
        .copied()
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
        value: &str,
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
            .insert(fingerprint.to_owned(), (value.to_owned(), expires));
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
