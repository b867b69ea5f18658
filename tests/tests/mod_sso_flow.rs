//! mod_sso in a real apache2 (event MPM): browser flow, cookies, the
//! Authorization header, refusals, Require user/group.

mod mod_sso_common;

use mod_sso_common::*;
use sso_core::web::{cookie_values, parse_query};
use tests::apache::Mpm;
use tests::util::TestKeys;

#[test]
fn no_ticket_redirects_to_login_server_with_parameters() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let r = site.apache.get("/app/env.cgi?x=1&y=2");
    assert_eq!(r.status, 302, "{r:?}");
    let loc = r.location().expect("Location");
    let query = loc
        .strip_prefix(&format!("{LOGIN}?"))
        .expect("to the login server");
    let q = parse_query(query);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("s").as_deref(), Some(site.service().as_str()));
    assert_eq!(
        get("d").as_deref(),
        Some(format!("https://{}/app/env.cgi?x=1&y=2", site.apache.host_port()).as_str())
    );
    let nonce = get("n").expect("n");
    assert_eq!(nonce.len(), 32);
    assert_eq!(get("g"), None, "no SSOGroups, no g");
    let cookie = r.set_cookie_line(&names.nonce).expect("nonce cookie");
    // The cookie keeps the secret; the login server gets its commitment.
    let secret = cookie
        .strip_prefix(&format!("{}=", names.nonce))
        .and_then(|rest| rest.split(';').next())
        .expect("nonce cookie value");
    assert_eq!(sso_core::web::nonce_commitment(secret), nonce, "{cookie}");
    assert!(!loc.contains(secret), "the secret went to the login server");
    for attr in ["Path=/;", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Expires") && !cookie.contains("Max-Age"),
        "session cookie: {cookie}"
    );
    // A second redirect gets a fresh nonce.
    let r2 = site.apache.get("/app/");
    assert_ne!(
        r2.set_cookie_line(&names.nonce),
        r.set_cookie_line(&names.nonce)
    );
    // SSOGroups are asked for with g.
    let r3 = site.apache.get("/app/needgroup/");
    assert_eq!(r3.status, 302);
    assert!(
        r3.location().unwrap().contains("&g=admins%2Cstaff"),
        "{:?}",
        r3.location()
    );
    // No ticket ever reaches the log; the decision does.
    assert!(site
        .apache
        .error_log()
        .contains("no valid ticket (no ticket)"));
}

#[test]
fn open_location_needs_nothing() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let r = site.apache.get("/open/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "open\n");
}

#[test]
fn valid_v4_and_v3_tickets_reach_the_cgi() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let v4 = site.ticket("alice", &["staff", "dev"]);
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &v4)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("alice"));
    assert_eq!(cgi_value(&r.body, "AUTH_TYPE"), Some("SSO"));
    assert_eq!(cgi_value(&r.body, "SSO_USER"), Some("alice"));
    assert_eq!(cgi_value(&r.body, "SSO_GROUPS"), Some("staff,dev"));
    assert_eq!(
        cgi_value(&r.body, "SSO_SERVICE"),
        Some(site.service().as_str())
    );
    assert_eq!(
        cgi_value(&r.body, "SSO_TICKET"),
        Some(""),
        "not exported by default"
    );

    let v3 = ticket_v3(&site.keys, "bob", &site.service(), &[]);
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &v3)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("bob"));
    assert_eq!(cgi_value(&r.body, "SSO_GROUPS"), Some(""));

    // SSOExportTicket On hands the ticket to the application.
    let r = site
        .apache
        .request("/app/export/env.cgi")
        .cookie(&names.ticket, &v4)
        .send();
    assert_eq!(cgi_value(&r.body, "SSO_TICKET"), Some(v4.as_str()));

    // Several cookies of the name (nested paths): the valid one wins.
    let other = site
        .keys
        .ticket("eve", "127.0.0.1:1/other/", DOMAIN, 600, None, &[]);
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &other)
        .cookie(&names.ticket, &v4)
        .send();
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("alice"));

    let log = site.apache.error_log();
    assert!(
        !log.contains(&v4) && !log.contains(&v3),
        "a ticket leaked into the log"
    );
    assert!(
        log.contains(&sso_core::ticket_fingerprint(&v4)),
        "decisions name the fingerprint"
    );
}

