//! Throttling of failed logins per user and per source address: a bounded
//! in-memory table of failure counts over a fixed window.
//!
//! An attempt is counted *before* its password is checked ([`Throttle::begin`]
//! checks and counts in one locked step) and given back on success
//! ([`Throttle::succeeded`]): were the count taken after the check, N
//! concurrent requests would all pass the check and get N guesses. A throttled
//! key is refused before its password is even looked at.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Most keys (users plus addresses) tracked at once; beyond that expired
/// entries are dropped, then the oldest.
pub const MAX_TRACKED: usize = 50_000;

/// User names longer than this are counted under their first bytes: the
/// table's memory stays bounded whatever is typed into the form (such names
/// never authenticate anyway, see `session::valid_name`).
const MAX_USER_KEY: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    /// An IPv4 address, or an IPv6 address cut to its /64: one subscriber
    /// usually holds a whole /64, so counting single IPv6 addresses would
    /// give an attacker 2^64 fresh counters.
    Address(IpAddr),
}

impl Key {
    fn user(user: &str) -> Key {
        let mut end = user.len().min(MAX_USER_KEY);
        while !user.is_char_boundary(end) {
            end -= 1;
        }
        Key::User(user[..end].to_owned())
    }

    fn address(addr: IpAddr) -> Key {
        Key::Address(match addr {
            IpAddr::V4(_) => addr,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(bits.into())
                }
            },
        })
    }
}

/// Failure counts per user and per address.
pub struct Throttle {
    window: u64,
    max_per_user: u32,
    max_per_address: u32,
    table: Mutex<HashMap<Key, Entry>>,
    capacity: usize,
}

/// Which limit refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    User,
    Address,
}

impl Throttle {
    pub fn new(window: u64, max_per_user: u32, max_per_address: u32) -> Throttle {
        Throttle::with_capacity(window, max_per_user, max_per_address, MAX_TRACKED)
    }

    pub fn with_capacity(
        window: u64,
        max_per_user: u32,
        max_per_address: u32,
        capacity: usize,
    ) -> Throttle {
        Throttle {
            window,
            max_per_user,
            max_per_address,
            table: Mutex::new(HashMap::new()),
            capacity: capacity.max(2),
        }
    }

    fn live(&self, e: &Entry, now: u64) -> bool {
        now < e.window_start.saturating_add(self.window)
    }

    fn failures(&self, map: &HashMap<Key, Entry>, key: &Key, now: u64) -> u32 {
        match map.get(key) {
            Some(e) if self.live(e, now) => e.failures,
            _ => 0,
        }
    }

    /// Starts an attempt for `user` from `addr`: refused when either has
    /// reached its limit in the current window, else counted as a failure
    /// against both until [`Throttle::succeeded`] says otherwise.
    pub fn begin(&self, user: &str, addr: IpAddr, now: u64) -> Result<(), Throttled> {
        let (user, addr) = (Key::user(user), Key::address(addr));
        let mut map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if self.failures(&map, &addr, now) >= self.max_per_address {
            return Err(Throttled::Address);
        }
        if self.failures(&map, &user, now) >= self.max_per_user {
            return Err(Throttled::User);
        }
        self.make_room(&mut map, now);
        for key in [user, addr] {
            let e = map.entry(key).or_insert(Entry {
                failures: 0,
                window_start: now,
            });
            if !self.live(e, now) {
                *e = Entry {
                    failures: 0,
                    window_start: now,
                };
            }
            e.failures = e.failures.saturating_add(1);
        }
        Ok(())
    }

