//! The login server over HTTP, started as a real process with a users file:
//! every endpoint and every refusal.

use sso_core::{Check, KeySet, PublicKey, Ticket, Verifier};
use tests::server::{
    add_user, pct, query_params, Cookies, HttpResponse, Setup, SsoServer, DOMAIN, SECRET,
};
use tests::server::{MAIL, WIKI};
use tests::util::TestKeys;

const PASSWORD: &str = "correct horse battery staple";

struct World {
    keys: TestKeys,
    users: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let keys = TestKeys::new();
        let (users, path) = tests::util::temp_path("users");
        add_user(&path, "alice", PASSWORD, &["staff", "dev"]);
        add_user(&path, "bob", "bobs password", &[]);
        World { keys, users }
    }

    fn setup(&self) -> Setup {
        Setup::users_file(&self.users.path().join("users"))
    }

    fn start(&self) -> SsoServer {
        SsoServer::start(&self.keys, &self.setup())
    }

    /// A server with these further tables (`[throttle]`, `[[exchange]]`...).
    fn start_with_tables(&self, tables: &str) -> SsoServer {
        let mut setup = self.setup();
        setup.tables = tables.into();
        SsoServer::start(&self.keys, &setup)
    }

    fn verify(&self, ticket: &str, service: &str, nonce: Option<&str>) -> Ticket {
        let pk = PublicKey::from_file(&self.keys.public_path).unwrap();
        let v = Verifier::new(KeySet::new(&[pk]).unwrap(), service, DOMAIN).unwrap();
        v.verify(
            ticket,
            &Check {
                now: sso_core::unix_now(),
                nonce,
                groups: &[],
            },
        )
        .unwrap_or_else(|e| panic!("ticket does not verify: {e}"))
    }
}

/// A server with these `[throttle]` keys (its world kept alive beside it)
/// and the login path that asks for the wiki.
fn throttled(keys: &str) -> (World, SsoServer, String) {
    let w = World::new();
    let s = w.start_with_tables(&format!("[throttle]\n{keys}"));
    (w, s, ask(WIKI, "https://wiki.test.example.org/", "", ""))
}

fn ask(service: &str, dest: &str, nonce: &str, groups: &str) -> String {
    let mut q = format!("/?s={}&d={}", pct(service), pct(dest));
    if !nonce.is_empty() {
        q.push_str(&format!("&n={}", pct(nonce)));
    }
    if !groups.is_empty() {
        q.push_str(&format!("&g={}", pct(groups)));
    }
    q
}

/// alice's login for the wiki (no nonce, no groups asked).
fn alice_at_wiki(server: &SsoServer, jar: &mut Cookies) -> HttpResponse {
    server.login(
        jar,
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        "alice",
        PASSWORD,
    )
}

/// The ticket and destination of a redirect to `https://SERVICE/sso_login`.
fn redirect_ticket(resp: &HttpResponse, service: &str) -> (String, String) {
    assert_eq!(resp.status, 302, "redirect expected, got: {}", resp.body);
    let loc = resp.header("location").expect("Location");
    let prefix = format!("https://{service}sso_login?");
    assert!(loc.starts_with(&prefix), "{loc}");
    let params = query_params(loc);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} missing in {loc}"))
    };
    (get("t"), get("d"))
}

#[test]
fn healthz_answers_ok() {
    let w = World::new();
    let s = w.start();
    let r = s.get("/healthz", &Cookies::new());
    assert_eq!(r.status, 200);
    assert_eq!(r.body.trim(), "ok");
}

