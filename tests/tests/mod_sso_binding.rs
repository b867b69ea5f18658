//! The cookie rules of the hardening issue against a real apache2: on https
//! only the `__Host-` cookies derived from the service count (a planted
//! cookie under another name never does), and ticket binding (a browser
//! ticket counts only with the binding cookie set at `sso_login`, is
//! accepted at `sso_login` once, never from `Authorization:`, and proven
//! by the cookie itself, so a graceful restart keeps the browser logged
//! in), under both MPMs. Also `Require group` after another module changed the user.

mod mod_sso_common;

use mod_sso_common::*;
use sso_core::web::percent_encode;
use tests::apache::{Apache, ApacheConfig, Mpm, Request};

fn with_cookies(mut req: Request, cookies: &[(String, String)]) -> Request {
    for (n, v) in cookies {
        req = req.cookie(n, v);
    }
    req
}

fn status_with(site: &Site, cookies: &[(String, String)]) -> u16 {
    with_cookies(site.apache.request("/app/env.cgi"), cookies)
        .send()
        .status
}

#[test]
fn planted_cookies_are_never_accepted_on_https() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    assert!(names.ticket.starts_with("__Host-sso-"), "{names:?}");
    let t = site.ticket("mallory", &[]);
    // The old path-scoped name (a sibling host can set it with
    // `Domain=example.org; Path=/app/deeper/`), a prefixed name, and the
    // __Host- cookie of another service: none counts.
    let other = cookie_names("127.0.0.1:1/other/").ticket;
    for name in [LEGACY_TICKET_COOKIE, "MyApp_ticket", other.as_str()] {
        let r = site.apache.request("/app/env.cgi").cookie(name, &t).send();
        assert_eq!(r.status, 302, "{name}: {r:?}");
        assert!(!r.body.contains("REMOTE_USER"), "{name}");
    }
    assert!(
        site.apache
            .error_log()
            .contains("ignored cookie SSO_ticket: check 'planted cookie' failed"),
        "{}",
        site.apache.error_log()
    );
    // The same ticket under the service's own __Host- name is accepted.
    let r = site
        .apache
        .request("/app/env.cgi")
        .cookie(&names.ticket, &t)
        .send();
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("mallory"), "{r:?}");
    // The redirect sets __Host- cookies: Secure, Path=/, no Domain.
    let r = site.apache.get("/app/");
    let nonce = r.set_cookie_line(&names.nonce).expect("nonce cookie");
    assert!(
        nonce.contains("; Path=/;") && nonce.contains("Secure"),
        "{nonce}"
    );
    assert!(!nonce.contains("Domain"), "{nonce}");
}

#[test]
fn plain_http_uses_the_path_scoped_fallback() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = tests::util::TestKeys::new();
    let apache = start_plain_http(&[&keys.public_path]);
    let service = format!("{}/app/", apache.host_port());
    let t = keys.ticket("paul", &service, DOMAIN, 600, None, &[]);
    let r = apache
        .request("/app/env.cgi")
        .cookie(LEGACY_TICKET_COOKIE, &t)
        .send();
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("paul"), "{r:?}");
    let r = apache.get("/app/");
    let nonce = r
        .set_cookie_line("SSO_nonce")
        .expect("path-scoped nonce cookie");
    assert!(
        nonce.contains("Path=/app/") && !nonce.contains("Secure"),
        "{nonce}"
    );
}

