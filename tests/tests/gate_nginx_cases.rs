//! sso-gate behind Debian's nginx (`auth_request`, the snippet of
//! docs/sso-gate.md) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), which mod_sso and the
//! Python middleware answer too: through nginx the site must answer each
//! case as they do, and a client's own identity headers never reach the
//! application (tests/src/spoof.rs).

use sso_integration::cases::{cases, check, send};
use sso_integration::gate::{doc_snippet, Echo, Gate, Nginx};
use sso_integration::server::DOMAIN;
use sso_integration::spoof::check_spoofing;
use sso_integration::util::{free_port, TestKeys};

const LOGIN: &str = "https://login.example.org/";

#[test]
fn nginx_with_sso_gate_answers_every_case_of_the_shared_table() {
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
    let site = doc_snippet("<!-- nginx snippet", "nginx")
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", gate.port))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", echo.port));
    let nginx = Nginx::start(port, &site);
    for case in cases() {
        let before = gate.log().len();
        let r = send(&case, port, &service, &keys, &forger);
        let log = gate.log()[before..].to_owned();
        let log = format!("{log}\n--- nginx:\n{}", nginx.error_log());
        check(&case, &r, &log, &service, LOGIN);
    }
    // nginx sends sso_logout to the gate's own PATH/sso_logout: mod_sso's 200.
    check_spoofing(port, &service, &keys, &forger, 200);
}
