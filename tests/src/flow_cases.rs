//! The shared table of flow cases, `tests/cases/flow.json`: reading it,
//! building each case's request and checking the parts of its answer that
//! every adapter gives alike. mod_sso (tests/tests/mod_sso_cases.rs) and
//! sso-gate (tests/tests/gate_cases.rs) send it through these, so the two
//! cannot read the table differently; each checks its own way of passing
//! the user on (CGI environment, proxy headers).

use serde_json::Value;
use sso_core::web::percent_encode;
use sso_core::{Ticket, Version};

use crate::http::HttpResponse;
use crate::util::{workspace_root, TestKeys};

/// The table's cases; fails the test if it lost some.
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

/// A ticket from a case's spec (see the table's `about`), for `service`
/// in the adapter's `domain`.
pub fn ticket_of(
    spec: &Value,
    service: &str,
    domain: &str,
    keys: &TestKeys,
    forger: &TestKeys,
) -> String {
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
    let our_domain = domain;
    let domain = if text("domain") == Some("other") {
        "other.example"
    } else {
        our_domain
    };
    let groups: Vec<&str> = spec
        .get("groups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ttl = spec.get("ttl").and_then(Value::as_i64).unwrap_or(600);
    let t = if spec.get("version").and_then(Value::as_u64) == Some(3) {
        let mut t = Ticket::new(user, svc, our_domain, sso_core::unix_now() + 600);
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

/// A case's request, ready to send to the adapter protecting `service`.
pub struct CaseRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<&'static str>,
}

/// The request of `case`, its tickets signed by `keys` (or `forger`) for
/// `service` in `domain`.
pub fn request_of(
    case: &Value,
    service: &str,
    domain: &str,
    keys: &TestKeys,
    forger: &TestKeys,
) -> CaseRequest {
    let req = &case["request"];
    let shown = req
        .get("ticket")
        .map(|s| ticket_of(s, service, domain, keys, forger))
        .unwrap_or_default();
    let path = req["path"]
        .as_str()
        .expect("path")
        .replace("@TICKET@", &percent_encode(&shown));
    let mut headers = Vec::new();
    if let Some(cookies) = req.get("cookies").and_then(Value::as_object) {
        let pairs: Vec<String> = cookies
            .iter()
            .map(|(name, spec)| {
                format!("{name}={}", ticket_of(spec, service, domain, keys, forger))
            })
            .collect();
        headers.push(("Cookie".to_owned(), pairs.join("; ")));
    }
    if let Some(raw) = req.get("raw_cookie").and_then(Value::as_str) {
        // The table's non-ASCII characters go out UTF-8 encoded here (the
        // Python side sends them as single bytes).
        headers.push(("Cookie".to_owned(), raw.replace("@TICKET@", &shown)));
    }
    if let Some(spec) = req.get("authorization") {
        let t = ticket_of(spec, service, domain, keys, forger);
        headers.push(("Authorization".to_owned(), format!("SSO {t}")));
    }
    if let Some(raw) = req.get("raw_authorization").and_then(Value::as_str) {
        headers.push(("Authorization".to_owned(), raw.to_owned()));
    }
    let method = req.get("method").and_then(Value::as_str).unwrap_or("GET");
    CaseRequest {
        method: method.to_owned(),
        body: (method == "POST").then_some("x=1"),
        path,
        headers,
    }
}

/// Checks what every adapter answers alike for `case`: the status, the
/// redirect to `login` for `service`, the cookies set, the log lines
/// (`log` holds what the adapter logged for this request) and the
/// challenge. The user passed on is left to the caller.
pub fn check_answer(case: &Value, r: &HttpResponse, log: &str, service: &str, login: &str) {
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
}
