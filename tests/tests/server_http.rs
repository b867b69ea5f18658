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
    let w = World::new();
    let s = w.start_with_tables(
        "[throttle]\nmax_failures_per_user_address = 3\nmax_failures_per_address = 100\n",
    );
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
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
    let w = World::new();
    let s = w.start_with_tables(
        "[throttle]\nmax_failures_per_user = 100\nmax_failures_per_address = 3\n",
    );
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
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

const WEBMAIL: &str = "webmail.test.example.org/";
const IMAP: &str = "imap.test.example.org/";

/// A server whose one `[[exchange]]` rule lets webmail tickets buy imap ones.
fn exchange_server(w: &World) -> SsoServer {
    let mut setup = w.setup();
    setup.tables = r#"
[[exchange]]
from = 'webmail\.test\.example\.org/'
to = 'imap\.test\.example\.org/'
"#
    .into();
    SsoServer::start(&w.keys, &setup)
}

#[test]
fn exchange_follows_the_rules() {
    let w = World::new();
    let s = exchange_server(&w);
    let (webmail, imap) = (WEBMAIL, IMAP);
    let exchange = |t: &str, to: &str| s.post("/exchange", &Cookies::new(), &[("t", t), ("s", to)]);
    let good = w
        .keys
        .ticket("alice", webmail, DOMAIN, 600, None, &["staff"]);
    let r = exchange(&good, imap);
    assert_eq!(r.status, 200, "{}", r.body);
    let out = w.verify(r.body.trim(), imap, None);
    assert_eq!(out.user, "alice");
    assert!(out.groups.is_empty());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let input_expiry = sso_core::decode_unverified(&good).unwrap().expires;
    assert!(
        out.expires <= input_expiry,
        "exchange never extends a ticket"
    );

    // The reverse pair has no rule.
    let back = w.keys.ticket("alice", imap, DOMAIN, 600, None, &[]);
    assert_eq!(exchange(&back, webmail).status, 403);
    // A pair with no rule whose target is allowed.
    assert_eq!(exchange(&good, WIKI).status, 403);
    // Wrong domain, expired, foreign key, garbage.
    let wrong_domain = w.keys.ticket("alice", webmail, "other.org", 600, None, &[]);
    let r = exchange(&wrong_domain, imap);
    assert_eq!(r.status, 401);
    assert_eq!(r.body.trim(), "wrong domain");
    let expired = w.keys.ticket("alice", webmail, DOMAIN, -100, None, &[]);
    assert_eq!(exchange(&expired, imap).body.trim(), "expired");
    let foreign = TestKeys::new().ticket("alice", webmail, DOMAIN, 600, None, &[]);
    let r = exchange(&foreign, imap);
    assert_eq!(r.status, 401);
    assert_eq!(r.body.trim(), "bad signature");
    assert_eq!(exchange("garbage!", imap).status, 401);
    assert_eq!(exchange("", imap).status, 400);
    // Groups: carried only when asked for, refused when absent.
    let r = s.post(
        "/exchange",
        &Cookies::new(),
        &[("t", &good), ("s", imap), ("g", "staff,other")],
    );
    assert_eq!(
        w.verify(r.body.trim(), imap, None).groups,
        vec!["staff".to_string()]
    );
    let r = s.post(
        "/exchange",
        &Cookies::new(),
        &[("t", &good), ("s", imap), ("g", "admins")],
    );
    assert_eq!(r.status, 403);
    // A ticket of someone the backend does not know (deleted since, or
    // never there) buys nothing: the account is asked about again.
    let stranger = w.keys.ticket("mallory", webmail, DOMAIN, 600, None, &[]);
    let r = exchange(&stranger, imap);
    assert_eq!(r.status, 403);
    assert_eq!(r.body.trim(), "account gone");
    let log = s.log();
    assert!(log.contains("event=exchange "), "{log}");
    assert!(!log.contains(&good), "a ticket in the log");
}

