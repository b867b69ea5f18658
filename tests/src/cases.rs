//! The shared table of cases, `tests/cases/flow.json` (which mod_sso and
//! the Python middleware answer too; read and built by
//! [`crate::flow_cases`]), sent to sso-gate's fronts. What
//! mod_sso puts in the CGI environment reaches the application behind the
//! gate as headers (`REMOTE_USER` as `Remote-User`, `SSO_USER` as
//! `X-Forwarded-User`, `SSO_GROUPS` as `Remote-Groups`, read from the echo
//! of [`crate::gate::Echo`]); `AUTH_TYPE` and `SSO_SERVICE` have no header
//! and are not compared.

use serde_json::Value;

use crate::flow_cases::{check_answer, request_of};
use crate::gate::{echoed_headers, header_values};
use crate::http::{http, HttpResponse};
use crate::server::DOMAIN;
use crate::util::TestKeys;

pub use crate::flow_cases::cases;

/// A ticket from a case's spec for `service` in the tests' domain.
pub fn ticket_of(spec: &Value, service: &str, keys: &TestKeys, forger: &TestKeys) -> String {
    crate::flow_cases::ticket_of(spec, service, DOMAIN, keys, forger)
}

/// Sends a case to `127.0.0.1:PORT`, whose service is `service`.
pub fn send(
    case: &Value,
    port: u16,
    service: &str,
    keys: &TestKeys,
    forger: &TestKeys,
) -> HttpResponse {
    let req = request_of(case, service, DOMAIN, keys, forger);
    http(port, &req.method, &req.path, &req.headers, req.body)
}

/// Checks the answer as every adapter gives it ([`check_answer`]), then
/// the user passed on as the application behind the gate sees it.
pub fn check(case: &Value, r: &HttpResponse, log: &str, service: &str, login: &str) {
    check_answer(case, r, log, service, login);
    let name = case["name"].as_str().unwrap_or("?");
    let exp = &case["expect"];
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
    let header = |n: &str| header_values(&seen, n);
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

/// A case as a proxy in front of `/forward-auth` (Caddy, Traefik, Envoy)
/// must answer it. The one documented difference (docs/sso-gate.md,
/// "Answers unlike mod_sso's"): `sso_logout` is a `302` into the service
/// rather than mod_sso's `200`, since a 2xx would let the proxy hand the
/// logout to the application. Everything else is expected as the table
/// says.
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
