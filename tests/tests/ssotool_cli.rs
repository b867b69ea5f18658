//! ssotool as a user runs it: exit status 0 only on success, secret keys
//! private and never overwritten, every subcommand with --help.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use tests::util::bin;

fn ssotool(args: &[&str]) -> Output {
    Command::new(bin("ssotool"))
        .args(args)
        .output()
        .expect("run ssotool")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn gen(dir: &Path, extra: &[&str]) -> Output {
    let (public, secret) = (dir.join("pub"), dir.join("sec"));
    let mut args = vec![
        "gen-keys",
        "--output",
        p(&public),
        "--secret-key",
        p(&secret),
    ];
    args.extend_from_slice(extra);
    ssotool(&args)
}

fn sign(dir: &Path, extra: &[&str]) -> Output {
    let sec = dir.join("sec");
    let mut args = vec![
        "sign",
        "--secret-key",
        p(&sec),
        "--user",
        "alice",
        "--service",
        "svc.example.org/",
        "--domain",
        "example.org",
    ];
    args.extend_from_slice(extra);
    ssotool(&args)
}

fn verify(dir: &Path, ticket: &str, extra: &[&str]) -> Output {
    let public = dir.join("pub");
    let mut args = vec![
        "verify",
        "--public-key",
        p(&public),
        "--service",
        "svc.example.org/",
        "--domain",
        "example.org",
    ];
    args.extend_from_slice(extra);
    args.push(ticket);
    ssotool(&args)
}

#[test]
fn gen_keys_writes_private_secret_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let o = gen(dir.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let mode = std::fs::metadata(dir.path().join("sec"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read(dir.path().join("pub")).unwrap().len(), 32);
    assert_eq!(std::fs::read(dir.path().join("sec")).unwrap().len(), 64);
    let before = std::fs::read(dir.path().join("sec")).unwrap();

    let o = gen(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(
        std::fs::read(dir.path().join("sec")).unwrap(),
        before,
        "untouched"
    );

    let o = gen(dir.path(), &["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(std::fs::read(dir.path().join("sec")).unwrap(), before);
}

#[test]
fn ai_sso_spelling_and_pem_keys_readable_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = ssotool(&[
        "--gen-keys",
        "--output",
        p(&d.join("pub")),
        "--secret-key",
        p(&d.join("sec")),
        "--pem",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (file, args) in [
        ("sec", vec!["pkey", "-noout", "-in"]),
        ("pub", vec!["pkey", "-pubin", "-noout", "-in"]),
    ] {
        let mut args = args.clone();
        let path = d.join(file);
        args.push(p(&path));
        let o = Command::new("openssl").args(&args).output().unwrap();
        assert!(
            o.status.success(),
            "openssl cannot read {file}: {}",
            text(&o)
        );
    }
    let t = sign(d, &[]);
    assert!(t.status.success(), "{}", text(&t));
    let ticket = String::from_utf8(t.stdout).unwrap();
    assert!(verify(d, ticket.trim(), &[]).status.success());
}

#[test]
fn sign_then_verify_prints_fields_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let t = sign(
        dir.path(),
        &["--groups", "staff,admins", "--nonce", "n1", "--ttl", "600"],
    );
    assert!(t.status.success(), "{}", text(&t));
    let ticket = String::from_utf8(t.stdout).unwrap().trim().to_string();
    assert_eq!(ticket.lines().count(), 1);
    let o = verify(
        dir.path(),
        &ticket,
        &["--nonce", "n1", "--groups", "admins"],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("user:    alice") && out.contains("groups:  staff,admins"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("valid"), "{out}");

    // Each failed check: non-zero exit and the check named.
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--nonce", "other"], "nonce mismatch"),
        (vec!["--groups", "nobody"], "missing group"),
        (vec!["--now", "4000000000"], "expired"),
    ];
    for (extra, check) in cases {
        let o = verify(dir.path(), &ticket, &extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}");
        assert!(text(&o).contains(check), "{extra:?}: {}", text(&o));
        assert!(!text(&o).contains("valid\n"), "{}", text(&o));
    }
    let o = ssotool(&[
        "verify",
        "--public-key",
        p(&dir.path().join("pub")),
        "--service",
        "x/",
        "--domain",
        "example.org",
        &ticket,
    ]);
    assert!(text(&o).contains("wrong service") && !o.status.success());
    let mut forged = ticket.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let o = verify(dir.path(), std::str::from_utf8(&forged).unwrap(), &[]);
    assert!(text(&o).contains("bad signature") && !o.status.success());
    let o = verify(dir.path(), "garbage!", &[]);
    assert!(text(&o).contains("bad encoding") && !o.status.success());
}

#[test]
fn verify_accepts_any_of_several_keys() {
    let old = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    assert!(gen(old.path(), &[]).status.success());
    assert!(gen(new.path(), &["--pem"]).status.success());
    let ticket = String::from_utf8(sign(old.path(), &[]).stdout).unwrap();
    let o = ssotool(&[
        "verify",
        "--public-key",
        p(&new.path().join("pub")),
        "--public-key",
        p(&old.path().join("pub")),
        "--service",
        "svc.example.org/",
        "--domain",
        "example.org",
        ticket.trim(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!verify(new.path(), ticket.trim(), &[]).status.success());
}

#[test]
fn sign_refuses_what_the_format_cannot_carry_and_insecure_keys() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let o = ssotool(&[
        "sign",
        "--secret-key",
        p(&dir.path().join("sec")),
        "--user",
        "a|b",
        "--service",
        "s/",
        "--domain",
        "d",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("invalid field"), "{}", text(&o));
    let o = sign(dir.path(), &["--version", "3", "--nonce", "n"]);
    assert!(!o.status.success());
    let o = sign(dir.path(), &["--version", "5"]);
    assert_eq!(o.status.code(), Some(2), "usage error");
    std::fs::set_permissions(
        dir.path().join("sec"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let o = sign(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    let o = verify(dir.path(), "x", &["--public-key", "/nonexistent"]);
    assert!(text(&o).contains("/nonexistent") && !o.status.success());
}

#[test]
fn inspect_decodes_and_says_it_did_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let ticket = String::from_utf8(sign(dir.path(), &["--groups", "g"]).stdout).unwrap();
    let o = ssotool(&["inspect", ticket.trim()]);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stderr.contains("NOT VERIFIED"), "{stderr}");
    assert!(
        stdout.contains("UNVERIFIED") && stdout.contains("user:    alice"),
        "{stdout}"
    );
    assert!(!ssotool(&["inspect", "%%%"]).status.success());
}

#[test]
fn tickets_starting_with_a_hyphen_are_not_options() {
    // base64url uses `-`: about one ticket in 64 starts with it. Sign until
    // one does, then verify and inspect it without `--`.
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let ticket = (0..2000)
        .map(|i| {
            let o = sign(dir.path(), &["--nonce", &i.to_string()]);
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        })
        .find(|t| t.starts_with('-'))
        .expect("one of 2000 tickets starts with '-'");
    let o = verify(dir.path(), &ticket, &["--nonce"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--nonce without its value is a usage error"
    );
    let o = verify(dir.path(), &ticket, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(ssotool(&["inspect", &ticket]).status.success());
}

#[test]
fn every_subcommand_has_help_and_usage_errors_exit_2() {
    let o = ssotool(&["--help"]);
    assert!(o.status.success());
    let top = text(&o);
    for sub in ["gen-keys", "sign", "verify", "inspect"] {
        assert!(top.contains(sub), "{top}");
        let o = ssotool(&[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help");
        assert!(text(&o).contains("Usage: ssotool"), "{sub}");
    }
    assert_eq!(ssotool(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(ssotool(&["verify"]).status.code(), Some(2));
}

/// A signed ticket for `service` from the key pair in `dir` (see [`gen`]).
fn ticket_for(dir: &Path, service: &str) -> String {
    let o = ssotool(&[
        "sign",
        "--secret-key",
        p(&dir.join("sec")),
        "--user",
        "alice",
        "--service",
        service,
        "--domain",
        "example.org",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// `ssotool fetch --ssh api@127.0.0.1 ARGS` with `ticket` in a private
/// cache (so no ssh runs: `SSO_SSH` is `false`, which would fail loudly).
fn fetch_with_cached(ticket: &str, args: &[&str]) -> Output {
    let cache_home = tempfile::tempdir().unwrap();
    sso_client::TicketCache::new(cache_home.path().join("sso"))
        .store("api@127.0.0.1", None, ticket)
        .unwrap();
    Command::new(bin("ssotool"))
        .args(["fetch", "--ssh", "api@127.0.0.1"])
        .args(args)
        .env("XDG_CACHE_HOME", cache_home.path())
        .env("SSO_SSH", "/bin/false")
        .output()
        .expect("run ssotool fetch")
}

/// A one-request HTTP server on 127.0.0.1: answers `200 ok` and hands back
/// the request head it read.
fn one_request_server() -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    (port, handle)
}

/// Nobody connected to `listener` (checked after the client exited).
fn nobody_connected(listener: &std::net::TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn fetch_sends_a_ticket_only_over_https_to_its_service_host() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    // Plain http to the right host: refused before connecting.
    let local = ticket_for(dir.path(), "127.0.0.1/");
    let o = fetch_with_cached(&local, &[&format!("http://127.0.0.1:{port}/app/")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("only over https"), "{}", text(&o));
    assert!(text(&o).contains("--allow-any-url"), "{}", text(&o));

    // https to a host that is not the ticket's service: refused too.
    let api = ticket_for(dir.path(), "api.example.org/");
    let o = fetch_with_cached(&api, &[&format!("https://127.0.0.1:{port}/app/")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("sent only to https://api.example.org"),
        "{}",
        text(&o)
    );
    // A service port pins the port.
    let pinned = ticket_for(dir.path(), &format!("127.0.0.1:{}/", port ^ 1));
    let o = fetch_with_cached(&pinned, &[&format!("https://127.0.0.1:{port}/")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(nobody_connected(&listener), "a refused ticket was sent");
    assert!(!text(&o).contains(&pinned), "the ticket is never printed");
}

#[test]
fn fetch_refuses_a_plain_http_url_before_asking_the_realm() {
    // The realm is unreachable (TEST-NET-1, no ticket cached): without the
    // check first, ssh would time out and fail with its own message.
    let cache_home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let o = Command::new(bin("ssotool"))
        .args(["fetch", "--ssh", "api@192.0.2.1", "--no-cache"])
        .args([
            "--ssh-option=-oConnectTimeout=30",
            "http://127.0.0.1:9/app/",
        ])
        .env("XDG_CACHE_HOME", cache_home.path())
        .env_remove("SSO_SSH")
        .env_remove("SSO_SSH_OPTIONS")
        .output()
        .expect("run ssotool fetch");
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("only over https"), "{}", text(&o));
    assert!(!text(&o).contains("ssh"), "ssh ran: {}", text(&o));
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[test]
fn fetch_allow_any_url_sends_anyway_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gen(dir.path(), &[]).status.success());
    let api = ticket_for(dir.path(), "api.example.org/");
    let (port, server) = one_request_server();
    let o = fetch_with_cached(
        &api,
        &["--allow-any-url", &format!("http://127.0.0.1:{port}/app/")],
    );
    let head = server.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ok");
    assert!(
        head.contains(&format!("\r\nauthorization: SSO {api}\r\n"))
            || head.contains(&format!("\r\nAuthorization: SSO {api}\r\n")),
        "{head}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: sending ticket"), "{err}");
    assert!(err.contains("only over https"), "{err}");
    assert!(
        !err.contains(&api),
        "the warning names the fingerprint only: {err}"
    );
}

#[test]
fn as_a_login_shell_ssotool_runs_nothing_but_the_forced_command() {
    use std::os::unix::process::CommandExt;
    let (_dir, marker) = tests::util::temp_path("pwned");
    // What sshd starts for `ssh REALM@HOST COMMAND` and for an interactive
    // login of an account whose shell is ssotool.
    let touch = format!("touch {}", marker.display());
    let own = std::fs::canonicalize(bin("ssotool")).unwrap();
    let sign_with_the_realm_key = format!(
        "{} sign --secret-key /nonexistent --user root --service a/ --domain d",
        own.display()
    );
    for args in [
        vec!["-c", touch.as_str()],
        vec!["-c", "/bin/sh"],
        vec!["-c", sign_with_the_realm_key.as_str()],
        vec!["-c"],
    ] {
        let o = Command::new(bin("ssotool")).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("has no shell"), "{args:?}: {}", text(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let o = Command::new(bin("ssotool"))
        .arg0("-ssotool")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("has no shell"), "{}", text(&o));
    assert!(!marker.exists());
}
