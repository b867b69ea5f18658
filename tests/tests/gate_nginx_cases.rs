//! sso-gate behind Debian's nginx (`auth_request`, the snippet of
//! docs/sso-gate.md) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), which mod_sso and the
//! Python middleware answer too: through nginx the site must answer each
//! case as they do, and a client's own identity headers never reach the
//! application (tests/src/spoof.rs).

use tests::gate::{doc_snippet, Nginx};
use tests::proxied::ProxiedGate;

#[test]
fn nginx_with_sso_gate_answers_every_case_of_the_shared_table() {
    let site = ProxiedGate::start();
    let snippet = doc_snippet("<!-- nginx snippet", "nginx")
        .replace("listen 80;", &format!("listen 127.0.0.1:{};", site.port));
    let nginx = Nginx::start(site.port, &site.wire(&snippet));
    // nginx sends sso_logout to the gate's own PATH/sso_logout: mod_sso's 200.
    site.answer_every_case(false, || nginx.error_log(), 200);
}
