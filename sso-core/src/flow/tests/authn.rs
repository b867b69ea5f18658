//! The flow's authentication: cookie names, tickets from cookies and
//! headers, their binding, and the redirect to the login server.

use super::*;

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
    assert_eq!(f.cookie_user(&[&cookie]).as_deref(), Some("carol"));
}

#[test]
fn the_first_valid_cookie_wins_and_at_most_four_are_tried() {
    let f = fixture();
    let name = f.names().ticket;
    let bad = f.ticket_for("eve", "www.example.org/else/", None, &[]);
    let good = f.ticket("alice", None, &[]);
    let also = f.ticket("bob", None, &[]);
    let h = format!("{name}={bad}; {name}={good}; {name}={also}");
    assert_eq!(f.cookie_user(&[&h]).as_deref(), Some("alice"));
    // Across several Cookie headers, in order.
    let h1 = format!("{name}={bad}");
    let h2 = format!("{name}={also}");
    assert_eq!(f.cookie_user(&[&h1, &h2]).as_deref(), Some("bob"));
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
fn a_browser_ticket_needs_its_binding_cookie() {
    let f = fixture();
    let (ticket, both) = logged_in(&f, "alice");
    assert_eq!(f.cookie_user(&[&both]).as_deref(), Some("alice"));
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
    assert_eq!(f.cookie_user(&[&h]).as_deref(), Some("prog"));
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
    let d = f.login_with(&t, "n1", &failing);
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
    assert_eq!(f.cookie_user(&[&h]).as_deref(), Some("alice"));
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
