//! sso-gate behind Debian's nginx with `auth_request`, configured with the
//! very snippet docs/sso-gate.md gives, in front of an application (a
//! second nginx server that echoes the identity headers it receives), with
//! the real login server issuing the tickets. One fixture for the binary:
//! the steps run in order in one test.

use tests::gate::{doc_snippet, login_server, run_gate, Gate, Nginx};
use tests::server::{http, Cookies, HttpResponse, SsoServer, DOMAIN};
use tests::util::{free_port, TestKeys};

const PASSWORD: &str = "gate-test-password";

struct Site {
    keys: TestKeys,
    server: SsoServer,
    gate: Gate,
    nginx: Nginx,
    _users: tempfile::TempDir,
}

impl Site {
    fn start() -> Site {
        let (keys, server, users_dir) = login_server(PASSWORD);
        let nginx_port = free_port();
        let gate = Gate::start(&gate_config(&keys, server.port, nginx_port, ""));
        let echo_port = free_port();
        let site = doc_snippet("<!-- nginx snippet", "nginx")
            .replace("listen 80;", &format!("listen 127.0.0.1:{nginx_port};"))
            .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", gate.port))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{echo_port}"));
        // The application: what it was told about the user.
        let echo = format!(
            "server {{\n  listen 127.0.0.1:{echo_port};\n  location / {{\n    default_type text/plain;\n    \
             return 200 \"remote-user=[$http_remote_user] remote-groups=[$http_remote_groups] \
             x-forwarded-user=[$http_x_forwarded_user] x-auth-request-user=[$http_x_auth_request_user] \
             uri=[$request_uri]\\n\";\n  }}\n}}\n"
        );
        let nginx = Nginx::start(nginx_port, &format!("{site}\n{echo}"));
        Site {
            keys,
            server,
            gate,
            nginx,
            _users: users_dir,
        }
    }

    fn service(&self, path: &str) -> String {
        format!("127.0.0.1:{}{path}", self.nginx.port)
    }

    fn get(&self, path: &str, headers: &[(String, String)]) -> HttpResponse {
        http(self.nginx.port, "GET", path, headers, None)
    }

    fn diagnose(&self) -> String {
        format!(
            "--- gate:\n{}\n--- nginx:\n{}",
            self.gate.log(),
            self.nginx.error_log()
        )
    }

    /// The path of an https URL on the nginx site (the flow always names
    /// https; the test speaks plain http to the same port).
    fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&format!("https://127.0.0.1:{}", self.nginx.port))
            .unwrap_or_else(|| panic!("not a URL of the site: {url}"))
            .to_owned()
    }
}

fn gate_config(keys: &TestKeys, login_port: u16, nginx_port: u16, extra: &str) -> String {
    format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"http://127.0.0.1:{login_port}/\"\n\
         domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n{extra}\n\
         [[route]]\nservice = \"127.0.0.1:{nginx_port}/app/\"\n\
         [[route]]\nservice = \"127.0.0.1:{nginx_port}/admin/\"\ngroups = [\"admins\"]\n\
         [[route]]\nservice = \"127.0.0.1:{nginx_port}/api/\"\nmode = \"api\"\n\
         [[route]]\npath = \"/\"\nmode = \"public\"\n",
        keys.public_path
    )
}

fn auth(ticket: &str) -> Vec<(String, String)> {
    vec![("Authorization".into(), format!("SSO {ticket}"))]
}

