//! `systemctl reload` of the login server: SIGHUP to the real process
//! re-reads the configuration, the keys, the users file and the TLS
//! certificate; a bad new configuration is refused with a log line and the
//! old one keeps serving; a request in flight finishes on the state it
//! started with.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use sso_core::{Check, KeySet, PublicKey, Verifier};
use tests::http::get_verified;
use tests::server::WIKI;
use tests::server::{
    add_user, pct, query_params, redirected_ticket_text, Cookies, Setup, SsoServer, SECRET,
};
use tests::util::TestKeys;

const DOMAIN: &str = tests::server::DOMAIN;

fn users_file(dir: &Path, name: &str, user: &str, password: &str) -> PathBuf {
    let path = dir.join(name);
    add_user(&path, user, password, &[]);
    path
}

/// The configuration for `keys` (signing) with every key of `public` as
/// `public_key_files`, the users file `users`, on `port`.
fn config(keys: &TestKeys, public: &[&TestKeys], users: &Path, port: u16) -> String {
    let public: Vec<&Path> = public.iter().map(|k| k.public_path.as_path()).collect();
    Setup::users_file(users).config_text_with_keys(&keys.secret_path, &public, port)
}

/// Logs in at `server` and returns the ticket of the redirect to the wiki.
fn ticket_after_login(server: &SsoServer, user: &str, password: &str) -> Result<String, u16> {
    let mut jar = Cookies::new();
    let resp = server.login(&mut jar, &format!("/?s={}", pct(WIKI)), user, password);
    redirected_ticket_text(&resp).ok_or(resp.status)
}

/// True when `ticket` verifies with `keys`' public key alone.
fn signed_by(ticket: &str, keys: &TestKeys) -> bool {
    let pk = PublicKey::from_file(&keys.public_path).unwrap();
    let v = Verifier::new(KeySet::new(&[pk]).unwrap(), WIKI, DOMAIN).unwrap();
    v.verify(ticket, &Check::at(sso_core::unix_now())).is_ok()
}

#[test]
fn a_new_signing_key_and_users_file_apply_on_sighup() {
    let old = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let alices = users_file(dir.path(), "users", "alice", "alice password");
    let mut server = SsoServer::start(&old, &Setup::users_file(&alices));
    let t = ticket_after_login(&server, "alice", "alice password").expect("alice logs in");
    assert!(signed_by(&t, &old));

    let new = TestKeys::new();
    let bobs = users_file(dir.path(), "users.new", "bob", "bob password");
    server.write_config(&config(&new, &[&old, &new], &bobs, server.port));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");

    let t = ticket_after_login(&server, "bob", "bob password").expect("bob logs in");
    assert!(signed_by(&t, &new), "the new key signs");
    assert!(!signed_by(&t, &old));
    assert_eq!(
        ticket_after_login(&server, "alice", "alice password"),
        Err(401),
        "alice is not in the new users file"
    );
    let log = server.log();
    assert!(!log.contains(SECRET), "a session secret in the log");
}

#[test]
fn a_bad_configuration_is_refused_and_the_old_one_keeps_serving() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "users", "alice", "alice password");
    let mut server = SsoServer::start(&keys, &Setup::users_file(&users));
    let good = std::fs::read_to_string(&server.config_path).unwrap();
    let new = TestKeys::new();
    let with_new_key = config(&new, &[&keys, &new], &users, server.port);
    let broken_users = dir.path().join("broken-users");
    std::fs::write(&broken_users, "carol:not-a-hash:\n").unwrap();
    let writable = TestKeys::new();
    let writable_text = config(&writable, &[&writable], &users, server.port);
    // Group-writable: fails the StrictModes-style trust check.
    chmod(&writable.secret_path, 0o620);

    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "a syntax error on the secrets line",
            good.replace(&format!("{SECRET:?}]"), &format!("{SECRET:?}")),
            vec![format!("{}:", server.config_path.display())],
        ),
        (
            "an unknown key",
            format!("{good}\nbogus = 1\n"),
            vec!["bogus".into()],
        ),
        (
            "a missing secret key file",
            with_new_key.replace(
                &format!("{:?}", new.secret_path),
                &format!("{:?}", dir.path().join("nonexistent.key")),
            ),
            vec!["secret_key_file".into(), "nonexistent.key".into()],
        ),
        (
            "a group-writable secret key file",
            writable_text,
            vec![
                "secret_key_file".into(),
                writable.secret_path.display().to_string(),
                "is writable by its group".into(),
            ],
        ),
        (
            "a users file with a bad line",
            good.replace(
                &format!("{:?}", users.display().to_string()),
                &format!("{:?}", broken_users.display().to_string()),
            ),
            vec!["auth.users_file".into(), "broken-users".into()],
        ),
    ];
    for (what, text, named) in cases {
        assert_ne!(text, good, "{what}: the case changes nothing");
        server.write_config(&text);
        let line = server.reload();
        assert!(line.contains("event=reload-refused"), "{what}: {line}");
        assert!(
            line.contains("still serving the previous configuration"),
            "{line}"
        );
        for n in named {
            assert!(line.contains(&n), "{what}: {n:?} not named in {line}");
        }
        let t = ticket_after_login(&server, "alice", "alice password")
            .unwrap_or_else(|s| panic!("{what}: the old configuration does not serve: {s}"));
        assert!(signed_by(&t, &keys), "{what}: not the old key");
    }
    let log = server.log();
    assert!(!log.contains(SECRET), "a session secret in the log:\n{log}");

    // Fixed, the same reload goes through.
    server.write_config(&with_new_key);
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let t = ticket_after_login(&server, "alice", "alice password").unwrap();
    assert!(signed_by(&t, &new));
}

