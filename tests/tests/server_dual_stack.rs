//! The login server on a dual-stack socket (`listen = "[::]:PORT"`) behind
//! a proxy at 127.0.0.1: the proxy connects as `::ffff:127.0.0.1` and must
//! still be the `127.0.0.1` of `trusted_proxies`. Otherwise every client it
//! relays shares its address (one throttle count for all: anyone locks
//! everyone out) and `/metrics`, for loopback only, answers them.

use tests::server::{http, users_file, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const PASSWORD: &str = "alice's password";

struct Proxied {
    _keys: TestKeys,
    _users: tempfile::TempDir,
    server: SsoServer,
    jar: Cookies,
    fields: Vec<(String, String)>,
}

impl Proxied {
    /// A server on `[::]` trusting 127.0.0.1, with `/metrics` on and a
    /// limit of two failures per address; one login form whose CSRF pair
    /// every attempt reuses.
    fn start() -> Proxied {
        let keys = TestKeys::new();
        let users = tempfile::tempdir().unwrap();
        let path = users_file(users.path(), &[("alice", PASSWORD)]);
        let mut setup = Setup::users_file(&path);
        setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
        setup.tables = "[metrics]\nenabled = true\n\n[throttle]\nmax_failures_per_address = 2\n\
                        max_failures_per_user_address = 2\n"
            .into();
        let server = SsoServer::start_with(&keys, &setup, |text| {
            text.replace("listen = \"127.0.0.1:", "listen = \"[::]:")
        });
        assert!(
            server.log().contains("listening on http://[::]:"),
            "{}",
            server.log()
        );
        let (jar, fields) = server.login_form("/?s=wiki.test.example.org%2F");
        Proxied {
            _keys: keys,
            _users: users,
            server,
            jar,
            fields,
        }
    }

    /// A failed login relayed for `client`: its status.
    fn wrong_login(&self, client: &str) -> u16 {
        let mut form: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("username", "alice"));
        form.push(("password", "a wrong guess"));
        let mut headers = self.jar.header();
        headers.push(("X-Forwarded-For".into(), client.into()));
        let body = tests::http::form_urlencode(&form);
        http(self.server.port, "POST", "/login", &headers, Some(&body)).status
    }

    /// `GET /metrics`, relayed for `client` when given: its status.
    fn metrics(&self, client: Option<&str>) -> u16 {
        let headers: Vec<(String, String)> = client
            .map(|c| vec![("X-Forwarded-For".to_owned(), c.to_owned())])
            .unwrap_or_default();
        http(self.server.port, "GET", "/metrics", &headers, None).status
    }
}

#[test]
fn each_client_behind_a_mapped_proxy_has_its_own_count() {
    let p = Proxied::start();
    assert_eq!(p.wrong_login("203.0.113.1"), 401);
    assert_eq!(p.wrong_login("203.0.113.1"), 401);
    assert_eq!(p.wrong_login("203.0.113.1"), 429);
    // Another client of the same proxy is not locked out by the first.
    assert_eq!(p.wrong_login("198.51.100.2"), 401);
    let log = p.server.log();
    assert!(log.contains("addr=\"203.0.113.1\""), "{log}");
    assert!(log.contains("addr=\"198.51.100.2\""), "{log}");
    // The start warns that an IPv6 proxy would not be trusted.
    tests::util::assert_some_line_has(&log, &["warning", "`trusted_proxies`"]);
}

#[test]
fn metrics_refuse_a_remote_client_relayed_by_a_mapped_proxy() {
    let p = Proxied::start();
    assert_eq!(p.metrics(Some("203.0.113.9")), 403);
    assert!(p
        .server
        .log()
        .contains("check=\"metrics for loopback only\" addr=\"203.0.113.9\""));
    // The proxy's own request (a scraper on the host) is served.
    assert_eq!(p.metrics(None), 200);
}
