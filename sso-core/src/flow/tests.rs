//! Every branch of the flow, with real keys and signatures.

use super::*;
use crate::web::{self, ServiceName};
use crate::{ticket_fingerprint, KeySet, SecretKey, Signer, Ticket, Verifier, Version};

const NOW: u64 = 1_900_000_000;
const SERVICE: &str = "www.example.org/app/";
const DOMAIN: &str = "example.org";
const LOGIN: &str = "https://login.example.org/";

struct Fixture {
    signer: Signer,
    settings: Settings,
    cache: VerifyCache,
    store: MemoryBindingStore,
}

fn fixture() -> Fixture {
    let signer = Signer::new(SecretKey::generate());
    let keys = KeySet::new(&[signer.public_key()]).unwrap();
    let verifier = Verifier::new(keys, SERVICE, DOMAIN).unwrap();
    let settings = Settings::new(ServiceName::parse(SERVICE).unwrap(), LOGIN, verifier);
    Fixture {
        signer,
        settings,
        cache: VerifyCache::new(64),
        store: MemoryBindingStore::new(64),
    }
}

impl Fixture {
    fn ticket(&self, user: &str, nonce: Option<&str>, groups: &[&str]) -> String {
        self.ticket_for(user, SERVICE, nonce, groups)
    }

    fn ticket_for(
        &self,
        user: &str,
        service: &str,
        nonce: Option<&str>,
        groups: &[&str],
    ) -> String {
        let mut t = Ticket::new(user, service, DOMAIN, NOW + 600);
        // As the login server does: the ticket carries what the redirect
        // asked for, the commitment of the browser's nonce cookie.
        t.nonce = nonce.map(web::nonce_commitment);
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        self.signer.sign(&t).unwrap()
    }

    fn names(&self) -> CookieNames {
        CookieNames::for_request(&self.settings.service, &self.settings.cookies, true)
    }

    fn decide(&self, req: &Request<'_>) -> Decision {
        decide(&self.settings, req, &self.cache, &self.store)
    }

    /// Runs `sso_login` with `ticket` and the nonce cookie `nonce`; returns
    /// the decision and the cookies it sets as (name, value).
    fn login(&self, ticket: &str, nonce: &str) -> (Decision, Vec<(String, String)>) {
        let query = format!("t={ticket}&d=%2Fapp%2Fpage");
        let cookie = format!("{}={nonce}", self.names().nonce);
        let headers = [cookie.as_str()];
        let d = self.decide(&req("GET", "/app/sso_login", &query, &headers, None));
        let set = set_cookies(&d);
        (d, set)
    }
}

fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    cookies: &'a [&'a str],
    authorization: Option<&'a str>,
) -> Request<'a> {
    Request {
        method,
        path,
        query,
        unparsed_uri: "",
        cookie_headers: cookies,
        authorization,
        https: true,
        now: NOW,
    }
}

