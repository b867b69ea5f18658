//! sso-gate behind Debian's caddy (`forward_auth`, the snippet of
//! docs/sso-gate.md) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), with the one documented
//! difference of `/forward-auth` (`sso_logout` answers 302), and a client
//! that sends identity headers of its own (tests/src/spoof.rs). One
//! fixture for the binary.

use sso_integration::cases::{cases, check, send, through_forward_auth};
use sso_integration::gate::{doc_snippet, Caddy, Echo, Gate};
use sso_integration::server::DOMAIN;
use sso_integration::spoof::check_spoofing;
use sso_integration::util::{free_port, TestKeys};

const LOGIN: &str = "https://login.example.org/";

#[test]
fn caddy_with_sso_gate_answers_the_shared_table_and_drops_spoofed_headers() {
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
    let site = doc_snippet("## Caddy", "caddy")
        .replace("app.example.org {", &format!("http://127.0.0.1:{port} {{"))
        .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", gate.port))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", echo.port));
    let caddy = Caddy::start(port, &site);
    for case in cases() {
        let case = through_forward_auth(&case);
        let before = gate.log().len();
        let r = send(&case, port, &service, &keys, &forger);
        let log = format!("{}\n--- caddy:\n{}", &gate.log()[before..], caddy.log());
        check(&case, &r, &log, &service, LOGIN);
    }
    check_spoofing(port, &service, &keys, &forger, 302);
}
