//! sso-gate behind Debian's caddy with `forward_auth`, configured with the
//! snippet docs/sso-gate.md gives, in front of a real application (Python's
//! http.server echoing what it received), with the real login server. One
//! fixture for the binary: the steps run in order in one test.

use tests::gate::{doc_snippet, echoed_headers, header_values, login_server, Caddy, Echo, Gate};
use tests::server::{http, query_params, Cookies, DOMAIN};
use tests::util::free_port;

const PASSWORD: &str = "gate-caddy-password";

#[test]
fn sso_gate_behind_caddy() {
    let (keys, server, _users_dir) = login_server(PASSWORD);
    let port = free_port();
    let gate = Gate::start(&format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"http://127.0.0.1:{}/\"\n\
         domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n\
         [[route]]\nservice = \"127.0.0.1:{port}/app/\"\n\
         [[route]]\npath = \"/\"\nmode = \"public\"\n",
        server.port, keys.public_path
    ));
    let echo = Echo::start();
    let site = doc_snippet("## Caddy", "caddy")
        .replace("app.example.org {", &format!("http://127.0.0.1:{port} {{"))
        .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", gate.port))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", echo.port));
    let caddy = Caddy::start(port, &site);
    let diagnose = || format!("--- gate:\n{}\n--- caddy:\n{}", gate.log(), caddy.log());
    let site_path = |url: &str| {
        url.strip_prefix(&format!("https://127.0.0.1:{port}"))
            .unwrap_or_else(|| panic!("not a URL of the site: {url}"))
            .to_owned()
    };

    // No ticket: the gate's 302 reaches the browser, with the nonce cookie.
    let mut jar = Cookies::new();
    let r = http(port, "GET", "/app/page", &[], None);
    assert_eq!(r.status, 302, "{r:?}\n{}", diagnose());
    jar.update(&r);
    assert!(jar.get("SSO_nonce").is_some(), "{r:?}");
    let login = r.location().expect("Location").to_owned();
    let ask = login
        .strip_prefix(&format!("http://127.0.0.1:{}", server.port))
        .unwrap_or_else(|| panic!("to the login server: {login}"))
        .to_owned();
    let back = server.login(&mut Cookies::new(), &ask, "alice", PASSWORD);
    assert_eq!(back.status, 302, "{}", back.body);
    let sso_login = site_path(back.location().expect("Location"));
    let ticket = query_params(&sso_login)
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, t)| t)
        .expect("t");

    // sso_login is answered by the gate through X-Forwarded-Uri.
    let done = http(port, "GET", &sso_login, &jar.header(), None);
    assert_eq!(done.status, 302, "{done:?}\n{}", diagnose());
    jar.update(&done);
    assert!(
        jar.get("SSO_ticket").is_some() && jar.get("SSO_binding").is_some(),
        "{done:?}"
    );
    assert_eq!(site_path(done.location().expect("Location")), "/app/page");

    // The page: Caddy copies the gate's Remote-User to the application,
    // over the client's own.
    let mut h = jar.header();
    h.push(("Remote-User".into(), "root".into()));
    let r = http(port, "GET", "/app/page", &h, None);
    assert_eq!(r.status, 200, "{r:?}\n{}", diagnose());
    let seen = echoed_headers(&r.body);
    assert_eq!(header_values(&seen, "remote-user"), ["alice"], "{seen:?}");

    // A public route, and a refused request: no spoofed header gets through.
    let spoof = vec![("Remote-User".to_owned(), "root".to_owned())];
    let r = http(port, "GET", "/public", &spoof, None);
    assert_eq!(r.status, 200, "{r:?}");
    // The gate answers a public route with empty identity headers, which
    // Caddy copies over the client's.
    let seen = echoed_headers(&r.body);
    for name in ["remote-user", "remote-groups", "x-auth-request-user"] {
        assert!(
            header_values(&seen, name).iter().all(|v| v.is_empty()),
            "{name}: {seen:?}"
        );
    }
    let r = http(port, "GET", "/app/page", &spoof, None);
    assert_eq!(r.status, 302, "{r:?}");

    // Logout through forward-auth: cookies cleared, back into the service.
    let out = http(port, "GET", "/app/sso_logout", &jar.header(), None);
    assert_eq!(out.status, 302, "{out:?}");
    assert!(out.set_cookie_line("SSO_ticket").is_some(), "{out:?}");
    let r = http(port, "GET", "/app/page", &jar.header(), None);
    assert_eq!(r.status, 302, "revoked: {r:?}");
    assert!(
        !gate.log().contains(&ticket),
        "a ticket in the log:\n{}",
        gate.log()
    );
}
