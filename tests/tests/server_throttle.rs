//! The failed-login throttle of the real `sso-server`, with clients at many
//! addresses (the server trusts 127.0.0.1 as a proxy and reads
//! `X-Forwarded-For`): the lock-out per (user, address), the global brake
//! per user, and a flood of junk that must not reset a locked counter.

use tests::server::{http, throttle_setup, Cookies, SsoServer};
use tests::util::TestKeys;

const PASSWORD: &str = "alice's real password";

/// A server with alice and bob, behind a trusted proxy, with these
/// `[throttle]` settings; and one loaded login form whose CSRF pair every
/// attempt reuses (the pair is bound to the browser, not to an address).
struct Target {
    _users: tempfile::TempDir,
    server: SsoServer,
    jar: Cookies,
    fields: Vec<(String, String)>,
}

impl Target {
    fn start(throttle: &str) -> Target {
        let keys = TestKeys::new();
        let users = tempfile::tempdir().unwrap();
        let setup = throttle_setup(users.path(), PASSWORD, throttle);
        let server = SsoServer::start(&keys, &setup);
        let (jar, fields) = server.login_form("/?s=wiki.test.example.org%2F");
        Target {
            _users: users,
            server,
            jar,
            fields,
        }
    }

    /// One login attempt from `addr`; the status (302 in, 401 wrong, 429
    /// throttled).
    fn attempt(&self, addr: &str, user: &str, password: &str) -> u16 {
        let mut form: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("username", user));
        form.push(("password", password));
        let mut headers = self.jar.header();
        headers.push(("X-Forwarded-For".into(), addr.into()));
        let body = tests::http::form_urlencode(&form);
        http(self.server.port, "POST", "/login", &headers, Some(&body)).status
    }

    /// Asserts the log has a refusal line with `check="CHECK"`.
    fn assert_logged_check(&self, check: &str) {
        let log = self.server.log();
        assert!(log.contains(&format!("check=\"{check}\"")), "{log}");
    }

    fn fail_times(&self, n: usize, addr: &str, user: &str) {
        for i in 0..n {
            assert_eq!(
                self.attempt(addr, user, "a wrong guess"),
                401,
                "failure #{} for {user} from {addr}",
                i + 1
            );
        }
    }
}

#[test]
fn a_stranger_does_not_lock_alice_out_of_her_own_address() {
    let t = Target::start("max_failures_per_user_address = 5\n");
    t.fail_times(5, "203.0.113.66", "alice");
    // The stranger is locked out, even with the right password.
    assert_eq!(t.attempt("203.0.113.66", "alice", PASSWORD), 429);
    // Alice, from her usual address, is not.
    assert_eq!(t.attempt("198.51.100.7", "alice", PASSWORD), 302);
    t.assert_logged_check("too many failures for user from address");
}

#[test]
fn the_per_user_brake_holds_across_addresses() {
    let t = Target::start("max_failures_per_user_address = 5\nmax_failures_per_user = 8\n");
    t.fail_times(5, "203.0.113.1", "alice");
    t.fail_times(3, "203.0.113.2", "alice");
    // Eight failures from anywhere: alice is braked everywhere, even from
    // an address that never failed and with the right password.
    assert_eq!(t.attempt("198.51.100.7", "alice", PASSWORD), 429);
    t.assert_logged_check("too many failures for user");
    // Other users are not.
    assert_eq!(t.attempt("198.51.100.7", "bob", "bob's password"), 302);
}

#[test]
fn a_flood_of_junk_from_one_48_does_not_reset_a_locked_counter() {
    // Tables of 16 entries; the /48 limit out of the way so the flood runs.
    let t = Target::start(
        "max_failures_per_user_address = 5\nmax_tracked = 16\n\
         max_failures_per_ipv6_48 = 100000\n",
    );
    let attacker = "2001:db8:5::1";
    t.fail_times(5, attacker, "alice");
    assert_eq!(t.attempt(attacker, "alice", PASSWORD), 429);
    // Junk from the attacker's /48: names that could log in, each locked
    // from its own /64 like alice (entries at their limit that fill the
    // user and pair tables), and names that never could (no user entry).
    for i in 1..=24u32 {
        let addr = format!("2001:db8:5:{i:x}::1");
        for _ in 0..5 {
            let status = t.attempt(&addr, &format!("u{i}"), "x");
            // 429 once the pair table holds only locked entries.
            assert!(status == 401 || status == 429, "{status}");
        }
        assert_eq!(t.attempt(&addr, &format!("junk|{i}"), "x"), 401);
    }
    // Alice's counter from the attacker's address survived the flood.
    assert_eq!(t.attempt(attacker, "alice", PASSWORD), 429);
}

#[test]
fn one_48_is_limited_as_a_whole() {
    let t = Target::start("max_failures_per_address = 3\nmax_failures_per_ipv6_48 = 6\n");
    for i in 1..=6u32 {
        assert_eq!(t.attempt(&format!("2001:db8:7:{i:x}::1"), "bob", "x"), 401);
    }
    // A fresh /64 of the same /48 is refused; another /48 is not.
    assert_eq!(t.attempt("2001:db8:7:ff::1", "alice", PASSWORD), 429);
    assert_eq!(t.attempt("2001:db8:8::1", "alice", PASSWORD), 302);
    t.assert_logged_check("too many failures from network");
}