#[test]
fn login_issues_a_ticket_and_the_session_issues_the_next_silently() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    let dest = "https://wiki.test.example.org/page?a=1&b=2";
    let r = s.login(
        &mut jar,
        &ask(WIKI, dest, "nonce123", ""),
        "alice",
        PASSWORD,
    );
    let (t, d) = redirect_ticket(&r, WIKI);
    assert_eq!(d, dest);
    let ticket = w.verify(&t, WIKI, Some("nonce123"));
    assert_eq!(ticket.user, "alice");
    assert!(ticket.groups.is_empty(), "no g, no groups");
    assert!(ticket.expires > sso_core::unix_now());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let cookie = r
        .set_cookie_line("__Host-sso_session")
        .expect("session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }

    // A second service: no form, straight to a ticket.
    let r = s.get(&ask(MAIL, "https://mail.test.example.org/", "n2", ""), &jar);
    let (t, _) = redirect_ticket(&r, MAIL);
    assert_eq!(w.verify(&t, MAIL, Some("n2")).user, "alice");
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // Without d the ticket returns to the service root.
    let r = s.get(&format!("/?s={}", pct(WIKI)), &jar);
    let (_, d) = redirect_ticket(&r, WIKI);
    assert_eq!(d, format!("https://{WIKI}"));
}

#[test]
fn pages_carry_the_security_headers() {
    let w = World::new();
    let s = w.start();
    let r = s.get(
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        &Cookies::new(),
    );
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(!r.body.contains("<script"), "no script anywhere");
    let csrf = r.set_cookie_line("__Host-sso_csrf").expect("csrf cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("Secure"),
        "{csrf}"
    );
}

#[test]
fn csrf_missing_or_wrong_is_refused() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    let form = s.get(&ask(WIKI, "https://wiki.test.example.org/", "", ""), &jar);
    jar.update(&form);
    let token = form.form_field("csrf").unwrap();
    let fields = |csrf: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("s".into(), WIKI.into()),
            ("username".into(), "alice".into()),
            ("password".into(), PASSWORD.into()),
        ]
    };
    let post = |jar: &Cookies, csrf: &str| {
        let f = fields(csrf);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        s.post("/login", jar, &pairs)
    };
    // No token at all.
    let r = post(&jar, "");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(r.set_cookie_line("__Host-sso_session").is_none());
    // A wrong token.
    let r = post(&jar, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(r.status, 403);
    // The right token but no cookie (another browser's form).
    let r = post(&Cookies::new(), &token);
    assert_eq!(r.status, 403);
    // The token of another cookie.
    let mut other = jar.clone();
    other.set("__Host-sso_csrf", "someothercookievalue");
    let r = post(&other, &token);
    assert_eq!(r.status, 403);
    // And the real pair works.
    let r = post(&jar, &token);
    redirect_ticket(&r, WIKI);
    assert!(s.log().contains("check=\"csrf\""));
}

#[test]
fn wrong_user_and_wrong_password_get_the_same_answer() {
    let w = World::new();
    let s = w.start();
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    let r1 = s.login(&mut Cookies::new(), &path, "alice", "wrong password");
    let r2 = s.login(&mut Cookies::new(), &path, "nosuchuser", "wrong password");
    assert_eq!(r1.status, 401);
    assert_eq!(r2.status, 401);
    let norm = |r: &HttpResponse, user: &str| {
        // Differences allowed: the echoed user name and the CSRF token.
        let token = r.form_field("csrf").unwrap_or_default();
        r.body.replace(user, "U").replace(&token, "T")
    };
    assert_eq!(norm(&r1, "alice"), norm(&r2, "nosuchuser"));
    assert!(r1.body.contains("Wrong user name or password."));
    assert!(r1.header("location").is_none() && r2.header("location").is_none());
}

#[test]
fn throttling_per_user_and_address_kicks_in() {
    let (_w, s, path) =
        throttled("max_failures_per_user_address = 3\nmax_failures_per_address = 100\n");
    for _ in 0..3 {
        let r = s.login(&mut Cookies::new(), &path, "alice", "guess");
        assert_eq!(r.status, 401);
    }
    // Even the right password is refused now, before it is checked.
    let r = s.login(&mut Cookies::new(), &path, "alice", PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("Too many failed logins"));
    // Another user from the same address is not affected.
    let r = s.login(&mut Cookies::new(), &path, "bob", "bobs password");
    redirect_ticket(&r, WIKI);
    assert!(s.log().contains("event=throttled"));
}