fn set_cookies(d: &Decision) -> Vec<(String, String)> {
    d.headers()
        .into_iter()
        .filter(|(k, _)| k == "Set-Cookie")
        .map(|(_, v)| {
            let pair = v.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

fn cookie_of<'a>(set: &'a [(String, String)], name: &str) -> Option<&'a str> {
    set.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn logs(d: &Decision) -> String {
    d.logs
        .iter()
        .map(|l| l.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn accepted_user(d: &Decision) -> Option<&str> {
    match &d.action {
        Action::Accept(a) => Some(a.ticket.user.as_str()),
        _ => None,
    }
}

/// Asserts that `d` is a refused `sso_login`: a redirect to the refusal
/// page naming `check`, with no cookie.
fn assert_refused(d: &Decision, check: &str) {
    let Action::LoginRefused { location } = &d.action else {
        panic!("not a refused login: {d:?}")
    };
    assert_eq!(d.status(), 302);
    assert_eq!(
        location,
        &format!("/app/sso_login?error={}", web::percent_encode(check)),
    );
    assert!(set_cookies(d).is_empty(), "{d:?}");
    assert!(
        logs(d).contains(&format!("check '{check}' failed")),
        "{}",
        logs(d)
    );
}

fn www_authenticate(d: &Decision) -> Option<&str> {
    match &d.action {
        Action::Unauthorized { www_authenticate } => Some(www_authenticate),
        _ => None,
    }
}

/// A full browser login: the cookie header a browser sends afterwards.
fn logged_in(f: &Fixture, user: &str) -> (String, String) {
    let ticket = f.ticket(user, Some("n1"), &[]);
    let (d, set) = f.login(&ticket, "n1");
    assert_eq!(d.status(), 302, "{}", logs(&d));
    let names = f.names();
    let header = format!(
        "{}={}; {}={}",
        names.ticket,
        cookie_of(&set, &names.ticket).unwrap(),
        names.binding,
        cookie_of(&set, &names.binding).unwrap()
    );
    (ticket, header)
}

#[test]
fn cookie_names_on_https_are_host_cookies_derived_from_the_service() {
    let f = fixture();
    let n = f.names();
    assert!(n.ticket.starts_with("__Host-sso-") && n.ticket.len() == "__Host-sso-".len() + 10);
    assert_eq!(n.nonce, format!("{}-n", n.ticket));
    assert_eq!(n.binding, format!("{}-b", n.ticket));
    assert_eq!(n.path, "/");
    assert!(n.secure && n.host_only);
    let other = ServiceName::parse("www.example.org/other/").unwrap();
    let o = CookieNames::for_request(&other, &CookiePolicy::default(), true);
    assert_ne!(
        o.ticket, n.ticket,
        "services on one host never share a name"
    );
    let set = n.set(&n.ticket, "v");
    assert_eq!(
        set,
        format!("{}=v; Path=/; HttpOnly; SameSite=Lax; Secure", n.ticket)
    );
}

#[test]
fn cookie_names_fall_back_to_path_scoped_names_without_secure() {
    let f = fixture();
    let plain = CookieNames::for_request(&f.settings.service, &CookiePolicy::default(), false);
    assert_eq!(
        (plain.ticket.as_str(), plain.path.as_str()),
        ("SSO_ticket", "/app/")
    );
    assert_eq!(
        (plain.nonce.as_str(), plain.binding.as_str()),
        ("SSO_nonce", "SSO_binding")
    );
    assert!(!plain.secure && !plain.host_only);
    let off = CookiePolicy {
        secure: CookieSecure::Off,
        prefix: Some("MyApp_".into()),
    };
    let n = CookieNames::for_request(&f.settings.service, &off, true);
    assert_eq!(
        n.ticket, "MyApp_ticket",
        "Secure off: path-scoped even on https"
    );
    let on = CookiePolicy {
        secure: CookieSecure::On,
        prefix: Some("MyApp_".into()),
    };
    assert!(CookieNames::for_request(&f.settings.service, &on, false).host_only);
}

#[test]
fn no_ticket_redirects_with_a_fresh_nonce_cookie() {
    let mut f = fixture();
    f.settings.groups = vec!["admins".into(), "staff".into()];
    let mut r = req("GET", "/app/x", "a=1", &[], None);
    r.unparsed_uri = "/app/x?a=1";
    let d = f.decide(&r);
    let Action::Redirect { location, .. } = &d.action else {
        panic!("{d:?}")
    };
    let set = set_cookies(&d);
    let secret = cookie_of(&set, &f.names().nonce).unwrap();
    assert_eq!(secret.len(), 32);
    // The login server is asked for the commitment, never the secret.
    let nonce = web::nonce_commitment(secret);
    assert_ne!(nonce, secret);
    assert!(!location.contains(secret));
    assert_eq!(
        location,
        &format!("{LOGIN}?s=www.example.org%2Fapp%2F&d=https%3A%2F%2Fwww.example.org%2Fapp%2Fx%3Fa%3D1&n={nonce}&g=admins%2Cstaff")
    );
    assert_eq!(d.status(), 302);
    assert!(d
        .headers()
        .contains(&("Cache-Control".into(), "no-store".into())));
    assert!(logs(&d).contains("no valid ticket (no ticket)"));
    // Without an unparsed URI the path and query make the return URL.
    let d = f.decide(&req("HEAD", "/app/y", "b=2", &[], None));
    let Action::Redirect { location, .. } = &d.action else {
        panic!("{d:?}")
    };
    assert!(location.contains("d=https%3A%2F%2Fwww.example.org%2Fapp%2Fy%3Fb%3D2&"));
}

#[test]
fn post_without_ticket_is_401_never_a_redirect() {
    let f = fixture();
    let d = f.decide(&req("POST", "/app/form", "", &[], None));
    assert_eq!(
        www_authenticate(&d),
        Some("SSO realm=\"www.example.org/app/\", error=\"no ticket\"")
    );
    assert!(logs(&d).contains("refused POST without a valid ticket"));
    assert_eq!(d.status(), 401);
}

#[test]
fn api_mode_never_redirects() {
    let mut f = fixture();
    f.settings.mode = Mode::Api;
    let d = f.decide(&req("GET", "/app/", "", &[], None));
    assert_eq!(d.status(), 401, "{d:?}");
    let expired = {
        let mut t = Ticket::new("alice", SERVICE, DOMAIN, NOW - 10);
        t.nonce = None;
        f.signer.sign(&t).unwrap()
    };
    let cookie = format!("{}={expired}", f.names().ticket);
    let d = f.decide(&req("GET", "/app/", "", &[&cookie], None));
    assert_eq!(
        www_authenticate(&d).map(|w| w.contains("error=\"expired\"")),
        Some(true)
    );
}

#[test]
fn header_ticket_is_accepted_or_refused_with_401() {
    let f = fixture();
    let t = f.ticket("prog", None, &[]);
    let auth = format!("SSO {t}");
    let d = f.decide(&req("POST", "/app/api", "", &[], Some(&auth)));
    assert_eq!(accepted_user(&d), Some("prog"));
    let Action::Accept(a) = &d.action else {
        panic!()
    };
    assert_eq!(a.source, Source::Header);
    assert_eq!(a.fingerprint(), ticket_fingerprint(&t));
    let line = a.log_line();
    assert_eq!(line.level, Level::Debug);
    assert!(line.message.contains(&ticket_fingerprint(&t)), "{line:?}");
    assert!(
        line.message.starts_with("accepted Authorization ticket"),
        "{line:?}"
    );
    assert!(!line.message.contains(&t), "no ticket in a log");
    assert!(!logs(&d).contains(&t), "no ticket in a log");
    // A bad one: 401 with the reason, even for GET (a program, no redirect).
    let other = f.ticket_for("prog", "www.example.org/else/", None, &[]);
    let auth = format!("SSO {other}");
    let d = f.decide(&req("GET", "/app/", "", &[], Some(&auth)));
    assert_eq!(
        www_authenticate(&d),
        Some("SSO realm=\"www.example.org/app/\", error=\"wrong service\"")
    );
    // The header wins over a valid cookie: a program's ticket decides alone.
    let (_, cookies) = logged_in(&f, "alice");
    let d = f.decide(&req("GET", "/app/", "", &[&cookies], Some(&auth)));
    assert_eq!(d.status(), 401);
    // Another scheme is no SSO header: the cookie decides.
    let d = f.decide(&req("GET", "/app/", "", &[&cookies], Some("Basic abc")));
    assert_eq!(accepted_user(&d), Some("alice"));
}

#[test]
fn nonce_ticket_in_authorization_is_refused() {
    let f = fixture();
    let t = f.ticket("alice", Some("n1"), &[]);
    let auth = format!("SSO {t}");
    let d = f.decide(&req("GET", "/app/", "", &[], Some(&auth)));
    assert_eq!(
        www_authenticate(&d).map(|w| w.contains("error=\"nonce ticket in header\"")),
        Some(true),
        "{d:?}"
    );
    // Binding off: the old behaviour.
    let mut f = f;
    f.settings.binding = false;
    let d = f.decide(&req("GET", "/app/", "", &[], Some(&auth)));
    assert_eq!(accepted_user(&d), Some("alice"));
}

#[test]
fn missing_group_is_403_without_a_loop() {
    let mut f = fixture();
    f.settings.groups = vec!["admins".into()];
    let t = f.ticket("bob", None, &["staff"]);
    let cookie = format!("{}={t}", f.names().ticket);
    let d = f.decide(&req("GET", "/app/", "", &[&cookie], None));
    assert!(matches!(d.action, Action::Forbidden), "{d:?}");
    assert!(logs(&d).contains("check 'missing group' failed"));
    let auth = format!("SSO {t}");
    let d = f.decide(&req("GET", "/app/", "", &[], Some(&auth)));
    assert_eq!(d.status(), 403);
    // A member gets in.
    let t = f.ticket("carol", None, &["admins"]);
    let cookie = format!("{}={t}", f.names().ticket);
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&cookie], None))),
        Some("carol")
    );
}

