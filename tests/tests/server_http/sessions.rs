//! Sessions across services and instances: the exchange of tickets, a
//! session carried to a second instance, logout.

use super::*;

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
