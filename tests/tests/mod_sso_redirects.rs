//! `sso_login`'s redirect target `d` never leaves the service: more than 50
//! hostile shapes all land on the service root, and honest targets are kept.

mod mod_sso_common;

use mod_sso_common::*;
use sso_core::web::percent_encode;
use tests::apache::Mpm;

fn login_location(site: &Site, d: Option<&str>) -> String {
    // A fresh nonce per login: a ticket is accepted at sso_login only once.
    let secret = sso_core::web::new_nonce();
    let nonce = sso_core::web::nonce_commitment(&secret);
    let names = site.cookies();
    let t = site
        .keys
        .ticket("alice", &site.service(), DOMAIN, 600, Some(&nonce), &[]);
    let mut path = format!("/app/sso_login?t={}", percent_encode(&t));
    if let Some(d) = d {
        path.push_str("&d=");
        path.push_str(&percent_encode(d));
    }
    let r = site
        .apache
        .request(&path)
        .cookie(&names.nonce, &secret)
        .send();
    assert_eq!(r.status, 302, "d={d:?}: {r:?}");
    assert!(
        r.set_cookie_line(&names.ticket).is_some(),
        "d={d:?}: the login itself succeeds"
    );
    r.location().expect("Location").to_owned()
}

#[test]
fn hostile_redirect_targets_never_leave_the_service() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let h = site.apache.host_port();
    let port = site.apache.port();
    let root = format!("https://{h}/app/");
    let shapes: Vec<String> = vec![
        "https://evil.example/".into(),
        "https://evil.example/app/".into(),
        format!("http://{h}/app/x"),
        "//evil.example/".into(),
        "///evil.example/".into(),
        "//evil.example/app/".into(),
        "/\\evil.example/".into(),
        "\\\\evil.example\\".into(),
        "\\/evil.example/".into(),
        "/\\/evil.example/".into(),
        format!("https://evil.example@{h}/app/"),
        format!("https://{h}@evil.example/app/"),
        format!("https://{h}.evil.example/app/"),
        format!("https://{h}0/app/"),
        format!("https://127.0.0.1:443/app/"),
        format!("https://127.0.0.1/app/"),
        format!("https://localhost:{port}/app/"),
        format!("https://[::1]:{port}/app/"),
        format!("https://{h}/"),
        format!("https://{h}/application/"),
        format!("https://{h}/app"),
        format!("https://{h}/app/../admin/"),
        format!("https://{h}/app/%2e%2e/admin/"),
        format!("https://{h}/app/%2E%2E/admin/"),
        format!("https://{h}/app/.%2e/x"),
        format!("https://{h}/app/%2e./x"),
        format!("https://{h}/app/%252e%252e/x"),
        format!("https://{h}/app/..%2f..%2fx"),
        format!("https://{h}/app/..%5cx"),
        format!("https://{h}/app/\\..\\x"),
        format!("https://{h}/app/%5c%5cevil.example"),
        format!("https://{h}/app/%2F%2Fevil.example"),
        format!("https://{h}/app/./x"),
        format!("https://{h}/app/\tx"),
        format!("https://{h}/app/%09x"),
        format!("https://{h}/app/\r\nLocation: https://evil.example/"),
        format!("https://{h}/app/%0d%0aSet-Cookie:%20x=1"),
        format!("https://{h}/app/\nx"),
        format!("https://{h}/app/%00"),
        format!("https://{h}/app/\u{0}x"),
        format!("https://{h}/app/ x"),
        format!(" https://{h}/app/"),
        format!("\thttps://{h}/app/"),
        format!("https://{h}\t/app/"),
        format!("https://{h}/app/\u{e9}"),
        format!("https://{h}/app/\u{202e}lmth.exe"),
        format!("https://{h}#@evil.example/app/"),
        format!("https://{h}?@evil.example/app/"),
        "javascript:alert(1)".into(),
        "JavaScript:alert(document.cookie)//https://x/app/".into(),
        "data:text/html,<script>alert(1)</script>".into(),
        "vbscript:msgbox(1)".into(),
        "https:evil.example".into(),
        "https:/evil.example".into(),
        "https:\\\\evil.example".into(),
        "HTTPS://evil.example/".into(),
        format!("HTTPS://{h}.evil.example/app/"),
        "%68ttps://evil.example/".into(),
        "https%3A%2F%2Fevil.example%2F".into(),
        format!("https://evil.example%2F@{h}/app/"),
        format!("https://{h}%2F@evil.example/app/"),
        "evil.example/app/".into(),
        format!("{h}/app/"),
        format!("ftp://{h}/app/"),
        "/%2F%2Fevil.example".into(),
        "/app/../../evil".into(),
        "/../app/".into(),
        "/app/%2e%2e/%2e%2e/etc/passwd".into(),
        "/app/\\evil".into(),
        "".into(),
    ];
    assert!(shapes.len() >= 50, "{} shapes", shapes.len());
    for d in &shapes {
        let loc = login_location(&site, Some(d));
        assert_eq!(loc, root, "d={d:?} escaped to {loc:?}");
    }
    // No d at all: the root too.
    assert_eq!(login_location(&site, None), root);
}

#[test]
fn honest_redirect_targets_are_kept() {
    tests::return_unless_root!("apache2 as www-data");
    let site = Site::start(Mpm::Event);
    let h = site.apache.host_port();
    for d in [
        format!("https://{h}/app/"),
        format!("https://{h}/app/env.cgi?x=1&y=%2F"),
        format!("https://{h}/app/a/b.html#frag"),
        format!("https://{h}/app/caf%C3%A9"),
    ] {
        assert_eq!(login_location(&site, Some(&d)), d);
    }
    assert_eq!(
        login_location(&site, Some("/app/x?y=1")),
        format!("https://{h}/app/x?y=1")
    );
}