/// Behind a TLS-terminating proxy (httpd itself on plain http),
/// `SSOCookieSecure Auto` believes `X-Forwarded-Proto: https` from a peer
/// named in `SSOTrustedProxies`, and from no other: the cookies get their
/// `__Host-` names, which a sibling host cannot plant.
#[test]
fn a_trusted_proxy_s_forwarded_proto_selects_host_cookies() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = tests::util::TestKeys::new();
    for (trusted, host_only) in [
        ("SSOTrustedProxies 10.0.0.0/8 127.0.0.1\n", true),
        ("SSOTrustedProxies ::ffff:127.0.0.1\n", true),
        ("", false),
        ("SSOTrustedProxies 192.0.2.1\n", false),
    ] {
        let apache = Apache::start(ApacheConfig {
            mpm: Mpm::Event,
            tls: false,
            config: format!("{trusted}{}", site_config(&[&keys.public_path])),
            files: site_files(),
            ..ApacheConfig::default()
        });
        let r = apache
            .request("/app/")
            .header("X-Forwarded-Proto", "https")
            .send();
        assert_eq!(r.status, 302, "{trusted}: {r:?}");
        let names = cookie_names(&format!("{}/app/", apache.host_port()));
        let host = r.set_cookie_line(&names.nonce);
        let plain = r.set_cookie_line("SSO_nonce");
        assert_eq!(host.is_some(), host_only, "{trusted}: {r:?}");
        assert_eq!(plain.is_some(), !host_only, "{trusted}: {r:?}");
    }
    let started = Apache::try_start(ApacheConfig {
        mpm: Mpm::Event,
        tls: false,
        config: format!(
            "SSOTrustedProxies 10.0.0.0/33\n{}",
            site_config(&[&keys.public_path])
        ),
        files: site_files(),
        ..ApacheConfig::default()
    });
    let err = started.err().expect("httpd refuses a bad network");
    assert!(err.contains("SSOTrustedProxies"), "{err}");
}

fn binding_rules(mpm: Mpm) {
    tests::return_unless_root!("apache2 as www-data");
    let mut site = Site::start(mpm);
    let names = site.cookies();
    let (t, secret, cookies) = site.browser_login_keeping_the_secret("alice", &[]);
    // Ticket and binding: in, on every child.
    for i in 0..20 {
        assert_eq!(status_with(&site, &cookies), 200, "request {i}");
    }
    // The ticket cookie alone (copied from the sso_login URL): silent re-login.
    let ticket_only = vec![(names.ticket.clone(), t.clone())];
    assert_eq!(status_with(&site, &ticket_only), 302);
    // A binding cookie of the attacker's own login does not fit this ticket.
    let (_, theirs) = site.browser_login("mallory", &[]);
    let mixed = vec![(names.ticket.clone(), t.clone()), theirs[1].clone()];
    assert_eq!(status_with(&site, &mixed), 302);
    // A replay of the sso_login URL with the nonce read from the ticket:
    // refused, the ticket carries only the commitment of the browser's
    // secret. With that secret (the browser itself, or a stolen cookie):
    // refused too, the login was recorded.
    let nonce = sso_core::decode_unverified(&t).unwrap().nonce.unwrap();
    let replay = |site: &Site, cookie: &str| {
        site.apache
            .request(&format!("/app/sso_login?t={}", percent_encode(&t)))
            .cookie(&names.nonce, cookie)
            .send()
    };
    for (cookie, check) in [(&nonce, "nonce%20mismatch"), (&secret, "replayed%20login")] {
        let r = replay(&site, cookie);
        assert_eq!(r.status, 302, "{r:?}");
        assert_eq!(
            r.location(),
            Some(format!("/app/sso_login?error={check}").as_str())
        );
        assert!(r.set_cookie_line(&names.ticket).is_none());
        assert!(r.set_cookie_line(&names.binding).is_none());
    }
    // Those tries did not log the browser out.
    assert_eq!(status_with(&site, &cookies), 200);
    // The browser ticket as a bearer token: refused with the reason.
    let r = with_ticket(&site.apache, "/app/env.cgi", &t);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("WWW-Authenticate")
            .is_some_and(|w| w.contains("error=\"nonce ticket in header\"")),
        "{r:?}"
    );
    let log = site.apache.error_log();
    for check in [
        "binding cookie",
        "binding mismatch",
        "nonce mismatch",
        "replayed login",
        "nonce ticket in header",
    ] {
        assert!(
            log.contains(&format!("check '{check}' failed")),
            "{check}: {log}"
        );
    }
    assert!(!log.contains(&t), "a ticket leaked into the log");

    // A graceful restart empties the store (shmcb): the binding cookie
    // proves the nonce secret by itself, so the browser stays logged in on
    // every child of the new generation; never 500.
    site.apache.graceful();
    for i in 0..20 {
        let r = with_cookies(site.apache.request("/app/env.cgi"), &cookies).send();
        assert_eq!(r.status, 200, "request {i} after the restart: {r:?}");
    }
    // The restarted store forgot the login, yet the sso_login URL still
    // buys nothing to whoever copied it: the nonce cookie it can make from
    // the ticket is not the browser's secret.
    let r = replay(&site, &nonce);
    assert_eq!(r.status, 302, "{r:?}");
    assert!(r.set_cookie_line(&names.ticket).is_none());
    // And a new login works after it.
    let (_, fresh) = site.browser_login("alice", &[]);
    assert_eq!(status_with(&site, &fresh), 200);
}

