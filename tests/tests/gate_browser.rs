//! End to end in a real browser (Debian's chromium, tests/src/browser.rs),
//! one session: one login at the login server reaches an Apache service
//! (mod_sso), an nginx-fronted application (auth_request to sso-gate, the
//! snippet of docs/sso-gate.md) and an application behind sso-gate's
//! reverse proxy; one logout at the login server ends all three. Every
//! server speaks https with one throwaway CA's certificate.

use tests::apache::{Apache, ApacheConfig, WHOAMI_CGI};
use tests::gate::{doc_snippet, Echo, Gate, Nginx};
use tests::server::{Browser, Setup, SsoServer, DOMAIN};
use tests::util::{free_port, TestKeys};

#[test]
fn one_login_reaches_apache_nginx_and_the_reverse_proxy_and_one_logout_ends_all() {
    tests::return_unless_root!("run apache2 as www-data");
    let keys = TestKeys::new();
    let (dir, users) = tests::server::staff_alice("gate-browser-password");
    let authority = tests::tls::Ca::new(dir.path(), "sso gate test CA");
    let (cert, key) = authority.issue("127.0.0.1");

    let mut setup = Setup::users_file(&users);
    setup.allowed_services = Some(vec![r"127\.0\.0\.1:[0-9]+/(one|app|proxied)/".into()]);
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
    let login = SsoServer::start(&keys, &setup);
    let login_url = format!("https://127.0.0.1:{}/", login.port);

    // Apache with mod_sso.
    let mut apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer {login_url}\nSSODomain {DOMAIN}\nSSOPublicKeyFile {}\n\
             <Location /one/>\n  AuthType SSO\n  SSOService @HOSTPORT@/one/\n  Require valid-user\n</Location>\n",
            keys.public_path.display()
        ),
        files: vec![("htdocs/one/whoami.cgi".into(), WHOAMI_CGI.into(), 0o755)],
        ..ApacheConfig::default()
    });
    std::fs::copy(&cert, apache.root().join("conf/cert.pem")).expect("cert");
    std::fs::copy(&key, apache.root().join("conf/key.pem")).expect("key");
    apache.graceful();

    // nginx (https) with auth_request to a forward-auth gate.
    let echo = Echo::start();
    let nginx_port = free_port();
    let gate_config = |route: &str| {
        format!(
            "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"{login_url}\"\n\
             domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n[[route]]\n{route}",
            keys.public_path
        )
    };
    let forward = Gate::start(&gate_config(&format!(
        "service = \"127.0.0.1:{nginx_port}/app/\"\n"
    )));
    let site = doc_snippet("<!-- nginx snippet", "nginx")
        .replace(
            "listen 80;",
            &format!(
                "listen 127.0.0.1:{nginx_port} ssl;\n    ssl_certificate {};\n    \
                 ssl_certificate_key {};",
                cert.display(),
                key.display()
            ),
        )
        .replace("127.0.0.1:4180", &format!("127.0.0.1:{}", forward.port))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", echo.port));
    let nginx = Nginx::start(nginx_port, &site);

    // sso-gate as an https reverse proxy.
    let proxy = Gate::start(&gate_config(&format!(
        "path = \"/proxied/\"\nservice = \"127.0.0.1:{{port}}/proxied/\"\n\
         upstream = \"http://127.0.0.1:{}\"\n[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n",
        echo.port
    )));

    let one = apache.https_url("/one/whoami.cgi");
    let app = format!("https://127.0.0.1:{nginx_port}/app/page");
    let proxied = format!("https://127.0.0.1:{}/proxied/page", proxy.port);
    let diagnose = || {
        format!(
            "--- apache:\n{}\n--- gate (nginx):\n{}\n--- nginx:\n{}\n--- gate (proxy):\n{}",
            apache.error_log(),
            forward.log(),
            nginx.error_log(),
            proxy.log()
        )
    };

    let browser = Browser::start(&[&authority.cert]);
    browser.goto(&one);
    browser.wait_for_url(&format!("{login_url}?s="));
    let page = browser.log_in("alice", "gate-browser-password", &one);
    assert!(
        page.contains("<b id=\"user\">alice</b>"),
        "{page}\n{}",
        diagnose()
    );

    // The two gate-fronted applications: in without a form; the echo
    // application shows the Remote-User it received.
    for url in [&app, &proxied] {
        browser.goto(url);
        browser.wait_for_url(url);
        let page = browser.source();
        assert!(
            page.contains(r#"["remote-user", "alice"]"#),
            "{url}: {page}\n{}",
            diagnose()
        );
    }

    // One logout: the login server's page loads the three sso_logout.
    browser.goto(&format!("{login_url}logout"));
    browser.click("#logout");
    let page = browser.wait_for_text("Logged out");
    for part in [
        format!("{}/one/sso_logout", apache.host_port()),
        format!("127.0.0.1:{nginx_port}/app/sso_logout"),
        format!("127.0.0.1:{}/proxied/sso_logout", proxy.port),
    ] {
        assert!(page.contains(&part), "{part} not on the page: {page}");
    }
    // The images load after the text shows.
    std::thread::sleep(std::time::Duration::from_secs(1));
    for url in [&one, &app, &proxied] {
        browser.goto(url);
        browser.wait_for_url(&format!("{login_url}?s="));
        assert!(
            browser.source().contains("name=\"password\""),
            "{url} still open\n{}",
            diagnose()
        );
    }
}