#[test]
fn a_request_in_flight_during_a_reload_completes() {
    let old = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "users", "alice", "alice password");
    let mut server = SsoServer::start(&old, &Setup::users_file(&users));

    // A login whose headers are in and whose body is not: the server has
    // taken the request (it answered `100 Continue` when it started to
    // read the body) when the reload happens.
    let mut jar = Cookies::new();
    let form = server.get(&format!("/?s={}", pct(WIKI)), &jar);
    jar.update(&form);
    let body = format!(
        "csrf={}&s={}&username=alice&password={}",
        pct(&form.form_field("csrf").unwrap()),
        pct(WIKI),
        pct("alice password")
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let cookie = jar.header().remove(0).1;
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 100"), "{status}");
    let mut blank = String::new();
    reader.read_line(&mut blank).unwrap();

    let new = TestKeys::new();
    server.write_config(&config(&new, &[&old, &new], &users, server.port));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");

    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    reader.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 302"), "{answer}");
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no location: {answer}"));
    let (_, t) = query_params(location)
        .into_iter()
        .find(|(k, _)| k == "t")
        .unwrap();
    assert!(signed_by(&t, &old), "the request finished on its own state");

    // A request that starts now gets the new state.
    let t = ticket_after_login(&server, "alice", "alice password").unwrap();
    assert!(signed_by(&t, &new));
}

#[test]
fn a_new_tls_certificate_applies_on_sighup() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "users", "alice", "alice password");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    certificate(&cert, &key);
    let first = std::fs::read(&cert).unwrap();
    let mut setup = Setup::users_file(&users);
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
    let mut server = SsoServer::start(&keys, &setup);
    let url = format!("https://localhost:{}/healthz", server.port);
    assert_eq!(get_verified(&url, &first).status, 200);

    certificate(&cert, &key);
    let second = std::fs::read(&cert).unwrap();
    assert_ne!(first, second);
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    // Only the new certificate is trusted: the handshake proves it is served.
    assert_eq!(get_verified(&url, &second).status, 200);
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A fresh self-signed server certificate for localhost, written over
/// `cert` and `key` (the key owner-only, as the trust check wants).
fn certificate(cert: &Path, key: &Path) {
    tests::tls::self_signed("localhost", cert, key);
    chmod(key, 0o600);
}

#[test]
fn a_changed_listen_address_is_logged_and_waits_for_a_restart() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "users", "alice", "alice password");
    let mut server = SsoServer::start(&keys, &Setup::users_file(&users));
    let elsewhere = tests::util::free_port();
    let new = TestKeys::new();
    server.write_config(&config(&new, &[&keys, &new], &users, elsewhere));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let warning = server.log_line("reload-warning");
    assert!(warning.contains("key=\"listen\""), "{warning}");
    assert!(
        warning.contains(&format!("127.0.0.1:{elsewhere}")),
        "{warning}"
    );
    assert!(warning.contains("until a restart"), "{warning}");
    // Still on the old port, with the rest of the new configuration.
    let t = ticket_after_login(&server, "alice", "alice password").unwrap();
    assert!(signed_by(&t, &new));
}

/// The configuration text of `setup` on `port`, listening on all IPv4
/// addresses instead of loopback.
fn off_loopback(text: String) -> String {
    text.replace("listen = \"127.0.0.1:", "listen = \"0.0.0.0:")
}

#[test]
fn a_reload_logs_the_start_warnings_and_what_it_resets() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), "users", "alice", "alice password");
    // Off loopback behind a proxy, a list of services: nothing to warn of.
    let mut setup = Setup::users_file(&users);
    setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
    let mut server = SsoServer::start_with(&keys, &setup, off_loopback);
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let log = server.log();
    assert!(!log.contains("warning"), "{log}");
    assert!(!log.contains("event=reload-reset"), "{log}");

    // The reload enables any service, drops the proxy (plain http off
    // loopback) and changes [throttle].
    let mut risky = Setup::users_file(&users);
    risky.allowed_services = None;
    risky.top_level = "allow_any_service = true\n".into();
    risky.tables = "[throttle]\nmax_failures_per_user_address = 3\n".into();
    server.write_config(&off_loopback(risky.config_text(&keys, server.port)));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let log = server.log();
    let warned = |key: &str, text: &str| {
        log.lines().any(|l| {
            l.contains("event=reload-warning")
                && l.contains(&format!("key=\"{key}\""))
                && l.contains(text)
        })
    };
    assert!(warned("allow_any_service", "ANY service"), "{log}");
    assert!(warned("listen", "plain http off loopback"), "{log}");
    assert!(
        log.lines().any(|l| l.contains("event=reload-reset")
            && l.contains("key=\"throttle\"")
            && l.contains("throttle settings changed: in-memory counters reset")),
        "{log}"
    );
}