    /// The attempt begun for `user` from `addr` succeeded: the user's
    /// failures are forgotten and the address gets its attempt back.
    pub fn succeeded(&self, user: &str, addr: IpAddr) {
        let mut map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Key::user(user));
        if let Some(e) = map.get_mut(&Key::address(addr)) {
            e.failures = e.failures.saturating_sub(1);
        }
    }

    /// Keeps the table under its capacity before two insertions.
    fn make_room(&self, map: &mut HashMap<Key, Entry>, now: u64) {
        if map.len() + 2 <= self.capacity {
            return;
        }
        map.retain(|_, e| self.live(e, now));
        if map.len() + 2 > self.capacity {
            // Still full of live entries: drop the older half at once, so
            // the cost is paid once per capacity/2 insertions.
            let mut by_age: Vec<(u64, Key)> = map
                .iter()
                .map(|(k, e)| (e.window_start, k.clone()))
                .collect();
            by_age.sort_by_key(|(start, _)| *start);
            for (_, k) in by_age.into_iter().take(map.len() / 2 + 2) {
                map.remove(&k);
            }
        }
    }

    /// The attempt begun for `user` from `addr` ended in neither a yes nor
    /// a no (the backend failed): it is not held against either.
    pub fn release(&self, user: &str, addr: IpAddr) {
        let mut map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        for key in [Key::user(user), Key::address(addr)] {
            if let Some(e) = map.get_mut(&key) {
                e.failures = e.failures.saturating_sub(1);
            }
        }
    }

    pub fn tracked(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_user_limit_and_window() {
        let t = Throttle::new(60, 3, 100);
        for i in 0..3 {
            assert_eq!(t.begin("bob", ip(&format!("10.0.0.{i}")), 100), Ok(()));
        }
        assert_eq!(t.begin("bob", ip("10.0.0.9"), 100), Err(Throttled::User));
        assert_eq!(t.begin("alice", ip("10.0.0.9"), 100), Ok(()));
        // The window passes.
        assert_eq!(t.begin("bob", ip("10.0.0.9"), 160), Ok(()));
    }

    #[test]
    fn per_address_limit() {
        let t = Throttle::new(60, 100, 2);
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("c", ip("10.0.0.1"), 1), Err(Throttled::Address));
        assert_eq!(t.begin("c", ip("10.0.0.2"), 1), Ok(()));
    }

    #[test]
    fn an_attempt_counts_before_its_outcome_is_known() {
        // Concurrent attempts cannot all slip through the check: each one
        // is counted as it begins.
        let t = std::sync::Arc::new(Throttle::new(60, 5, 1000));
        let allowed: usize = (0..8)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    (0..10)
                        .filter(|_| t.begin("bob", ip("10.0.0.1"), 0).is_ok())
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn success_clears_the_user_and_returns_the_address_attempt() {
        let t = Throttle::new(60, 1, 2);
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("10.0.0.2"), 0), Err(Throttled::User));
        t.succeeded("a", ip("10.0.0.1"));
        assert_eq!(t.begin("a", ip("10.0.0.2"), 0), Ok(()));
        // 10.0.0.1 got its attempt back: two more fit before its limit.
        assert_eq!(t.begin("x", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("y", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("z", ip("10.0.0.1"), 0), Err(Throttled::Address));
    }

    #[test]
    fn a_released_attempt_is_not_held_against_anyone() {
        let t = Throttle::new(60, 1, 1);
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        t.release("a", ip("10.0.0.1"));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Err(Throttled::Address));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let t = Throttle::new(60, 100, 2);
        assert_eq!(t.begin("a", ip("2001:db8:1:2::1"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("2001:db8:1:2:ffff::9"), 0), Ok(()));
        assert_eq!(
            t.begin("c", ip("2001:db8:1:2:abcd::1"), 0),
            Err(Throttled::Address)
        );
        assert_eq!(t.begin("c", ip("2001:db8:1:3::1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("192.0.2.7"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("::ffff:192.0.2.7"), 0), Ok(()));
        assert_eq!(t.begin("c", ip("192.0.2.7"), 0), Err(Throttled::Address));
    }

    #[test]
    fn long_user_names_share_one_bounded_key() {
        let t = Throttle::new(60, 1, 100);
        let long = "é".repeat(10_000);
        assert_eq!(t.begin(&long, ip("10.0.0.1"), 0), Ok(()));
        let longer = format!("{long}x");
        assert_eq!(t.begin(&longer, ip("10.0.0.2"), 0), Err(Throttled::User));
    }

    #[test]
    fn bounded() {
        let t = Throttle::with_capacity(60, 5, 5000, 100);
        for i in 0..1000u32 {
            let _ = t.begin(&format!("u{i}"), ip("10.0.0.1"), u64::from(i));
        }
        assert!(t.tracked() <= 100);
    }
}
