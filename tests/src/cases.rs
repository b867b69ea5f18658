//! The shared table of cases, `tests/cases/flow.json` (which mod_sso and
//! the Python middleware answer too), sent to sso-gate's fronts: the
//! tickets of a case, the request, and the check of the answer. What
//! mod_sso puts in the CGI environment reaches the application behind the
//! gate as headers (`REMOTE_USER` as `Remote-User`, `SSO_USER` as
//! `X-Forwarded-User`, `SSO_GROUPS` as `Remote-Groups`, read from the echo
//! of [`crate::gate::Echo`]); `AUTH_TYPE` and `SSO_SERVICE` have no header
//! and are not compared.

use serde_json::Value;
use sso_core::web::percent_encode;
use sso_core::{Ticket, Version};

use crate::gate::echoed_headers;
use crate::http::{http, HttpResponse};
use crate::server::DOMAIN;
use crate::util::{workspace_root, TestKeys};

/// The table's cases.
pub fn cases() -> Vec<Value> {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("tests/cases/flow.json"))
            .expect("tests/cases/flow.json"),
    )
    .expect("the case table is JSON");
    let cases = table["cases"].as_array().expect("cases").clone();
    assert!(cases.len() >= 20, "the table lost cases");
    cases
}

/// A ticket from a case's spec (see the table's `about`).
pub fn ticket_of(spec: &Value, service: &str, keys: &TestKeys, forger: &TestKeys) -> String {
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
        let mut t = Ticket::new(user, svc, DOMAIN, sso_core::unix_now() + 600);
        t.version = Version::V3;
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        signer.signer.sign(&t).expect("sign v3")
    } else {
        signer.ticket(user, svc, domain, ttl, text("nonce"), &groups)
    };
    if text("mangle") == Some("truncate") {
        t[..t.len() / 2].to_owned()
    } else {
        t
    }
}

/// Sends a case to `127.0.0.1:PORT`, whose service is `service`.
pub fn send(
    case: &Value,
    port: u16,
    service: &str,
    keys: &TestKeys,
    forger: &TestKeys,
) -> HttpResponse {
    let service = service.to_owned();
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
    http(port, method, &path, &headers, body)
}

pub fn check(case: &Value, r: &HttpResponse, log: &str, service: &str, login: &str) {
    let name = case["name"].as_str().unwrap_or("?");
    let exp = &case["expect"];
    let text = |k: &str| exp.get(k).and_then(Value::as_str);
    assert_eq!(
        Some(u64::from(r.status)),
        exp["status"].as_u64(),
        "{name}: {r:?}\n{log}"
    );
    let location = r.location().unwrap_or("");
    if text("location") == Some("login") {
        assert!(
            location.starts_with(&format!("{login}?")),
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
    let env: Vec<(&String, &Value)> = exp
        .get("env")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    if env.is_empty() {
        return;
    }
    let seen = echoed_headers(&r.body);
    let header = |n: &str| {
        seen.iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    for (key, want) in env {
        let want = want.as_str().unwrap_or_default();
        let got = match key.as_str() {
            "REMOTE_USER" => header("remote-user"),
            "SSO_USER" => header("x-forwarded-user"),
            "SSO_GROUPS" => header("remote-groups"),
            _ => continue,
        };
        // nginx sends no header for an empty value (proxy_set_header): for
        // the application that is the empty value.
        let got = if got.is_empty() { vec![""] } else { got };
        assert_eq!(got, [want], "{name}: {key}: {seen:?}");
    }
}

/// A case as a proxy in front of `/forward-auth` (Caddy, Traefik) must
/// answer it. The one documented difference (docs/sso-gate.md, "Answers
/// unlike mod_sso's"): `sso_logout` is a `302` into the service rather than
/// mod_sso's `200`, since a 2xx would let the proxy hand the logout to the
/// application. Everything else is expected as the table says.
pub fn through_forward_auth(case: &Value) -> Value {
    let mut case = case.clone();
    let path = case["request"]["path"].as_str().unwrap_or_default();
    if path
        .split('?')
        .next()
        .unwrap_or_default()
        .ends_with("/sso_logout")
    {
        let exp = &mut case["expect"];
        assert_eq!(exp["status"].as_u64(), Some(200), "the table changed");
        exp["status"] = 302.into();
        exp["location_has"] = "/app/".into();
    }
    case
}
