//! `[throttle] store = "redis://..."`: two real `sso-server` replicas share
//! their failure counts through a real `redis-server` (started here on
//! loopback). Failures split across the replicas lock the user at the
//! limit; with Redis stopped, logins are refused with 503 (fail closed)
//! while live sessions still get their tickets on the silent path.

use tests::http::{form_urlencode, pct};
use tests::redis::RedisServer;
use tests::server::WIKI;
use tests::server::{http, redirected_ticket, throttle_setup, Cookies, SsoServer};
use tests::util::TestKeys;

const PASSWORD: &str = "alice's real password";

/// Two replicas of one site (same keys, secrets, users and Redis), behind
/// a trusted proxy so each attempt can come from its own address.
struct Site {
    _users: tempfile::TempDir,
    _keys: TestKeys,
    replicas: [SsoServer; 2],
}

impl Site {
    /// A new Redis and the site whose replicas share it, with these
    /// further `[throttle]` keys.
    fn start_with_redis(throttle: &str) -> (RedisServer, Site) {
        let redis = RedisServer::start();
        let site = Site::start(&redis, throttle);
        (redis, site)
    }

    fn start(redis: &RedisServer, throttle: &str) -> Site {
        let keys = TestKeys::new();
        let users = tempfile::tempdir().unwrap();
        let setup = throttle_setup(
            users.path(),
            PASSWORD,
            &format!("store = {:?}\n{throttle}", redis.url()),
        );
        let replicas = [
            SsoServer::start(&keys, &setup),
            SsoServer::start(&keys, &setup),
        ];
        Site {
            _users: users,
            _keys: keys,
            replicas,
        }
    }
}

/// One login attempt on `server` from `addr` with a fresh form; the
/// status (302 in, 401 wrong, 429 throttled, 503 store down) and the jar.
fn attempt(server: &SsoServer, addr: &str, user: &str, password: &str) -> (u16, Cookies) {
    let mut jar = Cookies::new();
    let form = server.get(&format!("/?s={}", pct(WIKI)), &jar);
    assert_eq!(form.status, 200, "{}", form.body);
    jar.update(&form);
    let csrf = form.form_field("csrf").unwrap_or_default();
    let s = form.form_field("s").unwrap_or_default();
    let body = form_urlencode(&[
        ("csrf", &csrf),
        ("s", &s),
        ("username", user),
        ("password", password),
    ]);
    let mut headers = jar.header();
    headers.push(("X-Forwarded-For".into(), addr.into()));
    let resp = http(server.port, "POST", "/login", &headers, Some(&body));
    jar.update(&resp);
    (resp.status, jar)
}

#[test]
fn failures_on_both_replicas_count_as_one() {
    let (_redis, site) = Site::start_with_redis("max_failures_per_user_address = 4\n");
    let [a, b] = &site.replicas;
    // Two failures on each replica from one address: four in all.
    for (i, server) in [a, b, a, b].iter().enumerate() {
        let (status, _) = attempt(server, "203.0.113.66", "alice", "a wrong guess");
        assert_eq!(status, 401, "failure #{}", i + 1);
    }
    // Either replica now refuses that pair, even with the right password;
    // in memory each would still have allowed two more guesses.
    for server in [a, b] {
        let (status, _) = attempt(server, "203.0.113.66", "alice", PASSWORD);
        assert_eq!(status, 429);
        assert!(server
            .log()
            .contains("check=\"too many failures for user from address\""));
    }
    // Alice from her own address and bob from the attacker's are not.
    assert_eq!(attempt(b, "198.51.100.7", "alice", PASSWORD).0, 302);
    assert_eq!(attempt(a, "203.0.113.66", "bob", "bob's password").0, 302);
}

#[test]
fn the_per_user_brake_is_shared_by_the_replicas() {
    let (_redis, site) =
        Site::start_with_redis("max_failures_per_user_address = 3\nmax_failures_per_user = 5\n");
    let [a, b] = &site.replicas;
    for i in 0..5 {
        let server = if i % 2 == 0 { a } else { b };
        let addr = format!("203.0.113.{}", i + 1);
        assert_eq!(attempt(server, &addr, "alice", "wrong").0, 401, "#{i}");
    }
    for server in [a, b] {
        assert_eq!(attempt(server, "198.51.100.7", "alice", PASSWORD).0, 429);
    }
    assert!(b.log().contains("check=\"too many failures for user\""));
}