#[test]
fn bad_cookies_are_refused_cleanly() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let service = site.service();
    let forger = TestKeys::new();
    let good = site.ticket("alice", &[]);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            site.keys.ticket("alice", &service, DOMAIN, -10, None, &[]),
            "expired",
        ),
        (
            "wrong service",
            site.keys
                .ticket("alice", "127.0.0.1:1/app/", DOMAIN, 600, None, &[]),
            "wrong service",
        ),
        (
            "wrong domain",
            site.keys
                .ticket("alice", &service, "other.example", 600, None, &[]),
            "wrong domain",
        ),
        (
            "forged",
            forger.ticket("alice", &service, DOMAIN, 600, None, &[]),
            "bad signature",
        ),
        ("truncated", good[..good.len() / 2].to_owned(), ""),
        ("garbage", "not*a*ticket!".to_owned(), "bad encoding"),
        ("too long", "A".repeat(5000), "too long"),
    ];
    for (what, cookie, check) in &cases {
        let r = site
            .apache
            .request("/app/env.cgi")
            .cookie(&names.ticket, cookie)
            .send();
        assert_eq!(r.status, 302, "{what}: {r:?}");
        assert!(r.location().unwrap().starts_with(LOGIN), "{what}");
        assert!(!r.body.contains("REMOTE_USER"), "{what}");
        if !check.is_empty() {
            assert!(
                site.apache
                    .error_log()
                    .contains(&format!("check '{check}' failed")),
                "{what}: no log line naming '{check}'"
            );
        }
        // The same ticket in the header: 401 with the reason, never a redirect.
        let r = with_ticket(&site.apache, "/app/", cookie);
        assert_eq!(r.status, 401, "{what} (header): {r:?}");
        let wa = r.header("WWW-Authenticate").expect("WWW-Authenticate");
        assert!(wa.starts_with(&format!("SSO realm=\"{service}\"")), "{wa}");
        if !check.is_empty() {
            assert!(wa.contains(&format!("error=\"{check}\"")), "{what}: {wa}");
        }
    }
    // 100 KB: httpd refuses the header itself (400), nothing gets through.
    let huge = "A".repeat(100 * 1024);
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &huge)
        .send();
    assert!(r.status == 400 || r.status == 302, "{r:?}");
    assert!(!r.body.contains("REMOTE_USER="), "{r:?}");
    let log = site.apache.error_log();
    for (_, cookie, _) in &cases {
        if cookie.len() > 20 {
            assert!(
                !log.contains(cookie.as_str()),
                "a ticket leaked into the log"
            );
        }
    }
}

#[test]
fn authorization_header_path() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let t = site.ticket("carol", &["dev"]);
    let r = with_ticket(&site.apache, "/app/env.cgi", &t);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("carol"));
    // POST with a ticket works, without one it is 401 (a redirect cannot replay it).
    let r = site
        .apache
        .request("/app/env.cgi")
        .method("POST")
        .body("a=1")
        .header("Authorization", &format!("SSO {t}"))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let r = site
        .apache
        .request("/app/env.cgi")
        .method("POST")
        .body("a=1")
        .send();
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(format!("SSO realm=\"{}\", error=\"no ticket\"", site.service()).as_str())
    );
    let r = site
        .apache
        .request("/app/")
        .method("PUT")
        .cookie(&names.ticket, "garbage")
        .send();
    assert_eq!(r.status, 401);
    // HEAD is a GET: redirected.
    let r = site.apache.request("/app/").method("HEAD").send();
    assert_eq!(r.status, 302);
    // Another scheme is not ours: the cookie (none here) decides.
    let r = site
        .apache
        .request("/app/")
        .header("Authorization", "Basic YTpi")
        .send();
    assert_eq!(r.status, 302);
}

