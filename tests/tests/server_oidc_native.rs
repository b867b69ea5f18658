//! A native app's loopback redirect (RFC 8252 7.3): chromium logs in at
//! the login server's form for a client whose registered redirect URI is
//! `http://127.0.0.1:PORT/cb`, and reaches it. Browsers check the login
//! page's CSP `form-action` along the redirects after the form, and
//! `'self' https:` alone blocks the way back to plain `http://`: the page
//! of such a pending authorization names exactly that origin
//! (sso-server/src/endpoints/answers.rs).

use std::io::{Read, Write};
use std::net::TcpListener;

use tests::http::form_urlencode;
use tests::oidc::provider_files;
use tests::server::{listen_port, Browser, Setup, SsoServer};
use tests::util::TestKeys;

// RFC 7636 appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const LANDED: &str = "the native app got its code";

/// The app's loopback listener: every request gets a page saying so.
fn app_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let _ = conn.read(&mut buf);
            let body = format!("<html><body><p>{LANDED}</p></body></html>");
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn a_password_login_returns_to_a_loopback_http_redirect_uri() {
    let app = app_listener();
    let callback = format!("http://127.0.0.1:{app}/cb");
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let (users, key) = provider_files(dir.path());
    let ca = tests::tls::Ca::new(dir.path(), "native app test CA");
    let (cert, cert_key) = ca.issue("127.0.0.1");
    let mut setup = Setup::users_file(&users);
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {cert_key:?}\n");
    let server = SsoServer::start_with(&keys, &setup, |text| {
        let port = listen_port(&text);
        format!(
            "{text}\n[oidc]\nissuer = \"https://127.0.0.1:{port}\"\nsigning_key_file = {key:?}\n\
             [[oidc.client]]\nid = \"native\"\nname = \"The desktop app\"\npublic = true\n\
             redirect_uris = [\"{callback}\"]\n"
        )
    });
    let browser = Browser::start(&[&ca.cert]);
    let query = form_urlencode(&[
        ("client_id", "native"),
        ("redirect_uri", &callback),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    browser.goto(&format!(
        "https://127.0.0.1:{}/oidc/authorize?{query}",
        server.port
    ));
    browser.wait_for_text("Log in to");
    browser.submit_login("alice", "alice password");
    browser.wait_for_text(LANDED);
    let landed = browser.url();
    assert!(
        landed.starts_with(&format!("{callback}?code=")),
        "{landed}\n{}",
        server.log()
    );
}
