//! mod_auth_openidc (Debian's libapache2-mod-auth-openidc) in a real
//! apache2 as the relying party of a real sso-server, and chromium as the
//! person: the login page of the login server, back to the protected page
//! with `Require claim groups:staff`; RP-initiated logout through
//! mod_auth_openidc to the provider's end-session endpoint and back to the
//! registered post-logout page; the login server's own logout ends
//! mod_auth_openidc's session by back-channel logout; then a user not in
//! staff is refused. One sso-server, one apache2 and one browser session
//! for the whole file.

use tests::apache::{Apache, ApacheConfig};
use tests::server::{add_user, listen_port, oidc_gen_key, pct, Browser, Setup, SsoServer};
use tests::util::TestKeys;

const SECRET: &str = "apache-client-secret-0123456789";
/// The redirect URIs name apache's port, known only once it runs: the
/// provider starts with this one and is reloaded with the real one.
const PLACEHOLDER: &str = "127.0.0.1:1/";

fn log_in(browser: &Browser, user: &str, password: &str) {
    browser.wait_for_text("Log in to");
    browser.submit_login(user, password);
}

#[test]
fn mod_auth_openidc_logs_in_checks_groups_and_logs_out() {
    let keys = TestKeys::new();
    let (dir, users) = tests::server::staff_alice("alice password");
    add_user(&users, "bob", "bob password", &["dev"]);
    let key = dir.path().join("oidc.pem");
    oidc_gen_key(&key);
    let ca = tests::tls::Ca::new(dir.path(), "oidc test CA");
    let (cert, cert_key) = ca.issue("127.0.0.1");
    let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
    // The login server's back-channel requests trust the system's roots,
    // and `SSL_CERT_FILE` (rustls-native-certs) instead when it is set:
    // here the test CA that signs apache's certificate.
    std::env::set_var("SSL_CERT_FILE", &ca.cert);
    let mut setup = Setup::users_file(&users);
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {cert_key:?}\n");
    let mut server = SsoServer::start_with(&keys, &setup, |text| {
        let port = listen_port(&text);
        format!(
            "{text}\n[oidc]\nissuer = \"https://127.0.0.1:{port}\"\nsigning_key_file = {key:?}\n\
             [[oidc.client]]\nid = \"apache\"\nname = \"The protected site\"\n\
             secret_hash = '{hash}'\n\
             redirect_uris = [\"https://{PLACEHOLDER}protected/redirect_uri\"]\n\
             post_logout_redirect_uris = [\"https://{PLACEHOLDER}bye.html\"]\n\
             backchannel_logout_uri = \"https://{PLACEHOLDER}protected/redirect_uri?logout=backchannel\"\n"
        )
    });
    let issuer = format!("https://127.0.0.1:{}", server.port);
    let mut apache = Apache::start(ApacheConfig {
        load_sso: false,
        modules: vec!["auth_openidc".into()],
        log_level: "warn auth_openidc:info".into(),
        // The protected page is never cached: a browser that showed it from
        // its cache after a logout would prove nothing.
        config: format!(
            "OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration\n\
             OIDCSSLValidateServer Off\n\
             OIDCClientID apache\n\
             OIDCClientSecret {SECRET}\n\
             OIDCRedirectURI https://@HOSTPORT@/protected/redirect_uri\n\
             OIDCCryptoPassphrase {}\n\
             OIDCScope \"openid profile groups\"\n\
             OIDCPKCEMethod S256\n\
             OIDCRemoteUserClaim preferred_username\n\
             <Location /protected/>\n  AuthType openid-connect\n  Require claim groups:staff\n\
             Header always set Cache-Control no-store\n</Location>\n\
             <Location /protected/redirect_uri>\n  AuthType openid-connect\n  Require valid-user\n</Location>\n",
            sso_oidc::codes::new_secret()
        ),
        files: vec![
            ("htdocs/protected/index.html".into(), "<p>the staff page</p>\n".into(), 0o644),
            ("htdocs/bye.html".into(), "<p>goodbye from the site</p>\n".into(), 0o644),
        ],
        ..ApacheConfig::default()
    });
    let text = std::fs::read_to_string(&server.config_path).unwrap();
    server.write_config(&text.replace(PLACEHOLDER, &format!("{}/", apache.host_port())));
    let answer = server.reload();
    assert!(answer.contains("event=reload "), "{answer}");

    // apache serves the CA's certificate for 127.0.0.1 in place of its
    // self-signed one, so the browser trusts the CA and nothing else.
    std::fs::copy(&cert, apache.root().join("conf/cert.pem")).unwrap();
    std::fs::copy(&cert_key, apache.root().join("conf/key.pem")).unwrap();
    apache.graceful();
    let browser = Browser::start(&[&ca.cert]);
    let protected = apache.https_url("/protected/");
    let debug = |what: &str, browser: &Browser| {
        format!(
            "{what}\nurl {}\n{}\n--- sso-server\n{}\n--- apache\n{}",
            browser.url(),
            browser.source(),
            server.log(),
            apache.error_log()
        )
    };
    // Without a session of mod_auth_openidc the protected page sends the
    // browser to the provider's login.
    let sent_to_the_provider = |what: &str| {
        browser.goto(&protected);
        assert!(
            browser.url().starts_with(&issuer),
            "{}",
            debug(what, &browser)
        );
    };
    sent_to_the_provider("to the provider");
    log_in(&browser, "alice", "alice password");
    browser.wait_for_text("the staff page");
    assert!(
        browser.url().starts_with(&protected),
        "{}",
        debug("back", &browser)
    );

    // RP-initiated logout: mod_auth_openidc sends the browser to the
    // end-session endpoint with its id_token_hint; the provider ends the
    // login and sends it to the registered page.
    let bye = apache.https_url("/bye.html");
    browser.goto(&apache.https_url(&format!("/protected/redirect_uri?logout={}", pct(&bye))));
    browser.wait_for_text("goodbye from the site");
    assert!(
        server.log().contains("event=logout user=\"alice\""),
        "{}",
        server.log()
    );
    // The login is over on both sides: the page asks for a password again.
    sent_to_the_provider("logged out");

    // The login server's own logout ends mod_auth_openidc's session too,
    // by a back-channel logout token.
    log_in(&browser, "alice", "alice password");
    browser.wait_for_text("the staff page");
    browser.goto(&format!("{issuer}/logout"));
    browser.click("#logout");
    browser.wait_for_text("has been logged out");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log().contains("event=oidc-backchannel") {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            debug("back-channel", &browser)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        server
            .log()
            .contains("event=oidc-backchannel client=\"apache\" user=\"alice\" status=\"200\""),
        "{}",
        debug("back-channel", &browser)
    );
    browser.goto(&protected);
    assert!(
        browser.url().starts_with(&issuer),
        "{}",
        debug("after the back-channel logout", &browser)
    );

    // bob is not in staff: mod_auth_openidc's `Require claim` refuses him.
    log_in(&browser, "bob", "bob password");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let page = loop {
        let page = browser.source();
        if page.contains("Forbidden") || page.contains("Unauthorized") {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline && !page.contains("the staff page"),
            "{}",
            debug("bob", &browser)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        !page.contains("the staff page"),
        "{}",
        debug("bob", &browser)
    );
    assert!(
        browser.url().starts_with(&protected),
        "{}",
        debug("bob", &browser)
    );
}