#[test]
fn the_first_valid_cookie_wins_and_at_most_four_are_tried() {
    let f = fixture();
    let name = f.names().ticket;
    let bad = f.ticket_for("eve", "www.example.org/else/", None, &[]);
    let good = f.ticket("alice", None, &[]);
    let also = f.ticket("bob", None, &[]);
    let h = format!("{name}={bad}; {name}={good}; {name}={also}");
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&h], None))),
        Some("alice")
    );
    // Across several Cookie headers, in order.
    let h1 = format!("{name}={bad}");
    let h2 = format!("{name}={also}");
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&h1, &h2], None))),
        Some("bob")
    );
    // A valid fifth cookie is never reached.
    let h = format!("{name}={bad}; {name}=x; {name}=y; {name}=z; {name}={good}");
    let d = f.decide(&req("GET", "/app/", "", &[&h], None));
    assert_eq!(d.status(), 302, "{d:?}");
    assert_eq!(logs(&d).matches("cookie ticket").count(), MAX_COOKIES_TRIED);
}

#[test]
fn refused_cookie_tickets_redirect_naming_the_last_check() {
    let f = fixture();
    let t = f.ticket_for("eve", SERVICE, None, &[]);
    let cookie = format!("{}={}", f.names().ticket, &t[..t.len() - 4]);
    let d = f.decide(&req("GET", "/app/", "", &[&cookie], None));
    assert_eq!(d.status(), 302);
    assert!(logs(&d).contains("no valid ticket (bad"), "{}", logs(&d));
}

