//! sso-gate as a reverse proxy against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), which mod_sso
//! (tests/tests/mod_sso_cases.rs) and the Python middleware answer too:
//! the gate must answer each case as they do.

use tests::cases::{cases, check, send};
use tests::gate::{Echo, Gate};
use tests::server::DOMAIN;
use tests::util::TestKeys;

const LOGIN: &str = "https://login.example.org/";

#[test]
fn sso_gate_answers_every_case_of_the_shared_table() {
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
    for case in cases() {
        let before = gate.log().len();
        let r = send(&case, gate.port, &service, &keys, &forger);
        // The flow's lines are written before the answer is sent.
        let log = gate.log()[before..].to_owned();
        check(&case, &r, &log, &service, LOGIN);
    }
}
