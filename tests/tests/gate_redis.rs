//! Two sso-gate replicas sharing their ticket bindings in a real Redis
//! (`binding_store = "redis://..."`): a login bound at one is a replay at
//! the other, a logout at one revokes at the other, and with Redis down
//! both fail closed (a re-login for a cookie, 503 for a login). One
//! fixture for the binary: the steps run in order in one test.

use tests::gate::{Echo, Gate};
use tests::redis::RedisServer;
use tests::server::{http, Cookies, HttpResponse, DOMAIN};
use tests::util::TestKeys;

/// Both replicas protect this one service.
const SERVICE: &str = "app.test.example.org/app/";

fn config(keys: &TestKeys, redis: &str, echo: u16) -> String {
    format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"https://login.example.org/\"\n\
         domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\nbinding_store = \"{redis}\"\n\
         [[route]]\nservice = \"{SERVICE}\"\nupstream = \"http://127.0.0.1:{echo}\"\n",
        keys.public_path
    )
}

/// A browser ticket for a fresh nonce secret, as the login server mints it.
fn browser_ticket(keys: &TestKeys, secret: &str) -> String {
    let nonce = sso_core::web::nonce_commitment(secret);
    keys.ticket("alice", SERVICE, DOMAIN, 300, Some(&nonce), &[])
}

fn sso_login(gate: &Gate, ticket: &str, secret: &str) -> HttpResponse {
    http(
        gate.port,
        "GET",
        &format!("/app/sso_login?t={ticket}"),
        &[("Cookie".into(), format!("SSO_nonce={secret}"))],
        None,
    )
}

#[test]
fn replicas_share_bindings_in_redis() {
    let keys = TestKeys::new();
    let mut redis = RedisServer::start();
    let echo = Echo::start();
    let text = config(&keys, &redis.url(), echo.port);
    let a = Gate::start(&text);
    let b = Gate::start(&text);

    // Bound at A: the page works at both, and the same login is a replay at B.
    let ticket = browser_ticket(&keys, "secret-one");
    let done = sso_login(&a, &ticket, "secret-one");
    assert_eq!(done.status, 302, "{done:?}\n{}", a.log());
    let mut jar = Cookies::new();
    jar.update(&done);
    for g in [&a, &b] {
        let r = http(g.port, "GET", "/app/page", &jar.header(), None);
        assert_eq!(r.status, 200, "{r:?}\n{}", g.log());
    }
    let replay = sso_login(&b, &ticket, "secret-one");
    assert_eq!(replay.status, 302, "{replay:?}");
    assert!(
        replay
            .location()
            .unwrap_or_default()
            .contains("error=replayed"),
        "bound at A, so a replay at B: {replay:?}"
    );

    // A logout at B revokes at A.
    let out = http(b.port, "GET", "/app/sso_logout", &jar.header(), None);
    assert_eq!(out.status, 200, "{out:?}");
    let r = http(a.port, "GET", "/app/page", &jar.header(), None);
    assert_eq!(r.status, 302, "revoked at B, refused at A: {r:?}");

    // Redis down: both fail closed.
    let ticket = browser_ticket(&keys, "secret-two");
    let done = sso_login(&a, &ticket, "secret-two");
    assert_eq!(done.status, 302, "{done:?}");
    let mut jar = Cookies::new();
    jar.update(&done);
    redis.stop();
    let r = http(b.port, "GET", "/app/page", &jar.header(), None);
    assert_eq!(r.status, 302, "a re-login, never open: {r:?}");
    let fresh = browser_ticket(&keys, "secret-three");
    let refused = sso_login(&a, &fresh, "secret-three");
    assert!(
        refused
            .location()
            .unwrap_or_default()
            .contains("error=binding%20store"),
        "{refused:?}"
    );
    let page = http(
        a.port,
        "GET",
        "/app/sso_login?error=binding%20store",
        &[],
        None,
    );
    assert_eq!(page.status, 503, "{page:?}");
    assert!(a.log().contains("binding store"), "{}", a.log());
    // Back up: the cookie works again.
    redis.restart();
    let r = http(b.port, "GET", "/app/page", &jar.header(), None);
    assert_eq!(r.status, 200, "{r:?}\n{}", b.log());
}