/// A browser ticket (one with a nonce) copied from an `sso_login` URL is
/// no bearer token at `/exchange`: it buys nothing without `p`, the secret
/// whose commitment is its nonce, not even with an `n` of the caller's
/// choosing; the service that holds the secret (mod_sso's
/// `SSO_TICKET_PROOF`) still exchanges it.
#[test]
fn a_leaked_browser_ticket_buys_nothing_at_exchange() {
    let w = World::new();
    let s = exchange_server(&w);
    let (webmail, imap) = (WEBMAIL, IMAP);
    let secret = sso_core::web::new_nonce();
    let nonce = sso_core::web::nonce_commitment(&secret);
    let leaked = w
        .keys
        .ticket("alice", webmail, DOMAIN, 600, Some(&nonce), &["staff"]);
    let post = |extra: &[(&str, &str)]| {
        let mut form = vec![("t", leaked.as_str()), ("s", imap)];
        form.extend_from_slice(extra);
        s.post("/exchange", &Cookies::new(), &form)
    };
    for attempt in [
        vec![],
        vec![("n", "attackers-own-nonce")],
        vec![("p", nonce.as_str())],
        vec![("p", "00112233445566778899aabbccddeeff")],
    ] {
        let r = post(&attempt);
        assert_eq!(r.status, 401, "{attempt:?}: {}", r.body);
        assert_eq!(r.body.trim(), "nonce proof", "{attempt:?}");
    }
    let r = post(&[("p", &secret)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(w.verify(r.body.trim(), imap, None).user, "alice");
    let log = s.log();
    assert!(log.contains("check=\"nonce proof\""), "{log}");
    assert!(!log.contains(&leaked) && !log.contains(&secret), "{log}");
}

#[test]
fn a_session_from_instance_a_is_accepted_by_instance_b() {
    let w = World::new();
    let a = w.start();
    let b = w.start();
    let mut jar = Cookies::new();
    let r = alice_at_wiki(&a, &mut jar);
    redirect_ticket(&r, WIKI);
    let r = b.get(&ask(MAIL, "https://mail.test.example.org/", "n", ""), &jar);
    let (t, _) = redirect_ticket(&r, MAIL);
    assert_eq!(w.verify(&t, MAIL, Some("n")).user, "alice");

    // Rotation: a new first secret, the old one still opens.
    let mut rotated = w.setup();
    rotated.session_secrets = vec![
        "bhPOrdWmSwXsNcvZ5+ovrZ+q1orTd5LdbuksB35vAAo=".into(),
        SECRET.into(),
    ];
    let c = SsoServer::start(&w.keys, &rotated);
    redirect_ticket(
        &c.get(&ask(WIKI, "https://wiki.test.example.org/", "", ""), &jar),
        WIKI,
    );

    // A server with other secrets does not accept the cookie: it shows the form.
    let mut other = w.setup();
    other.session_secrets = vec!["oADBrdCTwOJB13WkrYuVVpABvfJq2vigpFIXerhY8C0=".into()];
    let d = SsoServer::start(&w.keys, &other);
    let r = d.get(&ask(WIKI, "https://wiki.test.example.org/", "", ""), &jar);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("name=\"password\""));
}

#[test]
fn logout_lists_the_services_and_ends_the_session() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    alice_at_wiki(&s, &mut jar);
    let r = s.get(&ask(MAIL, "https://mail.test.example.org/", "", ""), &jar);
    jar.update(&r);
    let r = logout(&s, &mut jar);
    assert_eq!(r.status, 200);
    r.assert_body_has("src=\"https://wiki.test.example.org/sso_logout\"");
    r.assert_body_has("src=\"https://mail.test.example.org/sso_logout\"");
    assert!(!r.body.contains("<script"));
    let clear = r
        .set_cookie_line("__Host-sso_session")
        .expect("cookie cleared");
    assert!(clear.contains("Max-Age=0"), "{clear}");
    jar.update(&r);
    assert!(jar.get("__Host-sso_session").is_none());
    let r = s.get(&ask(WIKI, "https://wiki.test.example.org/", "", ""), &jar);
    assert_eq!(r.status, 200, "the form again after logout");
    assert!(r.body.contains("name=\"password\""));
    assert!(s.log().contains("event=logout user=\"alice\""));
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

#[test]
fn a_cross_site_logout_only_asks_for_confirmation() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    let wiki = ask(WIKI, "https://wiki.test.example.org/", "", "");
    redirect_ticket(&s.login(&mut jar, &wiki, "alice", PASSWORD), WIKI);
    let still_logged_in = |jar: &Cookies| {
        redirect_ticket(&s.get(&wiki, jar), WIKI);
    };
    // A link or an <img> on another site: a GET with the browser's cookies.
    let r = s.get("/logout", &jar);
    assert_eq!(r.status, 200);
    r.assert_body_has("Log out?");
    assert!(r.body.contains("method=\"post\" action=\"/logout\""));
    assert!(!r.body.contains("sso_logout"), "nothing logged out yet");
    assert!(r.set_cookie_line("__Host-sso_session").is_none());
    still_logged_in(&jar);
    // A form on another site: a POST with the cookies but no valid token.
    for form in [vec![], vec![("csrf", "forged")]] {
        let r = s.post("/logout", &jar, &form);
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("Log out?"));
        assert!(r.set_cookie_line("__Host-sso_session").is_none());
        still_logged_in(&jar);
    }
    assert!(s.log().contains("check=\"logout csrf\""), "{}", s.log());
    // The token of one browser does not log out another.
    let mut other = Cookies::new();
    redirect_ticket(&s.login(&mut other, &wiki, "bob", "bobs password"), WIKI);
    let token = s.get("/logout", &jar).form_field("csrf").unwrap();
    let r = s.post("/logout", &other, &[("csrf", &token)]);
    assert_eq!(r.status, 403);
    still_logged_in(&jar);
    // The confirmation button logs out.
    let r = logout(&s, &mut jar);
    assert!(r
        .body
        .contains("src=\"https://wiki.test.example.org/sso_logout\""));
    assert_eq!(s.get(&wiki, &jar).status, 200, "the form again");
}

