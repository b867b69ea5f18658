//! mod_sso against the shared table of cases, `tests/cases/flow.json`:
//! the same table the Python middleware's tests send to mod_sso and to the
//! middleware (python/tests/test_flow_cases.py), so the two adapters of the
//! flow cannot drift apart. Plain http, so the cookies have their
//! path-scoped names (`SSO_ticket`, `SSO_nonce`, `SSO_binding`).

mod mod_sso_common;

use mod_sso_common::*;
use serde_json::Value;
use sso_core::web::percent_encode;
use sso_integration::apache::{Apache, ApacheConfig, Mpm};
use sso_integration::http::{request, HttpResponse};
use sso_integration::util::{workspace_root, TestKeys};

/// A ticket from a case's spec (see the table's `about`).
fn ticket_of(spec: &Value, service: &str, keys: &TestKeys, forger: &TestKeys) -> String {
    if let Some(s) = spec.as_str() {
        return if s == "@LONG@" {
            "A".repeat(5000)
        } else {
            s.to_owned()
        };
    }
    let text = |k: &str| spec.get(k).and_then(Value::as_str);
    let signer = if text("signer") == Some("forged") {
        forger
    } else {
        keys
    };
    let user = text("user").unwrap_or("alice");
    let svc = if text("service") == Some("other") {
        "127.0.0.1:1/app/"
    } else {
        service
    };
    let domain = if text("domain") == Some("other") {
        "other.example"
    } else {
        DOMAIN
    };
    let groups: Vec<&str> = spec
        .get("groups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ttl = spec.get("ttl").and_then(Value::as_i64).unwrap_or(600);
    let t = if spec.get("version").and_then(Value::as_u64) == Some(3) {
        ticket_v3(signer, user, svc, &groups)
    } else {
        signer.ticket(user, svc, domain, ttl, text("nonce"), &groups)
    };
    if text("mangle") == Some("truncate") {
        t[..t.len() / 2].to_owned()
    } else {
        t
    }
}

fn send(case: &Value, apache: &Apache, keys: &TestKeys, forger: &TestKeys) -> HttpResponse {
    let service = format!("{}/app/", apache.host_port());
    let req = &case["request"];
    let shown = req
        .get("ticket")
        .map(|s| ticket_of(s, &service, keys, forger))
        .unwrap_or_default();
    let path = req["path"]
        .as_str()
        .expect("path")
        .replace("@TICKET@", &percent_encode(&shown));
    let mut headers = Vec::new();
    if let Some(cookies) = req.get("cookies").and_then(Value::as_object) {
        let pairs: Vec<String> = cookies
            .iter()
            .map(|(name, spec)| format!("{name}={}", ticket_of(spec, &service, keys, forger)))
            .collect();
        headers.push(("Cookie".to_owned(), pairs.join("; ")));
    }
    if let Some(raw) = req.get("raw_cookie").and_then(Value::as_str) {
        // The table's non-ASCII characters go out UTF-8 encoded here (the
        // Python side sends them as single bytes).
        headers.push(("Cookie".to_owned(), raw.replace("@TICKET@", &shown)));
    }
    if let Some(spec) = req.get("authorization") {
        let t = ticket_of(spec, &service, keys, forger);
        headers.push(("Authorization".to_owned(), format!("SSO {t}")));
    }
    if let Some(raw) = req.get("raw_authorization").and_then(Value::as_str) {
        headers.push(("Authorization".to_owned(), raw.to_owned()));
    }
    let method = req.get("method").and_then(Value::as_str).unwrap_or("GET");
    let body = (method == "POST").then_some("x=1");
    request(&apache.https_url(&path), method, &headers, body)
}

fn check(case: &Value, r: &HttpResponse, log: &str, service: &str) {
    let name = case["name"].as_str().unwrap_or("?");
    let exp = &case["expect"];
    let text = |k: &str| exp.get(k).and_then(Value::as_str);
    assert_eq!(
        Some(u64::from(r.status)),
        exp["status"].as_u64(),
        "{name}: {r:?}"
    );
    let location = r.location().unwrap_or("");
    if text("location") == Some("login") {
        assert!(
            location.starts_with(&format!("{LOGIN}?")),
            "{name}: {location}"
        );
        assert!(
            location.contains(&format!("s={}", percent_encode(service))),
            "{name}: {location}"
        );
    }
    if let Some(part) = text("location_has") {
        assert!(location.contains(part), "{name}: {location}");
    }
    for cookie in exp
        .get("set_cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cookie = cookie.as_str().unwrap_or_default();
        assert!(
            r.set_cookie_line(cookie).is_some(),
            "{name}: {cookie} not set"
        );
    }
    if let Some(check) = text("check") {
        assert!(
            log.contains(&format!("check '{check}' failed")),
            "{name}: no log line naming {check:?}:\n{log}"
        );
    }
    if let Some(line) = text("log") {
        assert!(log.contains(line), "{name}: {line:?} not logged:\n{log}");
    }
    if let Some(part) = text("www_authenticate_has") {
        let challenge = r.header("www-authenticate").unwrap_or("");
        assert!(challenge.contains(part), "{name}: {challenge}");
    }
    for (key, want) in exp
        .get("env")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let want = want
            .as_str()
            .unwrap_or_default()
            .replace("@SERVICE@", service);
        assert_eq!(
            cgi_value(&r.body, key),
            Some(want.as_str()),
            "{name}: {key}"
        );
    }
}

#[test]
fn mod_sso_answers_every_case_of_the_shared_table() {
    if !need_root() {
        return;
    }
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("tests/cases/flow.json"))
            .expect("tests/cases/flow.json"),
    )
    .expect("the case table is JSON");
    let cases = table["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "the table lost cases");
    let keys = TestKeys::new();
    let forger = TestKeys::new();
    let apache = Apache::start(ApacheConfig {
        mpm: Mpm::Event,
        tls: false,
        config: site_config(&[&keys.public_path]),
        files: site_files(),
        ..ApacheConfig::default()
    });
    let service = format!("{}/app/", apache.host_port());
    for case in cases {
        let before = apache.error_log().len();
        let r = send(case, &apache, &keys, &forger);
        let log = apache.error_log()[before..].to_owned();
        check(case, &r, &log, &service);
    }
}
