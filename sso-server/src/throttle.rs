//! Throttling of failed logins: bounded in-memory tables of failure counts
//! over fixed windows, one table per kind of key.
//!
//! - **(user, address)** pairs lock a user out *from one address* after a
//!   few failures: a stranger guessing alice's password locks only
//!   themselves out, and alice still logs in from her usual address.
//! - **users** get a slower, higher global brake over a longer window, so a
//!   password cannot be guessed from many addresses either.
//! - **addresses** (an IPv4 address or an IPv6 /64) and **IPv6 /48s** (with
//!   a higher limit) stop one source from trying many names.
//!
//! - **second factors**: wrong TOTP codes per user, a stricter count of
//!   its own ([`Throttle::second_factor_begin`]). Only a right code
//!   clears it, never a correct password: otherwise whoever knows the
//!   password could guess codes for ever, logging in again between
//!   guesses.
//!
//! A name that could never log in (see `session::valid_name`) gets no user
//! or pair entry: junk names only cost their address.
//!
//! An attempt is counted *before* its password is checked ([`Throttle::begin`]
//! checks and counts in one locked step) and given back on success: were
//! the count taken after the check, N concurrent requests would all pass the
//! check and get N guesses.
//!
//! The tables are bounded. When one is full, expired entries go first, then
//! the entries with the lowest counts; an entry at or above its limit is
//! never evicted (otherwise a flood of junk attempts would reset the
//! counter of the account under attack). When a table holds nothing but
//! such entries, new attempts are refused until the window frees room:
//! that fails closed.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use crate::config::ThrottleConfig;
use crate::session::valid_name;
use crate::throttle_table::Table;

/// Default for `throttle.max_tracked`: most entries of each table.
pub const MAX_TRACKED: usize = 50_000;

/// Which limit refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failures for this user from this address.
    UserAddress,
    /// Too many failures for this user from anywhere (the global brake).
    User,
    /// Too many failures from this address (IPv4, or IPv6 /64).
    Address,
    /// Too many failures from this IPv6 /48.
    Network,
    /// A table is full of entries at their limits.
    Full,
    /// Too many wrong second-factor codes for this user.
    SecondFactor,
}

impl Throttled {
    /// A short stable name for logs.
    pub fn check(self) -> &'static str {
        match self {
            Throttled::UserAddress => "too many failures for user from address",
            Throttled::User => "too many failures for user",
            Throttled::Address => "too many failures from address",
            Throttled::Network => "too many failures from network",
            Throttled::Full => "throttle tables full",
            Throttled::SecondFactor => "too many second-factor failures for user",
        }
    }

    /// The `limit` label of `sso_throttled_total` (see [`crate::metrics`]).
    pub fn label(self) -> &'static str {
        match self {
            Throttled::UserAddress => "user_address",
            Throttled::User => "user",
            Throttled::Address => "address",
            Throttled::Network => "ipv6_48",
            Throttled::Full => "tables_full",
            Throttled::SecondFactor => "second_factor",
        }
    }
}

/// The address key: IPv4 as is (IPv4-mapped IPv6 too), IPv6 cut to its
/// /64: one subscriber usually holds a whole /64, so counting single IPv6
/// addresses would give an attacker 2^64 fresh counters.
fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(prefix(v6, 64)),
        },
    }
}

/// The /48 of a (non-mapped) IPv6 address: a site usually holds one, and
/// with it 65,536 /64s.
fn network_key(addr: IpAddr) -> Option<Ipv6Addr> {
    match addr {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => Some(prefix(v6, 48)),
        _ => None,
    }
}

fn prefix(v6: Ipv6Addr, bits: u32) -> Ipv6Addr {
    (u128::from(v6) & !(u128::MAX >> bits)).into()
}

struct Tables {
    pairs: Table<(String, IpAddr)>,
    users: Table<String>,
    addresses: Table<IpAddr>,
    networks: Table<Ipv6Addr>,
    /// Wrong second-factor codes per user: only a right code clears it.
    second_factors: Table<String>,
}

/// Failure counts per (user, address), user, address and IPv6 /48.
pub struct Throttle {
    tables: Mutex<Tables>,
}

/// The keys of one attempt (also the keys of the Redis store, see
/// [`crate::throttle_redis`]).
pub(crate) struct Keys {
    /// `None` for a name that could never log in.
    pub(crate) user: Option<String>,
    pub(crate) address: IpAddr,
    pub(crate) network: Option<Ipv6Addr>,
}

