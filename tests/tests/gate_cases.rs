//! sso-gate as a reverse proxy against the shared table of cases,
//! `tests/cases/flow.json`, which mod_sso (tests/tests/mod_sso_cases.rs)
//! and the Python middleware answer too: the gate must answer each case as
//! they do. The application is the echo of tests/src/gate.rs; what mod_sso
//! puts in the CGI environment the gate sends as headers (`REMOTE_USER`
//! and `SSO_USER` as `Remote-User`/`X-Forwarded-User`, `SSO_GROUPS` as
//! `Remote-Groups`); `AUTH_TYPE` and `SSO_SERVICE` have no header and are
//! not compared.

use serde_json::Value;
use sso_integration::flow_cases::{cases, check_answer, request_of};
use sso_integration::gate::{echoed_headers, header_values, Echo, Gate};
use sso_integration::http::{http, HttpResponse};
use sso_integration::server::DOMAIN;
use sso_integration::util::TestKeys;

const LOGIN: &str = "https://login.example.org/";

fn send(case: &Value, gate: &Gate, keys: &TestKeys, forger: &TestKeys) -> HttpResponse {
    let service = format!("127.0.0.1:{}/app/", gate.port);
    let req = request_of(case, &service, DOMAIN, keys, forger);
    http(gate.port, &req.method, &req.path, &req.headers, req.body)
}

fn check(case: &Value, r: &HttpResponse, log: &str, service: &str) {
    let name = case["name"].as_str().unwrap_or("?");
    let exp = &case["expect"];
    check_answer(case, r, log, service, LOGIN);
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
        assert_eq!(got, [want], "{name}: {key}: {seen:?}");
    }
}

#[test]
fn sso_gate_answers_every_case_of_the_shared_table() {
    let cases = cases();
    let keys = TestKeys::new();
    let forger = TestKeys::new();
    let echo = Echo::start();
    let upstream = format!("http://127.0.0.1:{}", echo.port);
    let gate = Gate::start(&format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"{LOGIN}\"\ndomain = \"{DOMAIN}\"\n\
         public_key_files = [{:?}]\nlog_level = \"debug\"\n\
         [[route]]\nservice = \"127.0.0.1:{{port}}/app/\"\nupstream = \"{upstream}\"\n\
         [[route]]\nservice = \"127.0.0.1:{{port}}/app/\"\npath = \"/app/needgroup/\"\n\
         groups = [\"admins\", \"staff\"]\nupstream = \"{upstream}\"\n",
        keys.public_path
    ));
    let service = format!("127.0.0.1:{}/app/", gate.port);
    for case in &cases {
        let before = gate.log().len();
        let r = send(case, &gate, &keys, &forger);
        // The flow's lines are written before the answer is sent.
        let log = gate.log()[before..].to_owned();
        check(case, &r, &log, &service);
    }
}