#[test]
fn throttling_per_address_kicks_in() {
    let (_w, s, path) = throttled("max_failures_per_user = 100\nmax_failures_per_address = 3\n");
    for user in ["u1", "u2", "u3"] {
        assert_eq!(s.login(&mut Cookies::new(), &path, user, "x").status, 401);
    }
    let r = s.login(&mut Cookies::new(), &path, "alice", PASSWORD);
    assert_eq!(r.status, 429);
}

#[test]
fn disallowed_service_is_refused_with_or_without_session() {
    let w = World::new();
    let s = w.start();
    let evil = "evil.example.com/";
    let r = s.get(
        &ask(evil, "https://evil.example.com/", "", ""),
        &Cookies::new(),
    );
    assert_eq!(r.status, 403);
    assert!(
        !r.body.contains("name=\"password\""),
        "no form for a refused service"
    );
    // Patterns match whole names: an allowed name inside another is refused.
    let r = s.get(
        &format!("/?s={}", pct("evil.com/wiki.test.example.org/")),
        &Cookies::new(),
    );
    assert_eq!(r.status, 403);
    // With a session: still no ticket.
    let mut jar = Cookies::new();
    alice_at_wiki(&s, &mut jar);
    let r = s.get(&ask(evil, "https://evil.example.com/", "", ""), &jar);
    assert_eq!(r.status, 403);
    assert!(r.header("location").is_none());
    assert!(s.log().contains("service not allowed"));
}

#[test]
fn missing_or_malformed_parameters_are_refused() {
    let w = World::new();
    let s = w.start();
    let jar = Cookies::new();
    for (path, what) in [
        ("/".to_string(), "no service"),
        ("/?s=".to_string(), "empty service"),
        (
            format!("/?s={}", pct("wiki.test.example.org")),
            "no trailing slash",
        ),
        (
            format!("/?s={}", pct("user@wiki.test.example.org/")),
            "userinfo",
        ),
        (
            format!("/?s={}&d={}", pct(WIKI), pct("javascript:alert(1)")),
            "non-http destination",
        ),
        (
            format!("/?s={}&n={}", pct(WIKI), pct("a|b")),
            "nonce with |",
        ),
        (
            format!("/?s={}&g={}", pct(WIKI), pct("a,,b")),
            "empty group",
        ),
        (format!("/?s={}&s={}", pct(WIKI), pct(MAIL)), "duplicate s"),
    ] {
        let r = s.get(&path, &jar);
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.body.contains("Bad request"), "{what}");
        assert!(r.header("location").is_none(), "{what}");
    }
}

#[test]
fn group_check_refuses_and_tickets_carry_requested_groups() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    // alice is in staff and dev, not admins.
    let r = s.login(
        &mut jar,
        &ask(WIKI, "https://wiki.test.example.org/", "", "admins"),
        "alice",
        PASSWORD,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(r.body.contains("not in any of the groups"));
    // The login itself succeeded: the session works for other requests.
    let r = s.get(
        &ask(WIKI, "https://wiki.test.example.org/", "", "admins,staff"),
        &jar,
    );
    let (t, _) = redirect_ticket(&r, WIKI);
    assert_eq!(w.verify(&t, WIKI, None).groups, vec!["staff".to_string()]);
    let r = s.get(
        &ask(WIKI, "https://wiki.test.example.org/", "", "admins"),
        &jar,
    );
    assert_eq!(r.status, 403);
    assert!(s.log().contains("not in groups"));
}

/// Logs out as the button does: `GET /logout` shows the confirmation form,
/// whose token is then POSTed.
fn logout(s: &SsoServer, jar: &mut Cookies) -> HttpResponse {
    let confirm = s.get("/logout", jar);
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    jar.update(&confirm);
    let token = confirm.form_field("csrf").expect("the confirmation form");
    let r = s.post("/logout", jar, &[("csrf", &token)]);
    jar.update(&r);
    r
}

mod hardening;
mod sessions;