#[test]
fn redis_down_refuses_logins_but_not_tickets_of_live_sessions() {
    let (mut redis, site) = Site::start_with_redis("[metrics]\nenabled = true\n");
    let [a, b] = &site.replicas;
    let (status, jar) = attempt(a, "198.51.100.7", "alice", PASSWORD);
    assert_eq!(status, 302);

    redis.stop();
    for server in [a, b] {
        let (status, _) = attempt(server, "198.51.100.7", "alice", PASSWORD);
        assert_eq!(status, 503, "{}", server.log());
        let line = server.log_line("throttle-error");
        assert!(line.contains("store=\"redis\""), "{line}");
        assert!(!line.contains(PASSWORD), "{line}");
        // The live session (its cookie works on every replica) still gets
        // tickets without a password.
        let r = server.get(&format!("/?s={}", pct(WIKI)), &jar);
        let t = redirected_ticket(&r).unwrap_or_else(|| panic!("{} {}", r.status, r.body));
        assert_eq!(t.user, "alice");
    }

    let metrics = a.get("/metrics", &Cookies::new()).body;
    assert!(
        metrics.contains("sso_login_failures_total{reason=\"throttle_unavailable\"} 1"),
        "{metrics}"
    );

    // Redis back on its port: the replicas reconnect by themselves.
    redis.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = attempt(b, "198.51.100.7", "bob", "bob's password").0;
        if status == 302 {
            break;
        }
        assert_eq!(status, 503);
        assert!(std::time::Instant::now() < deadline, "no reconnect");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_reload_that_names_redis_moves_the_counts_there() {
    let mut redis = RedisServer::start();
    let keys = TestKeys::new();
    let users = tempfile::tempdir().unwrap();
    let mut setup = throttle_setup(
        users.path(),
        PASSWORD,
        "max_failures_per_user_address = 2\n",
    );
    let mut server = SsoServer::start(&keys, &setup);
    assert_eq!(attempt(&server, "203.0.113.9", "alice", "x").0, 401);

    setup.tables = format!(
        "[throttle]\nmax_failures_per_user_address = 2\nstore = {:?}\n",
        redis.url()
    );
    server.write_config(&setup.config_text(&keys, server.port));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    // A fresh store: the failure counted in memory is not in Redis.
    assert_eq!(attempt(&server, "203.0.113.9", "alice", "x").0, 401);
    assert_eq!(attempt(&server, "203.0.113.9", "alice", "x").0, 401);
    assert_eq!(attempt(&server, "203.0.113.9", "alice", PASSWORD).0, 429);
    // And it is the store in use: without Redis, logins are refused.
    redis.stop();
    assert_eq!(attempt(&server, "198.51.100.7", "alice", PASSWORD).0, 503);
}

/// The keys this site's Redis holds now (`redis-cli --scan`).
fn redis_keys(redis: &RedisServer) -> Vec<String> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "--scan"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn ipv6_counts_per_64_and_48_and_junk_names_get_no_key() {
    let (redis, site) =
        Site::start_with_redis("max_failures_per_address = 3\nmax_failures_per_ipv6_48 = 6\n");
    let [a, b] = &site.replicas;
    for i in 1..=6u32 {
        let server = if i % 2 == 0 { a } else { b };
        let addr = format!("2001:db8:7:{i:x}::1");
        assert_eq!(attempt(server, &addr, &format!("junk|{i}"), "x").0, 401);
    }
    // A fresh /64 of the same /48 is refused on either replica.
    assert_eq!(attempt(a, "2001:db8:7:ff::1", "alice", PASSWORD).0, 429);
    assert!(a.log().contains("check=\"too many failures from network\""));
    assert_eq!(attempt(b, "2001:db8:8::1", "alice", PASSWORD).0, 302);
    // Three from one /64 (any address in it) reach the address limit.
    for host in ["1", "2"] {
        assert_eq!(
            attempt(a, &format!("2001:db9:1:1::{host}"), "bob", "x").0,
            401
        );
    }
    assert_eq!(attempt(b, "2001:db9:1:1::3", "bob", "x").0, 401);
    assert_eq!(attempt(a, "2001:db9:1:1::4", "alice", PASSWORD).0, 429);
    let keys = redis_keys(&redis);
    assert!(!keys.iter().any(|k| k.contains("junk")), "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with("sso-throttle:v1:")),
        "{keys:?}"
    );
}