#[test]
fn path_scoped_and_planted_cookies_are_never_read_on_https() {
    let f = fixture();
    let t = f.ticket("attacker", None, &[]);
    for planted in [
        format!("SSO_ticket={t}"),
        format!("__Host-sso-0000000000={t}"),
    ] {
        let d = f.decide(&req("GET", "/app/", "", &[&planted], None));
        assert_eq!(d.status(), 302, "{planted}: {d:?}");
        assert_eq!(accepted_user(&d), None);
    }
    let d = f.decide(&req(
        "GET",
        "/app/",
        "",
        &[&format!("SSO_ticket={t}")],
        None,
    ));
    assert!(
        logs(&d).contains("check 'planted cookie' failed"),
        "{}",
        logs(&d)
    );
    // The same cookie is read on plain http (the fallback), not on https.
    let mut r = req("GET", "/app/", "", &[], None);
    let plain = format!("SSO_ticket={t}");
    let headers = [plain.as_str()];
    r.cookie_headers = &headers;
    r.https = false;
    assert_eq!(accepted_user(&f.decide(&r)), Some("attacker"));
}

#[test]
fn sso_login_sets_ticket_and_binding_and_clears_the_nonce() {
    let f = fixture();
    let t = f.ticket("alice", Some("n1"), &[]);
    let (d, set) = f.login(&t, "n1");
    let names = f.names();
    let Action::LoginDone { target, .. } = &d.action else {
        panic!("{d:?}")
    };
    assert_eq!(target, "https://www.example.org/app/page");
    assert_eq!(cookie_of(&set, &names.ticket), Some(t.as_str()));
    // The binding cookie keeps the nonce secret, which the ticket commits to.
    assert_eq!(cookie_of(&set, &names.binding), Some("n1"));
    assert_eq!(cookie_of(&set, &names.nonce), Some(""), "nonce cleared");
    assert_eq!(
        d.ticket_param_mask,
        Some(format!("ticket-{}", ticket_fingerprint(&t)))
    );
    assert!(!logs(&d).contains(&t));
    assert_eq!(f.store.len(), 1);
}

#[test]
fn sso_login_tries_every_nonce_cookie_up_to_four() {
    let f = fixture();
    let t = f.ticket("alice", Some("n3"), &[]);
    let n = f.names().nonce;
    let query = format!("t={t}");
    let h = format!("{n}=n1; {n}=; {n}=n2; {n}=n3");
    let d = f.decide(&req("GET", "/app/sso_login", &query, &[&h], None));
    assert_eq!(d.status(), 302, "{d:?}");
    let t5 = f.ticket("alice", Some("n5"), &[]);
    let query = format!("t={t5}");
    let h = format!("{n}=n1; {n}=n2; {n}=n3; {n}=n4; {n}=n5");
    let d = f.decide(&req("GET", "/app/sso_login", &query, &[&h], None));
    assert!(
        logs(&d).contains("check 'nonce mismatch' failed"),
        "{}",
        logs(&d)
    );
}