#[test]
fn two_public_keys_both_accepted() {
    tests::return_unless_root!("apache2 as www-data");
    let old = TestKeys::new();
    let new = TestKeys::new();
    let apache = start_with(Mpm::Event, &[&old.public_path, &new.public_path], "");
    let service = format!("{}/app/", apache.host_port());
    let names = cookie_names(&service);
    for (name, keys) in [("old", &old), ("new", &new)] {
        let t = keys.ticket(name, &service, DOMAIN, 600, None, &[]);
        let r = apache
            .request("/app/env.cgi")
            .cookie(&names.ticket, &t)
            .send();
        assert_eq!(r.status, 200, "{name}: {r:?}");
        assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some(name));
    }
    let stranger = TestKeys::new().ticket("x", &service, DOMAIN, 600, None, &[]);
    let r = with_ticket(&apache, "/app/", &stranger);
    assert_eq!(r.status, 401);
}

#[test]
fn sso_login_checks_ticket_and_nonce_then_sets_cookie() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let service = site.service();
    // The browser's nonce cookie holds the secret; the ticket carries its
    // commitment (what the redirect asked the login server for).
    let secret = "0123456789abcdef0123456789abcdef";
    let commitment = sso_core::web::nonce_commitment(secret);
    let nonce = commitment.as_str();
    let t = site
        .keys
        .ticket("alice", &service, DOMAIN, 600, Some(nonce), &[]);
    let d = format!("https://{}/app/env.cgi?x=1", site.apache.host_port());
    let login = |ticket: &str, cookie_nonce: Option<&str>| {
        let mut req = site.apache.request(&format!(
            "/app/sso_login?t={}&d={}",
            sso_core::web::percent_encode(ticket),
            sso_core::web::percent_encode(&d)
        ));
        if let Some(n) = cookie_nonce {
            req = req.cookie(&names.nonce, n);
        }
        req.send()
    };
    let r = login(&t, Some(secret));
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.location(), Some(d.as_str()));
    let set = r.set_cookie_line(&names.ticket).expect("ticket cookie");
    assert_eq!(
        cookie_values(set.split(';').next().unwrap(), &names.ticket).next(),
        Some(t.as_str())
    );
    for attr in ["Path=/;", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(set.contains(attr), "{attr} missing in {set}");
    }
    let cleared = r
        .set_cookie_line(&names.nonce)
        .expect("nonce cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let binding = r.set_cookie_line(&names.binding).expect("binding cookie");
    let binding = cookie_values(binding.split(';').next().unwrap(), &names.binding)
        .next()
        .expect("binding value")
        .to_owned();
    // The cookie then works, together with its binding (ticket binding).
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &t)
        .cookie(&names.binding, &binding)
        .send();
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("alice"), "{r:?}");

    // Nonce mismatch, missing nonce cookie, ticket without nonce: refused, no cookie.
    for (what, ticket, cookie) in [
        (
            "mismatch",
            t.clone(),
            Some("ffffffffffffffffffffffffffffffff"),
        ),
        (
            "the ticket's own nonce as the cookie",
            t.clone(),
            Some(nonce),
        ),
        ("no nonce cookie", t.clone(), None),
        ("nonce-less ticket", site.ticket("alice", &[]), Some(secret)),
        (
            "expired",
            site.keys
                .ticket("alice", &service, DOMAIN, -5, Some(nonce), &[]),
            Some(secret),
        ),
    ] {
        let r = login(&ticket, cookie);
        // Refused: to the refusal page, whose URL holds no ticket.
        assert_eq!(r.status, 302, "{what}: {r:?}");
        let page = r.location().unwrap_or_default();
        assert!(page.starts_with("/app/sso_login?error="), "{what}: {page}");
        assert!(r.set_cookie_line(&names.ticket).is_none(), "{what}");
        assert_eq!(site.apache.get(page).status, 403, "{what}: {page}");
    }
    let log = site.apache.error_log();
    assert!(log.contains("check 'nonce mismatch' failed"), "{log}");
    assert!(!log.contains(&t), "a ticket leaked into the log");
    assert!(log.contains(&sso_core::ticket_fingerprint(&t)), "{log}");
    // No t at all.
    assert_eq!(site.apache.get("/app/sso_login").status, 400);

    // A ticket too long to survive as a cookie (name and value over 4096
    // bytes) would loop through the login server for ever: refused.
    let mut group = String::from("g");
    let long = loop {
        let candidate = site.keys.ticket(
            "alice",
            &service,
            DOMAIN,
            600,
            Some(nonce),
            &[group.as_str()],
        );
        if names.ticket.len() + candidate.len() > sso_core::web::MAX_COOKIE_BYTES {
            break candidate;
        }
        group.push('x');
    };
    assert!(long.len() <= sso_core::MAX_TICKET_LEN);
    let r = login(&long, Some(secret));
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.location(), Some("/app/sso_login?error=cookie%20size"));
    assert!(r.set_cookie_line(&names.ticket).is_none());
    assert!(site
        .apache
        .error_log()
        .contains("check 'cookie size' failed"));

    // The access log prints the request line: the ticket in it is replaced
    // by its fingerprint (8 sso_login requests above, 5 refusal pages,
    // plus one CGI).
    let access = site.apache.access_log(14);
    assert_eq!(access.matches("/app/sso_login").count(), 13, "{access}");
    for ticket in [&t, &long] {
        let encoded = sso_core::web::percent_encode(ticket);
        assert!(
            !access.contains(&encoded[..40]) && !access.contains(&ticket[..40]),
            "a ticket leaked into the access log:\n{access}"
        );
    }
    assert!(
        access.contains(&format!("t=ticket-{}", sso_core::ticket_fingerprint(&t))),
        "{access}"
    );
}