/// A browser: no ticket → login server → sso_login (through nginx to the
/// gate) → the page, with the user passed to the application.
fn browser_login(site: &Site) -> (Cookies, String) {
    let mut jar = Cookies::new();
    let r = site.get("/app/page?x=1", &[]);
    assert_eq!(
        r.status,
        302,
        "to the login server: {r:?}\n{}",
        site.diagnose()
    );
    let login_url = r.location().expect("Location").to_owned();
    let login_prefix = format!("http://127.0.0.1:{}/", site.server.port);
    let ask = login_url
        .strip_prefix(&login_prefix)
        .map(|q| format!("/{q}"))
        .unwrap_or_else(|| panic!("to the login server: {login_url}"));
    jar.update(&r);
    assert!(jar.get("SSO_nonce").is_some(), "the nonce cookie: {r:?}");
    let mut server_jar = Cookies::new();
    let back = site.server.login(&mut server_jar, &ask, "alice", PASSWORD);
    assert_eq!(
        back.status, 302,
        "the login server sends the browser back: {}",
        back.body
    );
    let sso_login = site.path_of(back.location().expect("Location"));
    let ticket = tests::server::query_params(&sso_login)
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, t)| t)
        .expect("a ticket in the sso_login URL");
    let done = site.get(&sso_login, &jar.header());
    assert_eq!(done.status, 302, "sso_login: {done:?}\n{}", site.diagnose());
    jar.update(&done);
    assert!(
        jar.get("SSO_ticket").is_some() && jar.get("SSO_binding").is_some(),
        "{done:?}"
    );
    assert_eq!(
        site.path_of(done.location().expect("Location")),
        "/app/page?x=1"
    );
    let page = site.get("/app/page?x=1", &jar.header());
    assert_eq!(page.status, 200, "{page:?}\n{}", site.diagnose());
    page.assert_body_has("remote-user=[alice]");
    page.assert_body_has("x-auth-request-user=[alice]");
    // Replaying the sso_login URL (say, from a log) binds nothing.
    let replay = site.get(&sso_login, &[]);
    assert_ne!(replay.status, 200, "{replay:?}");
    assert!(replay.set_cookie_line("SSO_ticket").is_none(), "{replay:?}");
    (jar, ticket)
}