#[test]
fn sso_login_refusals() {
    let f = fixture();
    let d = f.decide(&req("GET", "/app/sso_login", "d=x", &[], None));
    assert!(matches!(d.action, Action::BadRequest));
    assert!(logs(&d).contains("check 'ticket parameter' failed"));
    // No nonce cookie.
    let t = f.ticket("alice", Some("n1"), &[]);
    let query = format!("t={t}");
    let d = f.decide(&req("GET", "/app/sso_login", &query, &[], None));
    assert_refused(&d, "nonce");
    // Another nonce.
    let (d, _) = f.login(&f.ticket("alice", Some("n2"), &[]), "other");
    assert_refused(&d, "nonce mismatch");
    // A ticket without a nonce never passes sso_login.
    let (d, _) = f.login(&f.ticket("alice", None, &[]), "n1");
    assert_refused(&d, "nonce mismatch");
    // A v3 ticket neither.
    let mut v3 = Ticket::new("alice", SERVICE, DOMAIN, NOW + 60);
    v3.version = Version::V3;
    let (d, _) = f.login(&f.signer.sign(&v3).unwrap(), "n1");
    assert_refused(&d, "nonce mismatch");
    // Nor a forged one, which is not burnt: its fingerprint is no ticket
    // of ours.
    let forged = Signer::new(SecretKey::generate())
        .sign(&Ticket::new("alice", SERVICE, DOMAIN, NOW + 60))
        .unwrap();
    let (d, _) = f.login(&forged, "n1");
    assert_refused(&d, "bad signature");
    assert_eq!(f.store.len(), 4, "each authentic refused ticket is burnt");
    assert_eq!(
        f.store
            .lookup(&ticket_fingerprint(&t), NOW)
            .unwrap()
            .as_deref(),
        Some(binding::REVOKED)
    );
    // The refusal page: no ticket in its URL, 403 (503 for the store).
    let d = f.decide(&req(
        "GET",
        "/app/sso_login",
        "error=nonce%20mismatch",
        &[],
        None,
    ));
    assert!(matches!(d.action, Action::Forbidden), "{d:?}");
    let d = f.decide(&req(
        "GET",
        "/app/sso_login",
        "error=binding%20store",
        &[],
        None,
    ));
    assert!(matches!(d.action, Action::Unavailable), "{d:?}");
}

/// An attacker who knows the secret behind a nonce C makes the victim's
/// browser fetch `LOGIN/?s=SERVICE&n=C`: the login server mints a ticket for
/// the victim with nonce C and sends the browser to `sso_login`, where its
/// own nonce cookie does not fit. That refusal burns the ticket, so when
/// the URL leaks the attacker's `sso_login`, with the right secret, is a
/// replay.
#[test]
fn a_ticket_for_an_induced_nonce_is_burnt_by_the_victim_s_refusal() {
    let f = fixture();
    let induced = f.ticket("victim", Some("attacker-secret"), &[]);
    let (d, _) = f.login(&induced, "victim-secret");
    assert_refused(&d, "nonce mismatch");
    assert!(logs(&d).contains("(ticket burnt)"), "{}", logs(&d));
    let (d, set) = f.login(&induced, "attacker-secret");
    assert_refused(&d, "replayed login");
    assert!(set.is_empty());
    // A refusal does not touch a ticket bound already: replaying a leaked
    // URL with a wrong cookie does not log its browser out.
    let (ticket, both) = logged_in(&f, "alice");
    assert_refused(&f.login(&ticket, "wrong").0, "nonce mismatch");
    let d = f.decide(&req("GET", "/app/", "", &[&both], None));
    assert_eq!(accepted_user(&d), Some("alice"), "{d:?}");
    // Without the burn (a fresh store), the attacker would be in.
    let fresh = MemoryBindingStore::new(8);
    let query = format!("t={induced}");
    let cookie = format!("{}=attacker-secret", f.names().nonce);
    let d = decide(
        &f.settings,
        &req("GET", "/app/sso_login", &query, &[&cookie], None),
        &f.cache,
        &fresh,
    );
    assert_eq!(d.status(), 302);
    assert!(matches!(d.action, Action::LoginDone { .. }), "{d:?}");
}

/// A padded and an unpadded copy of one ticket are one ticket: the second
/// is a replay at `sso_login`, and both name one fingerprint in logs.
#[test]
fn a_padding_stripped_copy_is_the_same_ticket() {
    let f = fixture();
    let (t, unpadded) = (0..64)
        .map(|i| f.ticket(&format!("user{i}"), Some("n1"), &[]))
        .find_map(|t| {
            let stripped = t.trim_end_matches('=').to_owned();
            (stripped != t).then_some((t, stripped))
        })
        .expect("a ticket with padding");
    assert_eq!(ticket_fingerprint(&t), ticket_fingerprint(&unpadded));
    assert_ne!(ticket_fingerprint(&t), ticket_fingerprint("garbage"));
    assert_eq!(f.login(&t, "n1").0.status(), 302);
    let (d, _) = f.login(&unpadded, "n1");
    assert_refused(&d, "replayed login");
}