#[test]
fn a_hostile_destination_is_escaped_and_encoded() {
    let w = World::new();
    let s = w.start();
    let hostile = "https://wiki.test.example.org/\"><script>alert(1)</script>";
    let mut jar = Cookies::new();
    let r = s.get(&ask(WIKI, hostile, "", ""), &jar);
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<script>alert(1)"), "{}", r.body);
    assert!(r
        .body
        .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    let r = s.login(&mut jar, &ask(WIKI, hostile, "", ""), "alice", PASSWORD);
    let loc = r.header("location").unwrap();
    assert!(!loc.contains('<') && !loc.contains('"'), "{loc}");
    let (_, d) = redirect_ticket(&r, WIKI);
    assert_eq!(d, hostile);
    // A hostile user name is escaped in the form too.
    let r = s.login(
        &mut Cookies::new(),
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        "<img src=x>",
        "x",
    );
    assert_eq!(r.status, 401);
    assert!(!r.body.contains("<img src=x>"));
}

#[test]
fn log_lines_name_user_service_address_and_never_secrets() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    let r = alice_at_wiki(&s, &mut jar);
    let (t, _) = redirect_ticket(&r, WIKI);
    s.login(
        &mut Cookies::new(),
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        "alice",
        "a wrong password",
    );
    let session = jar.get("__Host-sso_session").unwrap().to_owned();
    logout(&s, &mut jar);
    let log = s.log();
    for needle in [
        "event=login user=\"alice\" service=\"wiki.test.example.org/\"",
        "event=ticket user=\"alice\" service=\"wiki.test.example.org/\" addr=\"127.0.0.1\"",
        "event=login-failed user=\"alice\"",
        "event=logout user=\"alice\"",
        &sso_core::ticket_fingerprint(&t),
    ] {
        assert!(log.contains(needle), "{needle:?} not in:\n{log}");
    }
    for secret in [
        PASSWORD,
        "a wrong password",
        t.as_str(),
        SECRET,
        session.as_str(),
    ] {
        assert!(!log.contains(secret), "secret in the log");
    }
}

