//! mod_sso in front of a mod_proxy backend: the user reaches the backend in
//! a header set from `%{SSO_USER}e`, and `sso_login`/`sso_logout` are
//! answered by the module, never proxied.

mod mod_sso_common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mod_sso_common::*;
use tests::apache::{Apache, ApacheConfig, Mpm};
use tests::util::TestKeys;

/// A tiny HTTP backend echoing the request head as its body; remembers the
/// request lines it saw.
fn echo_backend() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            seen2
                .lock()
                .unwrap()
                .push(head.lines().next().unwrap_or("").to_owned());
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                head.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (port, seen)
}

#[test]
fn proxied_location_passes_the_user_and_keeps_the_handlers() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let (backend, seen) = echo_backend();
    let apache = Apache::start(ApacheConfig {
        mpm: Mpm::Event,
        modules: vec!["proxy".into(), "proxy_http".into()],
        config: format!(
            "SSOLoginServer {LOGIN}\nSSODomain {DOMAIN}\nSSOPublicKeyFile {}\n\
<Location /papp/>\n  AuthType SSO\n  SSOService @HOSTPORT@/papp/\n  Require valid-user\n\
  RequestHeader set X-Remote-User %{{SSO_USER}}e\n  RequestHeader set X-Remote-Groups %{{SSO_GROUPS}}e\n\
  ProxyPass http://127.0.0.1:{backend}/\n</Location>\n",
            keys.public_path.display()
        ),
        ..ApacheConfig::default()
    });
    let service = format!("{}/papp/", apache.host_port());
    let names = cookie_names(&service);

    let r = apache.get("/papp/page");
    assert_eq!(r.status, 302, "{r:?}");
    assert!(r.location().unwrap().starts_with(LOGIN));

    let t = keys.ticket("alice", &service, DOMAIN, 600, None, &["ops"]);
    let r = apache
        .request("/papp/page")
        .cookie(&names.ticket, &t)
        .header("X-Remote-User", "mallory")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.starts_with("GET /page HTTP/1.1"), "{}", r.body);
    // Header names are case-insensitive, and httpd keeps the client's
    // spelling when it replaces a header's value.
    let backend_saw = r.body.to_ascii_lowercase();
    assert!(
        backend_saw.contains("x-remote-user: alice\r\n"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("mallory"),
        "a client header must not reach the backend: {}",
        r.body
    );
    r.assert_body_has("X-Remote-Groups: ops\r\n");

    // The handlers answer under the proxied path without a ticket.
    let r = apache.get("/papp/sso_logout");
    assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{r:?}");
    let secret = "aaaabbbbccccddddaaaabbbbccccdddd";
    let nonce = sso_core::web::nonce_commitment(secret);
    let lt = keys.ticket("alice", &service, DOMAIN, 600, Some(&nonce), &[]);
    let r = apache
        .request(&format!(
            "/papp/sso_login?t={}&d={}",
            sso_core::web::percent_encode(&lt),
            sso_core::web::percent_encode(&format!("https://{service}page"))
        ))
        .cookie(&names.nonce, secret)
        .send();
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.location(),
        Some(format!("https://{service}page").as_str())
    );
    assert!(r
        .set_cookie_line(&names.ticket)
        .unwrap()
        .contains("Path=/;"));

    let lines = seen.lock().unwrap().clone();
    assert!(
        lines.iter().all(|l| !l.contains("sso_")),
        "proxied: {lines:?}"
    );
    assert_eq!(
        lines.len(),
        1,
        "only the authenticated request reached the backend: {lines:?}"
    );
}
