//! A client that sends identity headers of its own, through any front of
//! sso-gate (nginx, Caddy, Traefik, Envoy, the reverse proxy): they never
//! reach the application (tests/src/gate.rs's echo), with a valid ticket
//! (the gate's values replace them), on a public route, nor where the gate
//! refuses (its 302/401 goes to the client, never to the application).

use serde_json::Value;

use crate::cases::{cases, ticket_of};
use crate::gate::echoed_headers;
use crate::http::http;
use crate::util::TestKeys;

/// The identity headers a client may try to set.
pub const SPOOF: [(&str, &str); 6] = [
    ("Remote-User", "root"),
    ("X-Forwarded-User", "root"),
    ("X-Forwarded-Groups", "admins"),
    ("Remote-Groups", "admins"),
    ("X-Auth-Request-User", "root"),
    ("X-Auth-Request-Groups", "admins"),
];

/// No identity header the client sent reached the application.
pub fn assert_no_spoof(body: &str, what: &str) {
    let seen = echoed_headers(body);
    for (name, value) in &seen {
        let spoofed = SPOOF
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value);
        assert!(
            !spoofed,
            "{what}: {name}: {value} reached the app: {seen:?}"
        );
    }
}

/// The checks, against a site on `127.0.0.1:PORT` whose gate has the
/// table's routes (`service` at /app/) and a public route at /public/.
/// `logout_status`: what `/app/sso_logout` answers through this front.
pub fn check_spoofing(
    port: u16,
    service: &str,
    keys: &TestKeys,
    forger: &TestKeys,
    logout_status: u16,
) {
    let spoof: Vec<(String, String)> = SPOOF
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let valid = cases()
        .into_iter()
        .find(|c| c["name"] == "valid v4 ticket cookie reaches the application")
        .expect("the valid-ticket case of tests/cases/flow.json");
    let pairs: Vec<String> = valid["request"]["cookies"]
        .as_object()
        .expect("its cookies")
        .iter()
        .map(|(name, spec)| format!("{name}={}", ticket_of(spec, service, keys, forger)))
        .collect();
    let mut h = vec![("Cookie".to_owned(), pairs.join("; "))];
    h.extend(spoof.iter().cloned());
    let r = http(port, "GET", "/app/env.cgi", &h, None);
    assert_eq!(r.status, 200, "protected route: {r:?}");
    assert_no_spoof(&r.body, "protected route");
    let seen = echoed_headers(&r.body);
    let users: Vec<&str> = seen
        .iter()
        .filter(|(n, _)| n == "remote-user")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(users.len(), 1, "one Remote-User, the gate's: {seen:?}");

    let r = http(port, "GET", "/public/page", &spoof, None);
    assert_eq!(r.status, 200, "public route: {r:?}");
    assert_no_spoof(&r.body, "public route");

    let mut garbage = spoof.clone();
    garbage.push(("Authorization".to_owned(), "SSO garbage".to_owned()));
    for (method, path, headers, status) in [
        ("GET", "/app/env.cgi", &spoof, 302),
        ("POST", "/app/env.cgi", &spoof, 401),
        ("GET", "/app/env.cgi", &garbage, 401),
        ("GET", "/app/sso_logout", &spoof, logout_status),
    ] {
        let body = (method == "POST").then_some("x=1");
        let r = http(port, method, path, headers, body);
        assert_eq!(r.status, status, "{method} {path}: {r:?}");
        let reached = serde_json::from_str::<Value>(&r.body)
            .map(|v| v.get("headers").is_some())
            .unwrap_or(false);
        assert!(!reached, "{method} {path}: the application answered: {r:?}");
    }
}
