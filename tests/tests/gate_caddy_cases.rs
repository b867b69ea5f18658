//! sso-gate behind Debian's caddy (`forward_auth`, the snippet of
//! docs/sso-gate.md) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), with the one documented
//! difference of `/forward-auth` (`sso_logout` answers 302), and a client
//! that sends identity headers of its own (tests/src/spoof.rs). One
//! fixture for the binary.

use tests::gate::{doc_snippet, Caddy};
use tests::proxied::ProxiedGate;

#[test]
fn caddy_with_sso_gate_answers_the_shared_table_and_drops_spoofed_headers() {
    let site = ProxiedGate::start();
    let snippet = doc_snippet("## Caddy", "caddy").replace(
        "app.example.org {",
        &format!("http://127.0.0.1:{} {{", site.port),
    );
    let caddy = Caddy::start(site.port, &site.wire(&snippet));
    site.answer_every_case(true, || caddy.log(), 302);
}
