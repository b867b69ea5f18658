//! mod_sso against the shared table of cases, `tests/cases/flow.json`:
//! the same table the Python middleware's tests send to mod_sso and to the
//! middleware (python/tests/test_flow_cases.py), so the two adapters of the
//! flow cannot drift apart. Plain http, so the cookies have their
//! path-scoped names (`SSO_ticket`, `SSO_nonce`, `SSO_binding`).

mod mod_sso_common;

use mod_sso_common::*;
use serde_json::Value;
use tests::apache::Apache;
use tests::flow_cases::{cases, check_answer, request_of};
use tests::http::{request, HttpResponse};
use tests::util::TestKeys;

fn send(case: &Value, apache: &Apache, keys: &TestKeys, forger: &TestKeys) -> HttpResponse {
    let service = format!("{}/app/", apache.host_port());
    let req = request_of(case, &service, DOMAIN, keys, forger);
    request(
        &apache.https_url(&req.path),
        &req.method,
        &req.headers,
        req.body,
    )
}

fn check(case: &Value, r: &HttpResponse, log: &str, service: &str) {
    let name = case["name"].as_str().unwrap_or("?");
    let exp = &case["expect"];
    check_answer(case, r, log, service, LOGIN);
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
    tests::return_unless_root!("apache2 as www-data");
    let cases = cases();
    let keys = TestKeys::new();
    let forger = TestKeys::new();
    let apache = start_plain_http(&[&keys.public_path]);
    let service = format!("{}/app/", apache.host_port());
    for case in &cases {
        let before = apache.error_log().len();
        let r = send(case, &apache, &keys, &forger);
        let log = apache.error_log()[before..].to_owned();
        check(case, &r, &log, &service);
    }
}
