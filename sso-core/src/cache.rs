//! A verification cache for servers.
//!
//! It saves only decoding, parsing and the signature check: every hit still
//! goes through [`Verifier::check_claims`] (expiry, service, domain, nonce,
//! groups). Entries are keyed by the exact ticket bytes and by the key set
//! that verified them, so a ticket verified under one set of keys is never
//! taken as verified under another.
//!
//! Thread safety without one global lock: the cache is split into shards,
//! each behind its own mutex, chosen by a keyed hash of the ticket. That
//! hash is computed once per lookup, by a fast keyed function
//! ([`ticket_hash`]), and keys the shard's map too: a hit hashes the ticket
//! once and allocates nothing. Only verified tickets are inserted, so no
//! one can fill a shard with chosen collisions; an entry also keeps its
//! ticket's text, and a hit must match it. The size
//! is bounded: each shard holds at most `capacity / shards` entries and
//! evicts the oldest first (tickets are inserted roughly in expiry order, so
//! first-in is also first-to-expire). Expired entries are dropped on a hit
//! and by a sweep of every shard (one lock at a time) at most once a minute,
//! started by whichever insertion comes first after that minute, so they
//! never pile up, not even in a shard that sees no new tickets.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::ticket::Ticket;
use crate::verifier::{Check, Verifier};
use crate::Error;

/// Entries a server cache holds by default: enough for 16k distinct live
/// tickets (a few MiB).
pub const DEFAULT_CACHE_ENTRIES: usize = 16_384;

const MAX_SHARDS: usize = 32;
const SWEEP_INTERVAL_SECS: u64 = 60;

struct Entry {
    /// The ticket as received: the map's key is only its hash. Shared
    /// with every acceptance of it ([`Verified::encoded`]).
    text: Arc<str>,
    ticket: Arc<Ticket>,
    key_set: u64,
    /// [`crate::ticket_fingerprint`] of `text`, once a caller asked for it:
    /// a warm request of a bound browser ticket needs it for the binding
    /// store, and computing it means decoding the ticket and a SHA-256.
    fingerprint: OnceLock<Arc<str>>,
}

/// A ticket [`VerifyCache::verify_fingerprinted`] accepted, with its
/// fingerprint.
#[derive(Debug, Clone)]
pub struct Verified {
    pub ticket: Arc<Ticket>,
    /// [`crate::ticket_fingerprint`] of the ticket as received.
    pub fingerprint: Arc<str>,
    /// The ticket as received, shared with the cache (no copy per request).
    pub encoded: Arc<str>,
}

/// What [`VerifyCache::verify_fingerprinted`] gets of an entry besides its
/// ticket: its fingerprint and its text.
struct Known {
    fingerprint: Arc<str>,
    text: Arc<str>,
}

/// The hasher of a shard's map, whose keys are already [`ticket_hash`]es.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); any other input is
        // folded in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// 64 × 64 → 128-bit multiply, folded back to 64 bits.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// A fast keyed hash of a ticket's bytes (the folded-multiply scheme of
/// foldhash and wyhash): 16 bytes per multiply, `seed` drawn at random per
/// cache.
fn ticket_hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        h = folded_multiply(word(&c[..8]) ^ h, word(&c[8..]) ^ K);
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 16];
    tail[..rest.len()].copy_from_slice(rest);
    h = folded_multiply(word(&tail[..8]) ^ h, word(&tail[8..]) ^ seed ^ K);
    folded_multiply(h, K)
}

#[derive(Default)]
struct Shard {
    /// Keyed by [`ticket_hash`] of the ticket.
    map: HashMap<u64, Entry, BuildHasherDefault<Prehashed>>,
    /// Insertion order, for eviction. May hold keys already removed from the
    /// map (expired on a hit); compacted when it outgrows the map.
    order: VecDeque<u64>,
}

