//! A verification cache for servers.
//!
//! It saves only decoding, parsing and the signature check: every hit still
//! goes through [`Verifier::check_claims`] (expiry, service, domain, nonce,
//! groups). Entries are keyed by the exact ticket bytes and by the key set
//! that verified them, so a ticket verified under one set of keys is never
//! taken as verified under another.
//!
//! Thread safety without one global lock: the cache is split into shards,
//! each behind its own mutex, chosen by a keyed hash of the ticket. The size
//! is bounded: each shard holds at most `capacity / shards` entries and
//! evicts the oldest first (tickets are inserted roughly in expiry order, so
//! first-in is also first-to-expire). Expired entries are dropped on a hit
//! and by a sweep of every shard (one lock at a time) at most once a minute,
//! started by whichever insertion comes first after that minute, so they
//! never pile up, not even in a shard that sees no new tickets.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ticket::Ticket;
use crate::verifier::{Check, Verifier};
use crate::Error;

/// Entries a server cache holds by default: enough for 16k distinct live
/// tickets (a few MiB).
pub const DEFAULT_CACHE_ENTRIES: usize = 16_384;

const MAX_SHARDS: usize = 32;
const SWEEP_INTERVAL_SECS: u64 = 60;

struct Entry {
    ticket: Arc<Ticket>,
    key_set: u64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Arc<str>, Entry>,
    /// Insertion order, for eviction. May hold keys already removed from the
    /// map (expired on a hit); compacted when it outgrows the map.
    order: VecDeque<Arc<str>>,
}

/// A bounded, sharded cache of verified tickets.
pub struct VerifyCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
    /// When the last sweep started (the `now` of the check that started it).
    last_sweep: AtomicU64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl VerifyCache {
    /// A cache of at most `capacity` entries; 0 disables caching.
    pub fn new(capacity: usize) -> VerifyCache {
        // Small caches get one shard so the bound stays exact.
        let shards = if capacity >= 1024 { MAX_SHARDS } else { 1 };
        VerifyCache {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity / shards,
            hasher: RandomState::new(),
            last_sweep: AtomicU64::new(0),
        }
    }

    /// The most entries the cache will hold.
    pub fn capacity(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    /// Entries held now (including expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, encoded: &str) -> &Mutex<Shard> {
        let h = self.hasher.hash_one(encoded.as_bytes()) as usize;
        &self.shards[h % self.shards.len()]
    }

    /// Verifies like [`Verifier::verify`], reusing an earlier signature check
    /// of the same ticket bytes under the same keys when there is one.
    pub fn verify(
        &self,
        verifier: &Verifier,
        encoded: &str,
        check: &Check<'_>,
    ) -> Result<Arc<Ticket>, Error> {
        if self.per_shard == 0 {
            return verifier.verify(encoded, check).map(Arc::new);
        }
        let shard = self.shard(encoded);
        let cached = {
            let guard = lock(shard);
            guard
                .map
                .get(encoded)
                .filter(|e| e.key_set == verifier.keys().id())
                .map(|e| Arc::clone(&e.ticket))
        };
        if let Some(ticket) = cached {
            return match verifier.check_claims(&ticket, check) {
                Ok(()) => Ok(ticket),
                Err(Error::Expired) => {
                    lock(shard).map.remove(encoded);
                    Err(Error::Expired)
                }
                Err(e) => Err(e),
            };
        }
        // Verify outside the lock: the signature check is the slow part.
        let ticket = Arc::new(verifier.verify_signature(encoded)?);
        verifier.check_claims(&ticket, check)?;
        self.insert(shard, encoded, &ticket, verifier, check.now);
        Ok(ticket)
    }

    fn insert(
        &self,
        shard: &Mutex<Shard>,
        encoded: &str,
        ticket: &Arc<Ticket>,
        verifier: &Verifier,
        now: u64,
    ) {
        self.sweep_if_due(verifier.clock_skew(), now);
        let mut s = lock(shard);
        while s.map.len() >= self.per_shard {
            match s.order.pop_front() {
                Some(oldest) => {
                    s.map.remove(&oldest);
                }
                None => break,
            }
        }
        let key: Arc<str> = Arc::from(encoded);
        let entry = Entry {
            ticket: Arc::clone(ticket),
            key_set: verifier.keys().id(),
        };
        if s.map.insert(Arc::clone(&key), entry).is_none() {
            s.order.push_back(key);
        }
        if s.order.len() > 2 * self.per_shard + 16 {
            let Shard { map, order, .. } = &mut *s;
            order.retain(|k| map.contains_key(k));
        }
    }
}

impl VerifyCache {
    /// Drops expired entries from every shard, once per
    /// [`SWEEP_INTERVAL_SECS`]; only the thread that claims the sweep does
    /// it, and it holds one shard's lock at a time. `now` comes from the
    /// caller (the C ABI passes any value), hence the saturating arithmetic.
    fn sweep_if_due(&self, skew: u64, now: u64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_INTERVAL_SECS
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        for shard in self.shards.iter() {
            lock(shard)
                .map
                .retain(|_, e| e.ticket.expires.saturating_add(skew) >= now);
        }
    }
}

/// A poisoned shard only means another thread panicked while holding it; the
/// map itself is always left consistent, so keep using it.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