#[test]
fn sso_login_refuses_a_ticket_too_large_for_a_cookie() {
    let f = fixture();
    // The largest valid ticket that no longer fits with the cookie name.
    let name = f.names().ticket;
    let t = (2900..3100)
        .map(|n| f.ticket("alice", Some("n1"), &[&"g".repeat(n)]))
        .find(|t| t.len() <= crate::MAX_TICKET_LEN && !web::fits_in_a_cookie(&name, t))
        .expect("a ticket between the two bounds");
    let (d, _) = f.login(&t, "n1");
    assert_refused(&d, "cookie size");
}

#[test]
fn sso_login_guards_the_redirect_target() {
    let f = fixture();
    let t = f.ticket("alice", Some("n1"), &[]);
    let query = format!("t={t}&d=https%3A%2F%2Fevil.org%2F");
    let cookie = format!("{}=n1", f.names().nonce);
    let d = f.decide(&req("GET", "/app/sso_login", &query, &[&cookie], None));
    let Action::LoginDone { target, .. } = &d.action else {
        panic!("{d:?}")
    };
    assert_eq!(target, "https://www.example.org/app/");
    assert!(logs(&d).contains("replaced by the service root"));
}

#[test]
fn a_login_ticket_is_accepted_at_sso_login_only_once() {
    let f = fixture();
    let t = f.ticket("alice", Some("n1"), &[]);
    assert_eq!(f.login(&t, "n1").0.status(), 302);
    let (d, set) = f.login(&t, "n1");
    assert_refused(&d, "replayed login");
    assert!(set.is_empty(), "no cookie for a replay");
}

#[test]
fn a_browser_ticket_needs_its_binding_cookie() {
    let f = fixture();
    let (ticket, both) = logged_in(&f, "alice");
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&both], None))),
        Some("alice")
    );
    let names = f.names();
    let alone = format!("{}={ticket}", names.ticket);
    let d = f.decide(&req("GET", "/app/", "", &[&alone], None));
    assert_eq!(d.status(), 302, "silent re-login: {d:?}");
    assert!(logs(&d).contains("check 'binding cookie' failed"));
    let wrong = format!("{}={ticket}; {}=0123", names.ticket, names.binding);
    let d = f.decide(&req("GET", "/app/", "", &[&wrong], None));
    assert!(logs(&d).contains("check 'binding mismatch' failed"));
    // The nonce itself (readable in the ticket) is no binding cookie.
    let nonce = web::nonce_commitment("n1");
    let copied = format!("{}={ticket}; {}={nonce}", names.ticket, names.binding);
    let d = f.decide(&req("GET", "/app/", "", &[&copied], None));
    assert_eq!(d.status(), 302);
    assert!(logs(&d).contains("check 'binding mismatch' failed"));
    // The accepted ticket carries its proof, for an application that
    // exchanges it (mod_sso's SSO_TICKET_PROOF).
    let d = f.decide(&req("GET", "/app/", "", &[&both], None));
    let Action::Accept(a) = &d.action else {
        panic!("{d:?}")
    };
    assert_eq!(a.proof.as_deref(), Some("n1"));
    assert_eq!(a.source, Source::Cookie);
    // The fingerprint the binding check computed for its store is the
    // ticket's, which the adapter copies and logs.
    assert_eq!(a.fingerprint(), ticket_fingerprint(&ticket));
    assert!(a.log_line().message.contains(&ticket_fingerprint(&ticket)));
    // A ticket without a nonce (realms, exchange) needs no binding.
    let api = f.ticket("prog", None, &[]);
    let h = format!("{}={api}", names.ticket);
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&h], None))),
        Some("prog")
    );
}

#[test]
fn binding_survives_nothing_but_its_own_store() {
    let f = fixture();
    let (_, both) = logged_in(&f, "alice");
    // Another process's store, or a restarted (empty) one: the cookie
    // proves the secret by itself, the browser stays logged in.
    let elsewhere = MemoryBindingStore::new(64);
    let d = decide(
        &f.settings,
        &req("GET", "/app/", "", &[&both], None),
        &f.cache,
        &elsewhere,
    );
    assert_eq!(accepted_user(&d), Some("alice"), "{d:?}");
    // A store that cannot say whether the ticket was revoked: a silent
    // re-login, never an open door; and sso_login answers 503.
    let failing = FailingStore;
    let d = decide(
        &f.settings,
        &req("GET", "/app/", "", &[&both], None),
        &f.cache,
        &failing,
    );
    assert_eq!(d.status(), 302);
    assert!(logs(&d).contains("check 'binding store' failed"));
    let t = f.ticket("bob", Some("n1"), &[]);
    let query = format!("t={t}");
    let cookie = format!("{}=n1", f.names().nonce);
    let d = decide(
        &f.settings,
        &req("GET", "/app/sso_login", &query, &[&cookie], None),
        &f.cache,
        &failing,
    );
    assert_refused(&d, "binding store");
    assert!(d.logs.iter().any(|l| l.level == Level::Error));
}

