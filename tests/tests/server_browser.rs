//! End to end in a real browser: Debian's chromium (via chromedriver)
//! against a private apache2 with mod_sso protecting two services and the
//! login server, all over https on 127.0.0.1.

use tests::apache::{Apache, ApacheConfig, WHOAMI_CGI};
use tests::server::{Browser, Setup, SsoServer, DOMAIN};
use tests::util::{artifacts_dir, TestKeys};

#[test]
fn browser_logs_in_once_uses_two_services_and_logs_out_of_both() {
    tests::return_unless_root!("run apache2 as www-data");
    let keys = TestKeys::new();
    let (_dir, users) = tests::server::staff_alice("browser-password");

    // The login server over https with a certificate from a throwaway CA.
    let ca_dir = tempfile::tempdir().unwrap();
    let authority = tests::tls::Ca::new(ca_dir.path(), "sso test CA");
    let (cert, key) = authority.issue("127.0.0.1");
    let ca = authority.cert.clone();
    let mut setup = Setup::users_file(&users);
    setup.allowed_services = Some(vec![r"127\.0\.0\.1:[0-9]+/(one|two)/".into()]);
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
    let login = SsoServer::start(&keys, &setup);
    let login_url = format!("https://127.0.0.1:{}/", login.port);

    let mut config = format!(
        "SSOLoginServer {login_url}\nSSODomain {DOMAIN}\nSSOPublicKeyFile {}\n",
        keys.public_path.display()
    );
    let mut files = Vec::new();
    for svc in ["one", "two"] {
        config.push_str(&format!(
            "<Location /{svc}/>\n  AuthType SSO\n  SSOService @HOSTPORT@/{svc}/\n  Require valid-user\n</Location>\n"
        ));
        files.push((
            format!("htdocs/{svc}/whoami.cgi"),
            WHOAMI_CGI.to_owned(),
            0o755,
        ));
    }
    let mut apache = Apache::start(ApacheConfig {
        config,
        files,
        ..ApacheConfig::default()
    });
    // apache serves the same CA's certificate for 127.0.0.1 in place of
    // its self-signed one.
    std::fs::copy(&cert, apache.root().join("conf/cert.pem")).unwrap();
    std::fs::copy(&key, apache.root().join("conf/key.pem")).unwrap();
    apache.graceful();
    let one = apache.https_url("/one/whoami.cgi");
    let two = apache.https_url("/two/whoami.cgi");

    // The browser trusts the CA and nothing else beyond the system roots:
    // no certificate errors ignored.
    let browser = Browser::start(&[&ca]);
    let shots = artifacts_dir();

    // Service one sends the browser to the login form.
    browser.goto(&one);
    browser.wait_for_url(&format!("{login_url}?s="));
    assert!(browser.source().contains("name=\"password\""));
    browser.screenshot(&shots.join("server_browser_login_page.png"));

    // Log in; back at service one, which shows the user.
    let page = browser.log_in("alice", "browser-password", &one);
    assert!(
        page.contains("<b id=\"user\">alice</b>"),
        "{page}\n{}",
        apache.error_log()
    );
    browser.screenshot(&shots.join("server_browser_logged_in.png"));

    // Service two: in without a form (the login server's session).
    browser.goto(&two);
    browser.wait_for_url(&two);
    assert!(browser.source().contains("<b id=\"user\">alice</b>"));

    // A plain visit to the logout address only asks: both services stay
    // open.
    browser.goto(&format!("{login_url}logout"));
    let page = browser.source();
    assert!(page.contains("Log out?"), "{page}");
    assert!(!page.contains("sso_logout"), "{page}");
    browser.goto(&one);
    browser.wait_for_url(&one);
    assert!(browser.source().contains("<b id=\"user\">alice</b>"));

    // The confirmation button logs out everywhere: the page loads both
    // services' sso_logout.
    browser.goto(&format!("{login_url}logout"));
    browser.click("#logout");
    let page = browser.wait_for_text("Logged out");
    assert!(
        page.contains(&format!("{}/one/sso_logout", apache.host_port())),
        "{page}"
    );
    assert!(
        page.contains(&format!("{}/two/sso_logout", apache.host_port())),
        "{page}"
    );

    // Both services now send the browser to the login form again.
    for svc in [&one, &two] {
        browser.goto(svc);
        browser.wait_for_url(&format!("{login_url}?s="));
        assert!(
            browser.source().contains("name=\"password\""),
            "{svc} still open"
        );
    }
    let log = login.log();
    assert!(log.contains("event=logout user=\"alice\""), "{log}");
}
