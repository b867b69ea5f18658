//! The WebAuthn ceremonies in progress (see [`crate::webauthn`]): each is
//! kept in memory for [`CEREMONY_SECONDS`] under a random id that the page
//! sends back, and used once.
//!
//! Two caps bound the table. Each user holds at most [`MAX_PER_USER`]
//! ceremonies: a new one evicts that user's oldest, so one account starting
//! ceremonies in a loop only ever churns its own. The global cap
//! ([`MAX_CEREMONIES`]) stays as a backstop against many accounts at once:
//! beyond it a new ceremony is refused (503) until some finish or expire.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::{OsRng, RngCore};

/// Seconds a started ceremony may take to finish.
pub const CEREMONY_SECONDS: u64 = 300;

/// Ceremonies held at once, all users together.
pub const MAX_CEREMONIES: usize = 10_000;

/// Ceremonies one user holds at once (a few tabs, a retry); the oldest goes
/// first.
pub const MAX_PER_USER: usize = 4;

/// One held ceremony: whose, when it expires, the order it started in.
struct Held<C> {
    user: String,
    expires: u64,
    seq: u64,
    ceremony: C,
}

/// Why a ceremony could not be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The ceremonies in progress, of any kind `C`.
pub struct Ceremonies<C> {
    table: Mutex<(u64, HashMap<String, Held<C>>)>,
}

/// Of one user's ceremonies, `(id, (expires, seq))`, the one to evict so
/// that a new one fits within `limit`: the oldest, when there are `limit`
/// or more already.
pub fn to_evict<'a>(
    mine: impl IntoIterator<Item = (&'a str, (u64, u64))>,
    limit: usize,
) -> Option<&'a str> {
    let mut count = 0;
    let mut oldest: Option<(&str, (u64, u64))> = None;
    for (id, age) in mine {
        count += 1;
        if oldest.is_none_or(|(_, o)| age < o) {
            oldest = Some((id, age));
        }
    }
    if count >= limit {
        oldest.map(|(id, _)| id)
    } else {
        None
    }
}

fn random_id() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

impl<C> Default for Ceremonies<C> {
    fn default() -> Self {
        Ceremonies {
            table: Mutex::new((0, HashMap::new())),
        }
    }
}

impl<C> Ceremonies<C> {
    /// Holds `ceremony` of `user` started at `now`; its id. The user's
    /// oldest goes when the user holds [`MAX_PER_USER`]; `Full` when the
    /// global cap is reached even so.
    pub fn hold(&self, user: &str, ceremony: C, now: u64) -> Result<String, Full> {
        self.hold_within(user, ceremony, now, MAX_PER_USER, MAX_CEREMONIES)
    }

    fn hold_within(
        &self,
        user: &str,
        ceremony: C,
        now: u64,
        per_user: usize,
        global: usize,
    ) -> Result<String, Full> {
        let mut guard = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let (seq, table) = &mut *guard;
        table.retain(|_, h| h.expires > now);
        let evict = to_evict(
            table
                .iter()
                .filter(|(_, h)| h.user == user)
                .map(|(id, h)| (id.as_str(), (h.expires, h.seq))),
            per_user,
        )
        .map(str::to_owned);
        if let Some(id) = evict {
            table.remove(&id);
        }
        if table.len() >= global {
            return Err(Full);
        }
        *seq += 1;
        let id = random_id();
        table.insert(
            id.clone(),
            Held {
                user: user.to_owned(),
                expires: now.saturating_add(CEREMONY_SECONDS),
                seq: *seq,
                ceremony,
            },
        );
        Ok(id)
    }

    /// The ceremony `id`, gone from the table (each is used once), if it
    /// is `user`'s and still running. A ceremony of another user counts as
    /// none (and is spent too), so ids cannot be probed.
    pub fn take(&self, user: &str, id: &str, now: u64) -> Option<C> {
        let mut guard = self.table.lock().unwrap_or_else(|p| p.into_inner());
        match guard.1.remove(id) {
            Some(h) if h.expires > now && h.user == user => Some(h.ceremony),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_of_a_full_user_is_evicted() {
        let mine = [("a", (300, 2)), ("b", (300, 1)), ("c", (301, 3))];
        assert_eq!(to_evict(mine, 3), Some("b"));
        assert_eq!(to_evict(mine, 4), None);
        assert_eq!(to_evict([], 1), None);
    }

    #[test]
    fn one_user_cannot_fill_the_table_for_another() {
        let c = Ceremonies::default();
        let first = c.hold_within("mallory", 0, 1000, 2, 4).unwrap();
        let second = c.hold_within("mallory", 1, 1000, 2, 4).unwrap();
        for i in 2..50 {
            c.hold_within("mallory", i, 1000, 2, 4).unwrap();
        }
        // mallory's oldest ones were evicted, in order.
        assert_eq!(c.take("mallory", &first, 1001), None);
        assert_eq!(c.take("mallory", &second, 1001), None);
        let alice = c.hold_within("alice", 100, 1000, 2, 4).unwrap();
        assert_eq!(c.take("alice", &alice, 1001), Some(100));
        // The global cap still holds across users.
        c.hold_within("bob", 0, 1000, 2, 4).unwrap();
        c.hold_within("carol", 0, 1000, 2, 4).unwrap();
        assert_eq!(c.hold_within("dave", 0, 1000, 2, 4), Err(Full));
        // Expired ones make room.
        assert!(c
            .hold_within("dave", 0, 1000 + CEREMONY_SECONDS, 2, 4)
            .is_ok());
    }

    #[test]
    fn a_ceremony_is_its_users_and_used_once() {
        let c = Ceremonies::default();
        let id = c.hold("alice", 7, 1000).unwrap();
        assert_eq!(c.take("bob", &id, 1001), None);
        assert_eq!(c.take("alice", &id, 1001), None);
        let id = c.hold("alice", 7, 1000).unwrap();
        assert_eq!(c.take("alice", &id, 1001), Some(7));
        assert_eq!(c.take("alice", &id, 1001), None);
        let id = c.hold("alice", 7, 1000).unwrap();
        assert_eq!(c.take("alice", &id, 1000 + CEREMONY_SECONDS), None);
    }
}