/// A bounded, sharded cache of verified tickets.
pub struct VerifyCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// The key of [`ticket_hash`], random per cache.
    seed: u64,
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
            seed: RandomState::new().hash_one(0x5eed_u64),
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

    /// The ticket's hash and its shard. The shard comes from bits the
    /// map's own table does not use for its slots (the low ones) or tags
    /// (the top seven).
    fn shard(&self, encoded: &str) -> (u64, &Mutex<Shard>) {
        let h = ticket_hash(self.seed, encoded.as_bytes());
        (h, &self.shards[(h >> 32) as usize % self.shards.len()])
    }

    /// Verifies like [`Verifier::verify`], reusing an earlier signature check
    /// of the same ticket bytes under the same keys when there is one.
    pub fn verify(
        &self,
        verifier: &Verifier,
        encoded: &str,
        check: &Check<'_>,
    ) -> Result<Arc<Ticket>, Error> {
        self.lookup(verifier, encoded, check, false).map(|(t, _)| t)
    }

    /// [`VerifyCache::verify`], and the ticket's fingerprint, computed once
    /// per cached ticket: a hit matches the ticket's exact text, so the
    /// fingerprint kept with it is that text's.
    pub fn verify_fingerprinted(
        &self,
        verifier: &Verifier,
        encoded: &str,
        check: &Check<'_>,
    ) -> Result<Verified, Error> {
        let (ticket, known) = self.lookup(verifier, encoded, check, true)?;
        let known = known.unwrap_or_else(|| Known::of(encoded));
        Ok(Verified {
            ticket,
            fingerprint: known.fingerprint,
            encoded: known.text,
        })
    }

    fn lookup(
        &self,
        verifier: &Verifier,
        encoded: &str,
        check: &Check<'_>,
        fingerprinted: bool,
    ) -> Result<(Arc<Ticket>, Option<Known>), Error> {
        if self.per_shard == 0 {
            let ticket = Arc::new(verifier.verify(encoded, check)?);
            return Ok((ticket, fingerprinted.then(|| Known::of(encoded))));
        }
        let (hash, shard) = self.shard(encoded);
        let cached = {
            let guard = lock(shard);
            guard
                .map
                .get(&hash)
                .filter(|e| e.key_set == verifier.keys().id() && *e.text == *encoded)
                .map(|e| {
                    let known = fingerprinted.then(|| Known {
                        fingerprint: Arc::clone(
                            e.fingerprint.get_or_init(|| fingerprint_of(encoded)),
                        ),
                        text: Arc::clone(&e.text),
                    });
                    (Arc::clone(&e.ticket), known)
                })
        };
        if let Some((ticket, known)) = cached {
            return match verifier.check_claims(&ticket, check) {
                Ok(()) => Ok((ticket, known)),
                Err(Error::Expired) => {
                    lock(shard).map.remove(&hash);
                    Err(Error::Expired)
                }
                Err(e) => Err(e),
            };
        }
        // Verify outside the lock: the signature check is the slow part.
        let ticket = Arc::new(verifier.verify_signature(encoded)?);
        verifier.check_claims(&ticket, check)?;
        let text: Arc<str> = Arc::from(encoded);
        let fingerprint = fingerprinted.then(|| fingerprint_of(encoded));
        let known = fingerprint.clone().map(|fingerprint| Known {
            fingerprint,
            text: Arc::clone(&text),
        });
        let entry = Entry {
            text,
            ticket: Arc::clone(&ticket),
            key_set: verifier.keys().id(),
            fingerprint: fingerprint.map(OnceLock::from).unwrap_or_default(),
        };
        self.insert(shard, hash, entry, verifier.clock_skew(), check.now);
        Ok((ticket, known))
    }

    fn insert(&self, shard: &Mutex<Shard>, hash: u64, entry: Entry, skew: u64, now: u64) {
        self.sweep_if_due(skew, now);
        let mut s = lock(shard);
        while s.map.len() >= self.per_shard {
            match s.order.pop_front() {
                Some(oldest) => {
                    s.map.remove(&oldest);
                }
                None => break,
            }
        }
        // Another ticket of the same hash (never seen in practice) is
        // replaced: a cache may forget.
        if s.map.insert(hash, entry).is_none() {
            s.order.push_back(hash);
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

impl Known {
    fn of(encoded: &str) -> Known {
        Known {
            fingerprint: fingerprint_of(encoded),
            text: Arc::from(encoded),
        }
    }
}

fn fingerprint_of(encoded: &str) -> Arc<str> {
    Arc::from(crate::ticket_fingerprint(encoded))
}

/// A poisoned shard only means another thread panicked while holding it; the
/// map itself is always left consistent, so keep using it.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_hash_depends_on_every_byte_and_on_the_seed() {
        let ticket = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghij".as_bytes();
        let h = ticket_hash(1, ticket);
        assert_eq!(h, ticket_hash(1, ticket));
        assert_ne!(h, ticket_hash(2, ticket), "keyed");
        for i in 0..ticket.len() {
            let mut other = ticket.to_vec();
            other[i] ^= 1;
            assert_ne!(h, ticket_hash(1, &other), "byte {i}");
        }
        // Lengths that differ only by trailing zero bytes hash apart.
        assert_ne!(ticket_hash(1, b"ab"), ticket_hash(1, b"ab\0"));
        assert_ne!(ticket_hash(1, b""), ticket_hash(1, b"\0"));
    }

    /// A verifier for service `s/` in domain `d`, and the signer of its key.
    fn keys(seed: u8) -> (Verifier, crate::Signer) {
        let key = crate::SecretKey::from_seed(&[seed; 32]);
        let verifier =
            Verifier::new(crate::KeySet::new(&[key.public_key()]).unwrap(), "s/", "d").unwrap();
        (verifier, crate::Signer::new(key))
    }

    #[test]
    fn a_hit_must_match_the_ticket_text() {
        let (verifier, signer) = keys(9);
        let t = signer.sign(&Ticket::new("u", "s/", "d", 100)).unwrap();
        let cache = VerifyCache::new(8);
        let check = Check::at(50);
        assert!(cache.verify(&verifier, &t, &check).is_ok());
        // Forge an entry under another ticket's hash: the text decides.
        let other = signer.sign(&Ticket::new("v", "s/", "d", 100)).unwrap();
        let (hash, shard) = cache.shard(&other);
        let (_, own) = cache.shard(&t);
        let entry = lock(own)
            .map
            .values()
            .next()
            .map(|e| Arc::clone(&e.ticket))
            .unwrap();
        lock(shard).map.insert(
            hash,
            Entry {
                text: Arc::from(t.as_str()),
                ticket: entry,
                key_set: verifier.keys().id(),
                fingerprint: OnceLock::from(Arc::from("forged")),
            },
        );
        assert_eq!(cache.verify(&verifier, &other, &check).unwrap().user, "v");
        let v = cache
            .verify_fingerprinted(&verifier, &other, &check)
            .unwrap();
        assert_eq!(&*v.fingerprint, crate::ticket_fingerprint(&other));
    }

    #[test]
    fn a_fingerprint_is_the_tickets_own_hit_or_miss() {
        let (verifier, signer) = keys(7);
        let check = Check::at(50);
        for capacity in [0, 8] {
            let cache = VerifyCache::new(capacity);
            for user in ["u", "v", "u"] {
                let t = signer.sign(&Ticket::new(user, "s/", "d", 100)).unwrap();
                for _ in 0..2 {
                    let v = cache.verify_fingerprinted(&verifier, &t, &check).unwrap();
                    assert_eq!(v.ticket.user, user);
                    assert_eq!(&*v.fingerprint, crate::ticket_fingerprint(&t), "{capacity}");
                    assert_eq!(&*v.encoded, t.as_str(), "{capacity}");
                }
                // An entry made by a plain verify gets its fingerprint later.
                let plain = signer.sign(&Ticket::new(user, "s/", "d", 99)).unwrap();
                cache.verify(&verifier, &plain, &check).unwrap();
                let v = cache
                    .verify_fingerprinted(&verifier, &plain, &check)
                    .unwrap();
                assert_eq!(&*v.fingerprint, crate::ticket_fingerprint(&plain));
                assert_eq!(&*v.encoded, plain.as_str());
            }
        }
    }

    #[test]
    fn a_hit_shares_the_tickets_text_with_the_cache() {
        let (verifier, signer) = keys(8);
        let check = Check::at(50);
        let cache = VerifyCache::new(8);
        let t = signer.sign(&Ticket::new("u", "s/", "d", 100)).unwrap();
        let first = cache.verify_fingerprinted(&verifier, &t, &check).unwrap();
        let again = cache.verify_fingerprinted(&verifier, &t, &check).unwrap();
        assert!(Arc::ptr_eq(&first.encoded, &again.encoded));
        // A text that hashes alike but differs is never handed out as it.
        let other = signer.sign(&Ticket::new("v", "s/", "d", 100)).unwrap();
        let v = cache
            .verify_fingerprinted(&verifier, &other, &check)
            .unwrap();
        assert_eq!(&*v.encoded, other.as_str());
    }
}