impl Keys {
    pub(crate) fn new(user: &str, addr: IpAddr) -> Keys {
        Keys {
            user: valid_name(user).then(|| user.to_owned()),
            address: address_key(addr),
            network: network_key(addr),
        }
    }

    fn pair(&self) -> Option<(String, IpAddr)> {
        self.user.clone().map(|u| (u, self.address))
    }
}

impl Throttle {
    pub fn new(c: &ThrottleConfig) -> Throttle {
        Throttle {
            tables: Mutex::new(Tables {
                pairs: Table::new(c.window, c.max_per_user_address, c.max_tracked),
                users: Table::new(c.user_window, c.max_per_user, c.max_tracked),
                addresses: Table::new(c.window, c.max_per_address, c.max_tracked),
                networks: Table::new(c.window, c.max_per_ipv6_48, c.max_tracked),
                second_factors: Table::new(
                    c.second_factor_window,
                    c.max_second_factor_failures,
                    c.max_tracked,
                ),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an attempt for `user` from `addr`: refused when any of its
    /// keys has reached its limit in the current window, else counted as a
    /// failure against all of them until [`Throttle::succeeded`] or
    /// [`Throttle::release`] says otherwise.
    pub fn begin(&self, user: &str, addr: IpAddr, now: u64) -> Result<(), Throttled> {
        let k = Keys::new(user, addr);
        let pair = k.pair();
        let mut t = self.lock();
        if t.addresses.at_limit(&k.address, now) {
            return Err(Throttled::Address);
        }
        if k.network.is_some_and(|n| t.networks.at_limit(&n, now)) {
            return Err(Throttled::Network);
        }
        if pair.as_ref().is_some_and(|p| t.pairs.at_limit(p, now)) {
            return Err(Throttled::UserAddress);
        }
        if k.user.as_ref().is_some_and(|u| t.users.at_limit(u, now)) {
            return Err(Throttled::User);
        }
        let room = t.addresses.make_room(&k.address, now)
            && k.network.is_none_or(|n| t.networks.make_room(&n, now))
            && pair.as_ref().is_none_or(|p| t.pairs.make_room(p, now))
            && k.user.as_ref().is_none_or(|u| t.users.make_room(u, now));
        if !room {
            return Err(Throttled::Full);
        }
        t.addresses.add(k.address, now);
        if let Some(n) = k.network {
            t.networks.add(n, now);
        }
        if let Some(p) = pair {
            t.pairs.add(p, now);
        }
        if let Some(u) = k.user {
            t.users.add(u, now);
        }
        Ok(())
    }

    /// The attempt begun for `user` from `addr` succeeded: the pair's
    /// failures are forgotten, every other key gets its attempt back. The
    /// user's global count is only given back, not cleared: a stranger's
    /// failures keep counting against the brake whenever alice logs in.
    pub fn succeeded(&self, user: &str, addr: IpAddr) {
        let k = Keys::new(user, addr);
        let mut t = self.lock();
        if let Some(p) = k.pair() {
            t.pairs.clear(&p);
        }
        Self::give_back_others(&mut t, &k);
    }

    /// The attempt begun for `user` from `addr` ended in neither a yes nor
    /// a no (the backend failed): it is not held against any key.
    pub fn release(&self, user: &str, addr: IpAddr) {
        let k = Keys::new(user, addr);
        let mut t = self.lock();
        if let Some(p) = k.pair() {
            t.pairs.give_back(&p);
        }
        Self::give_back_others(&mut t, &k);
    }

    fn give_back_others(t: &mut Tables, k: &Keys) {
        if let Some(u) = &k.user {
            t.users.give_back(u);
        }
        t.addresses.give_back(&k.address);
        if let Some(n) = &k.network {
            t.networks.give_back(n);
        }
    }

    /// Starts a second-factor attempt of `user` (who proved a password):
    /// refused when the user's wrong codes reached their limit in the
    /// current window, else counted as a failure until
    /// [`Throttle::second_factor_succeeded`] or
    /// [`Throttle::second_factor_release`]. A correct password leaves this
    /// count alone.
    pub fn second_factor_begin(&self, user: &str, now: u64) -> Result<(), Throttled> {
        let key = user.to_owned();
        let mut t = self.lock();
        if t.second_factors.at_limit(&key, now) {
            return Err(Throttled::SecondFactor);
        }
        if !t.second_factors.make_room(&key, now) {
            return Err(Throttled::Full);
        }
        t.second_factors.add(key, now);
        Ok(())
    }

    /// A right code: the user's second-factor failures are forgotten.
    pub fn second_factor_succeeded(&self, user: &str) {
        self.lock().second_factors.clear(&user.to_owned());
    }

    /// The second-factor attempt ended in neither yes nor no.
    pub fn second_factor_release(&self, user: &str) {
        self.lock().second_factors.give_back(&user.to_owned());
    }

    /// Entries held in all tables.
    pub fn tracked(&self) -> usize {
        let t = self.lock();
        t.pairs.len()
            + t.users.len()
            + t.addresses.len()
            + t.networks.len()
            + t.second_factors.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn config() -> ThrottleConfig {
        ThrottleConfig {
            window: 60,
            max_per_user_address: 3,
            max_per_address: 100,
            max_per_ipv6_48: 1000,
            user_window: 600,
            max_per_user: 10,
            max_tracked: MAX_TRACKED,
            second_factor_window: 900,
            max_second_factor_failures: 3,
            store: crate::config::StoreConfig::Memory,
        }
    }

    fn throttle(f: impl FnOnce(&mut ThrottleConfig)) -> Throttle {
        let mut c = config();
        f(&mut c);
        Throttle::new(&c)
    }

    #[test]
    fn a_stranger_locks_only_themselves_out() {
        let t = throttle(|_| {});
        for _ in 0..3 {
            assert_eq!(t.begin("alice", ip("10.0.0.66"), 100), Ok(()));
        }
        assert_eq!(
            t.begin("alice", ip("10.0.0.66"), 100),
            Err(Throttled::UserAddress)
        );
        assert_eq!(t.begin("alice", ip("10.0.0.7"), 100), Ok(()));
        // The window passes.
        assert_eq!(t.begin("alice", ip("10.0.0.66"), 160), Ok(()));
    }

    #[test]
    fn the_global_brake_holds_across_addresses_and_its_longer_window() {
        let t = throttle(|_| {});
        for i in 0..10 {
            assert_eq!(t.begin("bob", ip(&format!("10.0.1.{i}")), 100), Ok(()));
        }
        assert_eq!(t.begin("bob", ip("10.0.2.1"), 100), Err(Throttled::User));
        assert_eq!(t.begin("bob", ip("10.0.2.1"), 650), Err(Throttled::User));
        assert_eq!(t.begin("bob", ip("10.0.2.1"), 700), Ok(()));
        assert_eq!(t.begin("carol", ip("10.0.2.1"), 100), Ok(()));
    }

    #[test]
    fn per_address_limit() {
        let t = throttle(|c| c.max_per_address = 2);
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("c", ip("10.0.0.1"), 1), Err(Throttled::Address));
        assert_eq!(t.begin("c", ip("10.0.0.2"), 1), Ok(()));
    }

    #[test]
    fn an_attempt_counts_before_its_outcome_is_known() {
        // Concurrent attempts cannot all slip through the check: each one
        // is counted as it begins.
        let t = std::sync::Arc::new(throttle(|c| c.max_per_user_address = 5));
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
    fn success_clears_the_pair_and_gives_the_other_attempts_back() {
        let t = throttle(|c| {
            c.max_per_user_address = 1;
            c.max_per_user = 2;
            c.max_per_address = 2;
        });
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Err(Throttled::UserAddress));
        t.succeeded("a", ip("10.0.0.1"));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        // 10.0.0.1 got its attempt back: one more fits before its limit.
        assert_eq!(t.begin("x", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("y", ip("10.0.0.1"), 0), Err(Throttled::Address));
    }

    #[test]
    fn a_released_attempt_is_not_held_against_anyone() {
        let t = throttle(|c| {
            c.max_per_user_address = 1;
            c.max_per_address = 1;
        });
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        t.release("a", ip("10.0.0.1"));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Err(Throttled::Address));
    }

    #[test]
    fn ipv6_counts_per_64_and_per_48_and_mapped_v4_as_v4() {
        let t = throttle(|c| {
            c.max_per_address = 2;
            c.max_per_ipv6_48 = 3;
        });
        assert_eq!(t.begin("a", ip("2001:db8:1:2::1"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("2001:db8:1:2:ffff::9"), 0), Ok(()));
        assert_eq!(
            t.begin("c", ip("2001:db8:1:2:abcd::1"), 0),
            Err(Throttled::Address)
        );
        assert_eq!(t.begin("c", ip("2001:db8:1:3::1"), 0), Ok(()));
        // Three failures in 2001:db8:1::/48: a fresh /64 there is refused.
        assert_eq!(
            t.begin("d", ip("2001:db8:1:4::1"), 0),
            Err(Throttled::Network)
        );
        assert_eq!(t.begin("d", ip("2001:db8:2:4::1"), 0), Ok(()));
        assert_eq!(t.begin("a", ip("192.0.2.7"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("::ffff:192.0.2.7"), 0), Ok(()));
        assert_eq!(t.begin("c", ip("192.0.2.7"), 0), Err(Throttled::Address));
    }

    #[test]
    fn invalid_names_get_no_user_entry() {
        let t = throttle(|c| c.max_per_user_address = 1);
        let long = "é".repeat(10_000);
        for name in [long.as_str(), "a|b", "", "x\ny"] {
            assert_eq!(t.begin(name, ip("10.0.0.1"), 0), Ok(()));
            assert_eq!(t.begin(name, ip("10.0.0.1"), 0), Ok(()));
        }
        // Only the address was counted.
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn a_flood_never_evicts_a_counter_at_its_limit() {
        // Five failures on alice, then junk from many /64s of one /48 and
        // many names: alice's counters survive and stay at their limits.
        let t = throttle(|c| {
            c.max_tracked = 8;
            c.max_per_ipv6_48 = 100_000;
            c.max_per_user_address = 5;
        });
        for _ in 0..5 {
            assert_eq!(t.begin("alice", ip("2001:db8:9::1"), 0), Ok(()));
        }
        for i in 0..200u32 {
            let addr = ip(&format!("2001:db8:9:{:x}::1", i + 1));
            // Each junk name locked from its /64, like alice: at the limit.
            for _ in 0..5 {
                let _ = t.begin(&format!("u{i}"), addr, 1);
            }
            let _ = t.begin("bad|name", addr, 1);
        }
        assert!(t.tracked() <= 4 * 8);
        assert_eq!(
            t.begin("alice", ip("2001:db8:9::1"), 2),
            Err(Throttled::UserAddress)
        );
    }

    #[test]
    fn a_table_full_of_locked_entries_fails_closed() {
        let t = throttle(|c| {
            c.max_tracked = 2;
            c.max_per_user_address = 1;
        });
        assert_eq!(t.begin("a", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("b", ip("10.0.0.1"), 0), Ok(()));
        assert_eq!(t.begin("c", ip("10.0.0.1"), 0), Err(Throttled::Full));
        // Once the window has passed, the expired entries make room.
        assert_eq!(t.begin("c", ip("10.0.0.1"), 60), Ok(()));
    }

    #[test]
    fn second_factor_failures_survive_a_password_success() {
        let t = throttle(|_| {});
        let addr = ip("10.0.0.1");
        for _ in 0..3 {
            assert_eq!(t.begin("alice", addr, 0), Ok(()));
            t.succeeded("alice", addr);
            assert_eq!(t.second_factor_begin("alice", 0), Ok(()));
        }
        assert_eq!(t.begin("alice", addr, 0), Ok(()));
        t.succeeded("alice", addr);
        assert_eq!(
            t.second_factor_begin("alice", 1),
            Err(Throttled::SecondFactor)
        );
        // Another user is not concerned; the window passes.
        assert_eq!(t.second_factor_begin("bob", 1), Ok(()));
        assert_eq!(t.second_factor_begin("alice", 900), Ok(()));
    }

    #[test]
    fn a_right_code_clears_and_a_release_gives_back() {
        let t = throttle(|_| {});
        for _ in 0..2 {
            assert_eq!(t.second_factor_begin("alice", 0), Ok(()));
        }
        t.second_factor_succeeded("alice");
        for _ in 0..3 {
            assert_eq!(t.second_factor_begin("alice", 0), Ok(()));
        }
        assert_eq!(
            t.second_factor_begin("alice", 0),
            Err(Throttled::SecondFactor)
        );
        let t = throttle(|_| {});
        for _ in 0..5 {
            assert_eq!(t.second_factor_begin("alice", 0), Ok(()));
            t.second_factor_release("alice");
        }
    }
}