#[test]
fn sso_gate_behind_nginx() {
    let mut site = Site::start();
    let (jar, browser_ticket) = browser_login(&site);

    // A client's own identity headers never reach the application.
    let mut spoof = jar.header();
    spoof.push(("Remote-User".into(), "root".into()));
    spoof.push(("X-Forwarded-User".into(), "root".into()));
    let r = site.get("/app/page", &spoof);
    assert!(
        r.body.contains("remote-user=[alice]") && r.body.contains("x-forwarded-user=[alice]"),
        "{}",
        r.body
    );
    let r = site.get("/public", &[("Remote-User".into(), "root".into())]);
    assert_eq!(r.status, 200, "a public route: {r:?}");
    r.assert_body_has("remote-user=[]");

    // Groups: a ticket without one of the route's is refused with 403.
    let admin = site.service("/admin/");
    let staff = site
        .keys
        .ticket("alice", &admin, DOMAIN, 300, None, &["staff"]);
    assert_eq!(site.get("/admin/", &auth(&staff)).status, 403);
    let admins = site
        .keys
        .ticket("alice", &admin, DOMAIN, 300, None, &["admins"]);
    let r = site.get("/admin/", &auth(&admins));
    assert_eq!(r.status, 200, "{r:?}");
    r.assert_body_has("remote-groups=[admins]");

    // API routes: 401 with WWW-Authenticate, never a redirect.
    let r = site.get("/api/x", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.location().is_none(), "{r:?}");
    let www = r.header("www-authenticate").unwrap_or_default().to_owned();
    assert!(www.starts_with("SSO realm=\""), "{r:?}");

    // Forged and expired tickets are refused.
    let api = site.service("/api/");
    let other = TestKeys::new();
    let forged = other.ticket("alice", &api, DOMAIN, 300, None, &[]);
    let r = site.get("/api/x", &auth(&forged));
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("error="),
        "{r:?}"
    );
    let expired = site.keys.ticket("alice", &api, DOMAIN, -600, None, &[]);
    let r = site.get("/api/x", &auth(&expired));
    assert_eq!(r.status, 401, "{r:?}");
    let good = site.keys.ticket("alice", &api, DOMAIN, 300, None, &[]);
    let r = site.get("/api/x", &auth(&good));
    assert_eq!(r.status, 200, "{r:?}");
    let forged_cookie = other.ticket("alice", &site.service("/app/"), DOMAIN, 300, None, &[]);
    let r = site.get(
        "/app/",
        &[("Cookie".into(), format!("SSO_ticket={forged_cookie}"))],
    );
    assert_eq!(r.status, 302, "a forged cookie goes to log in: {r:?}");

    // Logout: the cookies are cleared and the binding revoked.
    let out = site.get("/app/sso_logout", &jar.header());
    assert_eq!(out.status, 200, "{out:?}");
    assert!(out.set_cookie_line("SSO_ticket").is_some(), "{out:?}");
    let r = site.get("/app/page", &jar.header());
    assert_eq!(r.status, 302, "the old cookies after logout: {r:?}");

    // Malformed subrequests get a 4xx from the gate itself.
    let fa = |headers: &[(&str, String)]| {
        let h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        http(site.gate.port, "GET", "/auth-request", &h, None).status
    };
    assert_eq!(fa(&[]), 400, "no X-Forwarded-Uri");
    assert_eq!(
        fa(&[("X-Forwarded-Uri", format!("/app/{}", "a".repeat(100_000)))]),
        400
    );
    assert_eq!(fa(&[("X-Forwarded-Uri", "/app/%zz".into())]), 400);
    assert_eq!(
        fa(&[
            ("X-Forwarded-Uri", "/app/".into()),
            ("X-Forwarded-Proto", "gopher".into())
        ]),
        400
    );

    // The gate's log names tickets by fingerprint, never the ticket.
    let log = site.gate.log();
    for (what, t) in [
        ("browser", &browser_ticket),
        ("staff", &staff),
        ("forged", &forged),
        ("expired", &expired),
        ("forged cookie", &forged_cookie),
    ] {
        assert!(
            !log.contains(t.as_str()),
            "the {what} ticket is in the gate's log:\n{log}"
        );
    }
    assert!(
        log.contains(&sso_core::ticket_fingerprint(&forged)),
        "the refusal of the forged ticket is logged by fingerprint:\n{log}"
    );

    // SIGHUP: a bad configuration is refused, naming the key, and the old
    // one keeps serving; a good one is taken (here: /api/ needs a group).
    let (login_port, nginx_port) = (site.server.port, site.nginx.port);
    let good = gate_config(&site.keys, login_port, nginx_port, "");
    let bad = good.replace("mode = \"api\"", "mode = \"apii\"");
    let line = site.gate.reload(&bad);
    assert!(
        line.contains("event=reload-refused") && line.contains("apii"),
        "{line}"
    );
    assert_eq!(
        site.get("/api/x", &auth(&good_api_ticket(&site))).status,
        200
    );
    let stricter = good.replace("mode = \"api\"", "mode = \"api\"\ngroups = [\"ops\"]");
    let line = site.gate.reload(&stricter);
    assert!(line.contains("event=reload "), "{line}");
    assert_eq!(
        site.get("/api/x", &auth(&good_api_ticket(&site))).status,
        403
    );
}

fn good_api_ticket(site: &Site) -> String {
    site.keys
        .ticket("alice", &site.service("/api/"), DOMAIN, 300, None, &[])
}

#[test]
fn check_names_the_failing_key() {
    let keys = TestKeys::new();
    let (_dir, path) = tests::util::temp_path("gate.toml");
    let good = gate_config(&keys, 1, 2, "").replace("{port}", "4180");
    std::fs::write(&path, &good).expect("write");
    let (code, out) = run_gate(&["check".as_ref(), "--config".as_ref(), path.as_ref()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("configuration ok"), "{out}");
    let bad = good.replace("service = \"127.0.0.1:2/admin/\"", "service = \"admin\"");
    std::fs::write(&path, bad).expect("write");
    let (code, out) = run_gate(&["check".as_ref(), "--config".as_ref(), path.as_ref()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("`route[1].service`"), "{out}");
    std::fs::write(&path, format!("colour = 1\n{good}")).expect("write");
    let (code, out) = run_gate(&["check".as_ref(), "--config".as_ref(), path.as_ref()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("colour"), "{out}");
}
