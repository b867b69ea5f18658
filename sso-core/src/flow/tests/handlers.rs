//! The flow's handlers: `sso_login` and `sso_logout`.

use super::*;

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
    let d = f.login_with(&induced, "attacker-secret", &fresh);
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