/// A store that answers nothing.
struct FailingStore;

impl BindingStore for FailingStore {
    fn bind(&self, _: &str, _: &str, _: u64, _: u64) -> Result<(), BindingError> {
        Err(BindingError::Unavailable)
    }
    fn lookup(&self, _: &str, _: u64) -> Result<Option<String>, BindingError> {
        Err(BindingError::Unavailable)
    }
    fn revoke(&self, _: &str, _: u64, _: u64) {}
}

#[test]
fn logout_clears_all_cookies_and_revokes_the_binding() {
    let f = fixture();
    let (ticket, both) = logged_in(&f, "alice");
    let d = f.decide(&req("GET", "/app/sso_logout", "", &[&both], None));
    let Action::Logout { body, .. } = &d.action else {
        panic!("{d:?}")
    };
    assert_eq!(body, "OK");
    let set = set_cookies(&d);
    let names = f.names();
    for n in [&names.ticket, &names.nonce, &names.binding] {
        assert_eq!(cookie_of(&set, n), Some(""), "{n}");
    }
    assert!(d
        .headers()
        .iter()
        .all(|(_, v)| !v.contains("Max-Age=0") || v.contains("Path=/")));
    // The old cookies no longer work, nor does a replayed sso_login.
    let d = f.decide(&req("GET", "/app/", "", &[&both], None));
    assert_eq!(d.status(), 302);
    assert!(logs(&d).contains("check 'revoked' failed"), "{}", logs(&d));
    assert_refused(&f.login(&ticket, "n1").0, "replayed login");
    // Without any cookie, logout still answers.
    assert_eq!(
        f.decide(&req("GET", "/app/sso_logout", "", &[], None))
            .status(),
        200
    );
}

#[test]
fn handlers_only_answer_under_the_service_path() {
    let f = fixture();
    for path in ["/other/sso_login", "/app/sub/sso_login", "/app/sso_login/x"] {
        let d = handle(
            &f.settings,
            &req("GET", path, "", &[], None),
            &f.cache,
            &f.store,
        );
        assert!(matches!(d.action, Action::Decline), "{path}");
        assert_eq!(d.status(), 0);
        assert!(d.headers().is_empty());
    }
}

#[test]
fn binding_off_accepts_a_nonce_ticket_cookie_alone() {
    let mut f = fixture();
    f.settings.binding = false;
    let t = f.ticket("alice", Some("n1"), &[]);
    let (d, set) = f.login(&t, "n1");
    assert_eq!(d.status(), 302);
    assert_eq!(cookie_of(&set, &f.names().binding), None);
    assert_eq!(
        f.login(&t, "n1").0.status(),
        302,
        "no replay record without binding"
    );
    let h = format!("{}={t}", f.names().ticket);
    assert_eq!(
        accepted_user(&f.decide(&req("GET", "/app/", "", &[&h], None))),
        Some("alice")
    );
}

#[test]
fn memory_store_is_bounded_and_keeps_used_tickets_used() {
    let s = MemoryBindingStore::new(2);
    s.bind("a", "d1", NOW + 10, NOW).unwrap();
    assert_eq!(
        s.bind("a", "d2", NOW + 10, NOW),
        Err(BindingError::AlreadyBound)
    );
    s.bind("b", "d2", NOW + 10, NOW).unwrap();
    s.bind("c", "d3", NOW + 10, NOW).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s.lookup("a", NOW).unwrap(), None, "oldest evicted");
    assert_eq!(s.lookup("c", NOW).unwrap().as_deref(), Some("d3"));
    assert_eq!(s.lookup("c", NOW + 11).unwrap(), None, "expired");
    s.revoke("c", NOW + 10, NOW);
    assert_eq!(
        s.lookup("c", NOW).unwrap().as_deref(),
        Some(binding::REVOKED)
    );
    assert_ne!(binding::BOUND, binding::REVOKED);
}