#[test]
fn trusted_proxy_addresses_are_used_only_from_trusted_peers() {
    let w = World::new();
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    let xff = vec![("X-Forwarded-For".to_string(), "203.0.113.7".to_string())];
    // Untrusted peer: the header is ignored.
    let s = w.start();
    tests::server::http(s.port, "GET", &format!("{path}&s=x"), &xff, None);
    assert!(s.log().contains("addr=\"127.0.0.1\""));
    assert!(!s.log().contains("203.0.113.7"));
    // Trusted peer: the forwarded address is the client.
    let mut setup = w.setup();
    setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
    let s = SsoServer::start(&w.keys, &setup);
    tests::server::http(s.port, "GET", &format!("{path}&s=x"), &xff, None);
    assert!(s.log().contains("addr=\"203.0.113.7\""), "{}", s.log());
}

#[test]
fn forwarded_junk_never_makes_a_client_look_like_the_proxy() {
    let w = World::new();
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    let mut setup = w.setup();
    setup.top_level = "trusted_proxies = [\"127.0.0.1\", \"192.0.2.1\"]\n".into();
    let s = SsoServer::start(&w.keys, &setup);
    let get = |xff: &str| {
        let h = vec![("X-Forwarded-For".to_string(), xff.to_string())];
        tests::server::http(s.port, "GET", &format!("{path}&s=x"), &h, None);
        s.log().lines().last().unwrap_or_default().to_owned()
    };
    // What the client wrote is left of what the proxies appended: only the
    // right end counts, and junk stops the walk at the last trusted hop.
    assert!(get("junk, 203.0.113.7").contains("addr=\"203.0.113.7\""));
    assert!(get("198.51.100.9, 203.0.113.8, 192.0.2.1").contains("addr=\"203.0.113.8\""));
    assert!(get("203.0.113.9, junk").contains("addr=\"127.0.0.1\""));
    assert!(get("junk, 192.0.2.1").contains("addr=\"192.0.2.1\""));
}

#[test]
fn concurrent_guesses_cannot_pass_the_throttle_together() {
    let w = World::new();
    let s = w.start_with_tables(
        "[throttle]\nmax_failures_per_user_address = 3\nmax_failures_per_address = 1000\n",
    );
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    // Load every form first, then send all the guesses at once.
    let forms: Vec<(Cookies, Vec<(&str, String)>)> = (0..12)
        .map(|_| {
            let mut jar = Cookies::new();
            let form = s.get(&path, &jar);
            jar.update(&form);
            let f = |n: &str| form.form_field(n).unwrap_or_default();
            let fields = vec![
                ("csrf", f("csrf")),
                ("s", f("s")),
                ("d", f("d")),
                ("n", f("n")),
                ("g", f("g")),
                ("username", "alice".to_string()),
                ("password", "guess".to_string()),
            ];
            (jar, fields)
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = forms
            .iter()
            .map(|(jar, fields)| {
                let s = &s;
                scope.spawn(move || {
                    let form: Vec<(&str, &str)> =
                        fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    s.post("/login", jar, &form).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|&&c| c == 401).count();
    let throttled = statuses.iter().filter(|&&c| c == 429).count();
    assert_eq!((checked, throttled), (3, 9), "{statuses:?}");
}

#[test]
fn a_body_that_never_ends_is_cut_off() {
    use std::io::{Read, Write};
    let w = World::new();
    let s = w.start();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // Announces 100 bytes and sends 5.
    c.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\ncsrf=",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn unknown_paths_and_methods_are_refused() {
    let w = World::new();
    let s = w.start();
    assert_eq!(s.get("/nothing-here", &Cookies::new()).status, 404);
    assert_eq!(s.get("/login", &Cookies::new()).status, 405);
    assert_eq!(s.get("/exchange", &Cookies::new()).status, 405);
    let css = s.get("/style.css", &Cookies::new());
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}