/// The holes of a leaked `sso_login` URL, against the real module: a
/// ticket minted for a nonce the victim's browser does not hold (an
/// induced nonce) is burnt by the victim's own refused `sso_login`, so the
/// attacker who knows the secret and finds the URL later gets nothing; a
/// padding-stripped copy of a used ticket is the same ticket; and an
/// application that exports the ticket gets its proof beside it.
#[test]
fn leaked_login_urls_buy_nothing() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let names = site.cookies();
    let login = |t: &str, secret: &str| {
        site.apache
            .request(&format!("/app/sso_login?t={}", percent_encode(t)))
            .cookie(&names.nonce, secret)
            .send()
    };
    // The attacker knows the secret behind the nonce C.
    let attacker_secret = sso_core::web::new_nonce();
    let c = sso_core::web::nonce_commitment(&attacker_secret);
    let induced = site
        .keys
        .ticket("victim", &site.service(), DOMAIN, 600, Some(&c), &[]);
    let victims_own = sso_core::web::new_nonce();
    let r = login(&induced, &victims_own);
    assert_eq!(r.status, 302, "{r:?}");
    let page = r.location().unwrap_or_default().to_owned();
    assert_eq!(page, "/app/sso_login?error=nonce%20mismatch");
    assert!(r.set_cookie_line(&names.ticket).is_none());
    // The page the browser lands on holds no ticket.
    let shown = site.apache.get(&page);
    assert_eq!(shown.status, 403, "{shown:?}");
    // The URL leaks; the attacker's sso_login, with the right secret, is a
    // replay.
    let r = login(&induced, &attacker_secret);
    assert_eq!(r.location(), Some("/app/sso_login?error=replayed%20login"));
    assert!(r.set_cookie_line(&names.binding).is_none(), "{r:?}");
    let log = site.apache.error_log();
    assert!(log.contains("(ticket burnt)"), "{log}");

    // A padding-stripped copy of a used ticket binds no second time.
    let (t, secret, _) = (1..8)
        .map(|i| site.browser_login_keeping_the_secret(&"a".repeat(i), &[]))
        .find(|(t, _, _)| t.ends_with('='))
        .expect("a padded ticket");
    let r = login(t.trim_end_matches('='), &secret);
    assert_eq!(r.location(), Some("/app/sso_login?error=replayed%20login"));

    // SSOExportTicket: the ticket, and the proof /exchange asks for.
    let (t, secret, cookies) = site.browser_login_keeping_the_secret("carol", &[]);
    let r = with_cookies(site.apache.request("/app/export/env.cgi"), &cookies).send();
    assert_eq!(cgi_value(&r.body, "SSO_TICKET"), Some(t.as_str()), "{r:?}");
    assert_eq!(
        cgi_value(&r.body, "SSO_TICKET_PROOF"),
        Some(secret.as_str())
    );
    let proof = cgi_value(&r.body, "SSO_TICKET_PROOF").unwrap_or_default();
    assert_eq!(
        sso_core::decode_unverified(&t).unwrap().nonce.as_deref(),
        Some(sso_core::web::nonce_commitment(proof).as_str())
    );
    assert!(
        !site.apache.error_log().contains(&secret),
        "a secret in the log"
    );
}

test_on_both_mpms!(ticket_binding_event, ticket_binding_prefork, binding_rules);