#[test]
fn sso_logout_clears_cookies_without_a_ticket() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let r = site.apache.get("/app/sso_logout");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "OK");
    let c = r
        .set_cookie_line(&names.ticket)
        .expect("ticket cookie cleared");
    assert!(c.contains("Max-Age=0") && c.contains("Path=/;"), "{c}");
    assert!(r.set_cookie_line(&names.nonce).is_some());
    assert!(r.set_cookie_line(&names.binding).is_some());
}

#[test]
fn require_user_and_group_allow_and_deny() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let alice = site.ticket("alice", &["admins"]);
    let bob = site.ticket("bob", &["staff"]);
    let get = |path: &str, t: &str| {
        site.apache
            .request(path)
            .cookie(&names.ticket, t)
            .send()
            .status
    };
    assert_eq!(get("/app/alice/", &alice), 200);
    assert_eq!(get("/app/alice/", &bob), 403);
    assert_eq!(get("/app/admins/", &alice), 200);
    assert_eq!(get("/app/admins/", &bob), 403);
    assert_eq!(get("/app/ssogroup/", &alice), 200);
    assert_eq!(
        get("/app/ssogroup/", &bob),
        200,
        "staff is one of the sso-groups"
    );
    let nobody = site.ticket("nobody", &[]);
    assert_eq!(get("/app/ssogroup/", &nobody), 403);
    // SSOGroups: a ticket without any of them is 403, not a redirect loop.
    assert_eq!(get("/app/needgroup/", &bob), 200);
    let r = site
        .apache
        .request("/app/needgroup/")
        .cookie(&names.ticket, &nobody)
        .send();
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.location().is_none());
    let log = site.apache.error_log();
    assert!(log.contains("check 'group' failed"), "{log}");
    assert!(log.contains("check 'missing group' failed"), "{log}");
    // /app/admins/ says `Require group admins` without SSOGroups: no ticket
    // from the login server could carry the group, and the log says so.
    assert!(
        log.contains("Require group admins: none of these groups is in SSOGroups"),
        "{log}"
    );
}
