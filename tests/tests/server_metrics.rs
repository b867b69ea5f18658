//! `GET /metrics` of the real login server: off by default (404); enabled,
//! its counters move with logins, failures, the throttle, tickets,
//! exchanges, backend errors and reloads, and a client that is not on
//! loopback is refused.

use tests::server::{http, pct, redirected_ticket_text, users_file, Cookies, Setup, SsoServer};
use tests::server::{MAIL, WIKI};
use tests::util::TestKeys;

const PASSWORD: &str = "alice password";

fn start(keys: &TestKeys, dir: &tempfile::TempDir, tables: &str) -> SsoServer {
    let users = users_file(dir.path(), &[("alice", PASSWORD)]);
    let mut setup = Setup::users_file(&users);
    setup.tables = tables.to_owned();
    SsoServer::start(keys, &setup)
}

fn metrics(server: &SsoServer) -> String {
    let r = server.get("/metrics", &Cookies::new());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        r.headers
    );
    r.body
}

/// The value of the sample `name` (with its labels, exactly as exposed),
/// or 0 when the series does not exist yet.
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap_or_else(|e| panic!("{name}: {v}: {e}")))
        .unwrap_or(0.0)
}

#[test]
fn metrics_are_off_by_default() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&keys, &dir, "");
    let r = server.get("/metrics", &Cookies::new());
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(!r.body.contains("sso_"), "{}", r.body);
    assert_eq!(server.get("/healthz", &Cookies::new()).status, 200);
}

#[test]
fn counters_move_with_what_the_server_does() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(
        &keys,
        &dir,
        &format!(
            "[metrics]\nenabled = true\n\n[throttle]\nmax_failures_per_user_address = 2\n\n\
             [[exchange]]\nfrom = '{}'\nto = '{}'\n",
            WIKI.replace('.', r"\."),
            MAIL.replace('.', r"\.")
        ),
    );
    let before = metrics(&server);
    let ask = format!("/?s={}", pct(WIKI));

    // A login, then a silent ticket with the session.
    let mut jar = Cookies::new();
    let r = server.login(&mut jar, &ask, "alice", PASSWORD);
    assert_eq!(r.status, 302, "{}", r.body);
    let r = server.get(&ask, &jar);
    assert_eq!(r.status, 302, "{}", r.body);
    let ticket = redirected_ticket_text(&r).expect("a ticket");
    // An exchange, and a refused one.
    let form = format!("t={}&s={}", pct(&ticket), pct(MAIL));
    assert_eq!(
        http(server.port, "POST", "/exchange", &[], Some(&form)).status,
        200
    );
    let form = format!("t={}&s={}", pct("not-a-ticket"), pct(MAIL));
    assert_eq!(
        http(server.port, "POST", "/exchange", &[], Some(&form)).status,
        401
    );
    // Two wrong passwords, then the throttle.
    for _ in 0..2 {
        let r = server.login(&mut Cookies::new(), &ask, "alice", "wrong");
        assert_eq!(r.status, 401);
    }
    let r = server.login(&mut Cookies::new(), &ask, "alice", "wrong");
    assert_eq!(r.status, 429);
    // A POST without the CSRF cookie.
    let r = server.post("/login", &Cookies::new(), &[("username", "alice")]);
    assert_eq!(r.status, 403);

    let after = metrics(&server);
    let moved = |name: &str| value(&after, name) - value(&before, name);
    assert_eq!(moved("sso_logins_total"), 1.0, "{after}");
    assert_eq!(
        moved("sso_login_failures_total{reason=\"bad_credentials\"}"),
        2.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_login_failures_total{reason=\"csrf\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_throttled_total{limit=\"user_address\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_tickets_issued_total{path=\"login\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_tickets_issued_total{path=\"silent\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_exchanges_total{result=\"issued\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("sso_exchanges_total{result=\"refused\"}"),
        1.0,
        "{after}"
    );
    // Four POSTs of the form and the one without a cookie, timed.
    assert_eq!(
        moved("sso_request_duration_seconds_count{endpoint=\"/login\"}"),
        5.0,
        "{after}"
    );
    assert!(
        value(
            &after,
            "sso_request_duration_seconds_sum{endpoint=\"/login\"}"
        ) > 0.0
    );

    // A users file that stops parsing: the backend fails, the login is 503.
    std::fs::write(dir.path().join("users"), "alice:not-a-hash:\n").unwrap();
    let r = server.login(&mut Cookies::new(), &ask, "bob", "whatever");
    assert_eq!(r.status, 503, "{}", r.body);
    let broken = metrics(&server);
    assert_eq!(
        value(&broken, "sso_backend_errors_total") - value(&after, "sso_backend_errors_total"),
        1.0,
        "{broken}"
    );

    // A refused reload counts, and the counters survive it.
    let line = server.reload();
    assert!(line.contains("event=reload-refused"), "{line}");
    let reloaded = metrics(&server);
    assert_eq!(
        value(&reloaded, "sso_reloads_total{result=\"refused\"}"),
        1.0,
        "{reloaded}"
    );
    assert_eq!(
        value(&reloaded, "sso_logins_total"),
        value(&broken, "sso_logins_total")
    );
    // No user name, address or service became a label.
    for word in ["alice", "bob", "127.0.0.1", "wiki"] {
        assert!(!reloaded.contains(word), "{word} in\n{reloaded}");
    }
}

#[test]
fn a_client_off_loopback_is_refused() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), &[("alice", PASSWORD)]);
    let mut setup = Setup::users_file(&users);
    // The server believes the proxy on 127.0.0.1 about the client.
    setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
    setup.tables = "[metrics]\nenabled = true\n".into();
    let server = SsoServer::start(&keys, &setup);
    let from = |addr: &str| {
        http(
            server.port,
            "GET",
            "/metrics",
            &[("X-Forwarded-For".into(), addr.into())],
            None,
        )
    };
    let r = from("203.0.113.9");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains("sso_"), "{}", r.body);
    assert_eq!(from("2001:db8::7").status, 403);
    assert!(server.log().contains("check=\"metrics for loopback only\""));
    // The same request from a loopback client is answered.
    let r = from("127.0.0.1");
    assert_eq!(r.status, 200, "{}", r.body);
    r.assert_body_has("sso_logins_total");
}