#[test]
fn logout_revokes_the_binding() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let (t, cookies) = site.browser_login("alice", &[]);
    assert_eq!(status_with(&site, &cookies), 200);
    let r = with_cookies(site.apache.request("/app/sso_logout"), &cookies).send();
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    // The copied cookies and a replayed sso_login are dead.
    assert_eq!(status_with(&site, &cookies), 302);
    let names = site.cookies();
    let nonce = sso_core::decode_unverified(&t).unwrap().nonce.unwrap();
    let r = site
        .apache
        .request(&format!("/app/sso_login?t={}", percent_encode(&t)))
        .cookie(&names.nonce, &nonce)
        .send();
    assert_eq!(r.status, 302);
    assert_eq!(r.location(), Some("/app/sso_login?error=nonce%20mismatch"));
    assert!(site.apache.error_log().contains("check 'revoked' failed"));
}

#[test]
fn binding_off_is_the_old_behaviour() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = tests::util::TestKeys::new();
    let apache = start_with(
        Mpm::Event,
        &[&keys.public_path],
        "<Location /app/nobind/>\n  SSOTicketBinding Off\n</Location>\n",
    );
    let service = format!("{}/app/", apache.host_port());
    let t = keys.ticket("alice", &service, DOMAIN, 600, Some("n1"), &[]);
    let names = cookie_names(&service);
    let get = |path: &str| apache.request(path).cookie(&names.ticket, &t).send().status;
    assert_eq!(get("/app/nobind/"), 404, "authenticated, then no such file");
    assert_eq!(get("/app/"), 302, "binding on elsewhere");
}

#[test]
fn a_missing_socache_provider_stops_httpd_naming_the_directive() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = tests::util::TestKeys::new();
    let started = Apache::try_start(ApacheConfig {
        mpm: Mpm::Event,
        config: format!(
            "SSOBindingCache redis\n{}",
            site_config(&[&keys.public_path])
        ),
        files: site_files(),
        ..ApacheConfig::default()
    });
    // httpd opens its sockets before post_config refuses: the start may
    // look successful for a moment before httpd exits.
    let err = match started {
        Err(e) => e,
        Ok(apache) => {
            let said = || apache.stderr() + &apache.error_log();
            eventually("httpd refuses to run", || {
                said().contains("SSOBindingCache")
            });
            said()
        }
    };
    assert!(
        err.contains("SSOBindingCache: the socache provider 'redis' is not loaded"),
        "{err}"
    );
}

/// `Require group` after an internal redirect to a Basic location: the
/// ticket of the original request belongs to alice (an admin), the user of
/// the new request is bob. Bob must not get alice's ticket groups.
#[test]
fn require_group_never_lends_ticket_groups_to_another_user() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = tests::util::TestKeys::new();
    let extra = "\
<Location /basic/>\n  AuthType Basic\n  AuthName basic\n  AuthBasicProvider file\n\
  AuthUserFile @ROOT@/conf/htpasswd\n  AuthGroupFile @ROOT@/conf/groups\n  Require group admins\n</Location>\n";
    let mut files = site_files();
    files.push((
        "htdocs/app/jump.cgi".into(),
        "#!/bin/sh\nprintf 'Location: /basic/env.cgi\\r\\n\\r\\n'\n".into(),
        0o755,
    ));
    files.push(("htdocs/basic/env.cgi".into(), ENV_CGI.into(), 0o755));
    let apache = start_with_basic_auth(
        &[&keys.public_path],
        extra,
        files,
        "admins: root1\n",
        &[("bob", "pw")],
    );
    let service = format!("{}/app/", apache.host_port());
    let names = cookie_names(&service);
    let alice = keys.ticket("alice", &service, DOMAIN, 600, None, &["admins"]);
    // bob:pw
    let basic = "Basic Ym9iOnB3";
    let r = apache
        .request("/app/jump.cgi")
        .cookie(&names.ticket, &alice)
        .header("Authorization", basic)
        .send();
    assert_ne!(r.status, 200, "bob got alice's group: {r:?}");
    assert!(!r.body.contains("REMOTE_USER=bob"), "{r:?}");
    // Bob directly, without a ticket: the group file decides (not a member).
    let r = apache
        .request("/basic/env.cgi")
        .header("Authorization", basic)
        .send();
    assert_eq!(r.status, 401, "{r:?}");
}
