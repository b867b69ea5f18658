//! Throttling of failed logins per user and per source address: a bounded
//! in-memory table of failure counts over a fixed window. A throttled key
//! is refused before its password is even checked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Most keys (users plus addresses) tracked at once; beyond that expired
/// entries are dropped, then the oldest.
pub const MAX_TRACKED: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
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

    fn failures(&self, map: &HashMap<Key, Entry>, key: &Key, now: u64) -> u32 {
        match map.get(key) {
            Some(e) if now < e.window_start + self.window => e.failures,
            _ => 0,
        }
    }

    /// Whether an attempt for `user` from `addr` may go ahead now.
    pub fn check(&self, user: &str, addr: IpAddr, now: u64) -> Result<(), Throttled> {
        let map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if self.failures(&map, &Key::Address(addr), now) >= self.max_per_address {
            return Err(Throttled::Address);
        }
        if self.failures(&map, &Key::User(user.to_owned()), now) >= self.max_per_user {
            return Err(Throttled::User);
        }
        Ok(())
    }

    /// Counts a failed attempt against both the user and the address.
    pub fn record_failure(&self, user: &str, addr: IpAddr, now: u64) {
        let mut map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() + 2 > self.capacity {
            let window = self.window;
            map.retain(|_, e| now < e.window_start + window);
            if map.len() + 2 > self.capacity {
                // Still full of live entries: drop the older half at once,
                // so the cost is paid once per capacity/2 insertions.
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
        for key in [Key::User(user.to_owned()), Key::Address(addr)] {
            let e = map.entry(key).or_insert(Entry {
                failures: 0,
                window_start: now,
            });
            if now >= e.window_start + self.window {
                *e = Entry {
                    failures: 0,
                    window_start: now,
                };
            }
            e.failures = e.failures.saturating_add(1);
        }
    }

    /// Forgets the user's failures after a successful login.
    pub fn record_success(&self, user: &str) {
        let mut map = self.table.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Key::User(user.to_owned()));
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
            assert_eq!(t.check("bob", ip("10.0.0.1"), 100), Ok(()));
            t.record_failure("bob", ip(&format!("10.0.0.{i}")), 100);
        }
        assert_eq!(t.check("bob", ip("10.0.0.9"), 100), Err(Throttled::User));
        assert_eq!(t.check("alice", ip("10.0.0.9"), 100), Ok(()));
        // The window passes.
        assert_eq!(t.check("bob", ip("10.0.0.9"), 160), Ok(()));
    }

    #[test]
    fn per_address_limit() {
        let t = Throttle::new(60, 100, 2);
        t.record_failure("a", ip("10.0.0.1"), 0);
        t.record_failure("b", ip("10.0.0.1"), 0);
        assert_eq!(t.check("c", ip("10.0.0.1"), 1), Err(Throttled::Address));
        assert_eq!(t.check("c", ip("10.0.0.2"), 1), Ok(()));
    }

    #[test]
    fn success_clears_the_user() {
        let t = Throttle::new(60, 1, 100);
        t.record_failure("a", ip("10.0.0.1"), 0);
        assert!(t.check("a", ip("10.0.0.2"), 0).is_err());
        t.record_success("a");
        assert!(t.check("a", ip("10.0.0.2"), 0).is_ok());
    }

    #[test]
    fn bounded() {
        let t = Throttle::with_capacity(60, 5, 5, 100);
        for i in 0..1000u32 {
            t.record_failure(&format!("u{i}"), ip("10.0.0.1"), u64::from(i));
        }
        assert!(t.tracked() <= 100);
    }
}