/// Whoever copies a browser ticket (from an `sso_login` URL, a proxy log)
/// reads its nonce, but a cookie holding that nonce is refused: only the
/// secret whose commitment it is opens `sso_login`, and that secret never
/// left the browser. No store is involved, so this holds after a restart.
#[test]
fn a_cookie_holding_the_ticket_s_own_nonce_is_refused_at_sso_login() {
    let f = fixture();
    let t = f.ticket("alice", Some("browser-secret"), &[]);
    let copied_nonce = web::nonce_commitment("browser-secret");
    let (d, set) = f.login(&t, &copied_nonce);
    assert_refused(&d, "nonce mismatch");
    assert!(set.is_empty(), "{set:?}");
    // The try burnt the ticket: not even its own browser gets in with it
    // now (it goes round the login server again for a fresh one).
    let (d, _) = f.login(&t, "browser-secret");
    assert_refused(&d, "replayed login");
    // A fresh ticket for the same secret works.
    let t = f.ticket("alice", Some("browser-secret"), &[]);
    let (d, _) = f.login(&t, "browser-secret");
    assert_eq!(d.status(), 302, "{d:?}");
}

#[test]
fn verifier_nonce_loop() {
    let f = fixture();
    let v = &f.settings.verifier;
    // The verifier compares nonces as they are (the commitment is the
    // flow's business): a ticket made with the nonce "b" itself.
    let mut raw = Ticket::new("alice", SERVICE, DOMAIN, NOW + 600);
    raw.nonce = Some("b".into());
    let t = f.signer.sign(&raw).unwrap();
    assert_eq!(
        v.verify_with_nonces(&t, &["a", "b"], NOW, &[])
            .unwrap()
            .user,
        "alice"
    );
    assert_eq!(
        v.verify_with_nonces(&t, &[], NOW, &[]),
        Err(crate::Error::NonceMismatch)
    );
    assert_eq!(
        v.verify_with_nonces(&t, &[""], NOW, &[]),
        Err(crate::Error::NonceMismatch)
    );
    assert_eq!(
        v.verify_with_nonces(&t, &["b"], NOW + 601, &[]),
        Err(crate::Error::Expired)
    );
    assert_eq!(
        v.verify_with_nonces(&t, &["b"], NOW, &["admins".into()]),
        Err(crate::Error::MissingGroup)
    );
}

#[test]
fn a_key_pinned_to_other_services_never_verifies_here() {
    let f = fixture();
    let realm = Signer::new(SecretKey::generate());
    let pin = |p: &str| Some(crate::ServicePattern::new(p).unwrap());
    let keys = KeySet::with_pins(&[
        (f.signer.public_key(), None),
        (realm.public_key(), pin(r"realm\.example\.org/.*")),
    ])
    .unwrap();
    let v = Verifier::new(keys.clone(), SERVICE, DOMAIN).unwrap();
    assert_eq!((v.keys().len(), v.keys_pinned_elsewhere()), (1, 1));
    let mut settings = f.settings.clone();
    settings.verifier = v;
    let mut forged = Ticket::new("root", SERVICE, DOMAIN, NOW + 60);
    forged.nonce = None;
    let auth = format!("SSO {}", realm.sign(&forged).unwrap());
    let d = decide(
        &settings,
        &req("GET", "/app/", "", &[], Some(&auth)),
        &f.cache,
        &f.store,
    );
    assert_eq!(
        www_authenticate(&d).map(|w| w.contains("bad signature")),
        Some(true)
    );
    assert!(
        logs(&d).contains("1 key(s) pinned to other services"),
        "{}",
        logs(&d)
    );
    // For its own service the realm key verifies, and the default key too.
    let own = Verifier::new(keys.clone(), "realm.example.org/x/", DOMAIN).unwrap();
    assert_eq!(own.keys().len(), 2);
    // The pattern is anchored: a service that only contains it does not match.
    assert!(!crate::ServicePattern::new("realm")
        .unwrap()
        .allows("xrealm"));
    assert!(crate::ServicePattern::new("(").is_err());
    // Only pinned keys, all elsewhere: no verifier at all.
    let only = KeySet::with_pins(&[(realm.public_key(), pin("elsewhere/"))]).unwrap();
    assert_eq!(
        Verifier::new(only, SERVICE, DOMAIN).err(),
        Some(crate::ConfigError::NoKeyForService)
    );
    assert_ne!(keys.for_service(SERVICE).unwrap().id(), keys.id());
}
