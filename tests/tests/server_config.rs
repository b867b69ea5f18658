//! The login server's configuration handling, TLS, and the `user`
//! subcommand, with the real binary.

use std::process::{Command, Stdio};

use tests::http::get_verified;
use tests::server::{add_user, run_sso_server, Cookies, Setup, SsoServer};
use tests::util::{bin, free_port, is_root, TestKeys};

fn users(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let p = dir.path().join("users");
    add_user(&p, "alice", "pw-alice", &["staff"]);
    p
}

#[test]
fn without_allowed_services_the_server_refuses_to_start_and_says_why() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::users_file(&users(&dir));
    setup.allowed_services = None;
    let text = setup.config_text(&keys, free_port());
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok);
    assert!(out.contains("allowed_services"), "{out}");
    assert!(out.contains("allow_any_service"), "{out}");
    assert!(out.contains("bad.toml"), "names the file: {out}");

    // The real start (not only --check-config) refuses too.
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &text).unwrap();
    let status = Command::new(bin("sso-server"))
        .arg("--config")
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());

    // With the explicit switch it starts and serves any service.
    setup.top_level = "allow_any_service = true\n".into();
    let s = SsoServer::start(&keys, &setup);
    let r = s.get("/?s=anything.example.net/", &Cookies::new());
    assert_eq!(r.status, 200);
    assert!(s.log().contains("allow_any_service"));
}

#[test]
fn configuration_errors_name_the_key_and_the_file() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::users_file(&users(&dir));
    let good = setup.config_text(&keys, free_port());
    let (ok, out) = SsoServer::try_config(&good);
    assert!(ok, "{out}");
    for (broken, key) in [
        (
            good.replace("listen = \"127.0.0.1:", "listen = \"nowhere:"),
            "listen",
        ),
        (good.replace("users_file\"", "kerberos\""), "auth.backend"),
        (format!("typo_key = 1\n{good}"), "typo_key"),
        (
            good.replace(tests::server::SECRET, "short"),
            "session.secrets",
        ),
        (
            good.replace("allowed_services = ['", "allowed_services = ['(unclosed"),
            "allowed_services",
        ),
        (
            good.replace(
                &format!("{:?}", keys.secret_path),
                "\"/nonexistent/secret.key\"",
            ),
            "secret_key_file",
        ),
        (
            good.replace(
                &format!("{:?}", keys.public_path),
                &format!("{:?}", TestKeys::new().public_path),
            ),
            "public_key_files",
        ),
    ] {
        let (ok, out) = SsoServer::try_config(&broken);
        assert!(!ok, "accepted a config with a bad {key}");
        assert!(out.contains(key), "{key} not named: {out}");
        assert!(out.contains("bad.toml"), "file not named: {out}");
    }
}

#[test]
fn tls_serves_https_with_rustls() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = tests::tls::self_signed_in(dir.path(), "localhost");
    let mut setup = Setup::users_file(&users(&dir));
    setup.tables = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
    let s = SsoServer::start(&keys, &setup);
    // A real TLS client that checks the certificate against its issuer and
    // the host name, as a browser would.
    let ca = std::fs::read(&cert).expect("read the certificate");
    let r = get_verified(&format!("https://localhost:{}/healthz", s.port), &ca);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.header("strict-transport-security").is_some(), "{r:?}");
    assert!(s.log().contains("listening on https://"));
}

#[test]
fn user_subcommand_adds_changes_and_deletes_users() {
    let keys = TestKeys::new();
    let (_dir, path) = tests::util::temp_path("users");
    add_user(&path, "dave", "first", &["ops"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("dave:$argon2id$"), "{text}");
    assert!(text.trim_end().ends_with(":ops"), "{text}");
    assert!(!text.contains("first"), "plain password in the file");

    let run = |args: &[&str], stdin: &str| {
        let args = [&["user"][..], args].concat();
        tests::server::sso_server_with_stdin(&args, stdin)
            .status
            .success()
    };
    let p = path.to_str().unwrap();
    assert!(
        !run(&["add", "--users-file", p, "dave"], "again\n"),
        "duplicate add"
    );
    assert!(run(&["passwd", "--users-file", p, "dave"], "second\n"));
    assert!(!run(&["passwd", "--users-file", p, "nobody"], "x\n"));
    assert!(!run(&["add", "--users-file", p, "bad:name"], "x\n"));

    let setup = Setup::users_file(&path);
    let s = SsoServer::start(&keys, &setup);
    let try_login = |user: &str, pw: &str| {
        let mut jar = Cookies::new();
        let form = s.get("/?s=wiki.test.example.org/", &jar);
        jar.update(&form);
        s.post(
            "/login",
            &jar,
            &[
                ("csrf", &form.form_field("csrf").unwrap()),
                ("s", "wiki.test.example.org/"),
                ("username", user),
                ("password", pw),
            ],
        )
        .status
    };
    assert_eq!(try_login("dave", "first"), 401);
    assert_eq!(try_login("dave", "second"), 302);
    // The running server picks up changes to the file.
    assert!(run(&["del", "--users-file", p, "dave"], ""));
    assert_eq!(try_login("dave", "second"), 401);
}

/// `sso-server --check-config --config PATH`: success and the output.
fn check_config(path: &std::path::Path) -> (bool, String) {
    let (code, out) = run_sso_server(&[
        "--check-config".as_ref(),
        "--config".as_ref(),
        path.as_ref(),
    ]);
    (code == Some(0), out)
}

fn set_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn files_others_could_write_are_refused_naming_file_and_rule() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::users_file(&users(&dir));
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    set_mode(&etc, 0o755);
    let config = etc.join("sso-server.toml");
    std::fs::write(&config, setup.config_text(&keys, free_port())).unwrap();
    set_mode(&config, 0o640);
    let (ok, out) = check_config(&config);
    assert!(ok, "{out}");

    // The configuration, writable by its group.
    set_mode(&config, 0o660);
    let (ok, out) = check_config(&config);
    assert!(!ok);
    assert!(out.contains("sso-server.toml: refused"), "{out}");
    assert!(
        out.contains("is writable by its group (mode 0660)"),
        "{out}"
    );
    set_mode(&config, 0o640);

    // Its directory, writable by anyone (no sticky bit).
    set_mode(&etc, 0o777);
    let (ok, out) = check_config(&config);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "its directory {}",
            etc.canonicalize().unwrap().display()
        )),
        "{out}"
    );
    set_mode(&etc, 0o755);

    // A key file writable by others: refused naming the key and the file.
    set_mode(&keys.public_path, 0o646);
    let (ok, out) = check_config(&config);
    set_mode(&keys.public_path, 0o644);
    assert!(!ok);
    assert!(out.contains("public_key_files:"), "{out}");
    assert!(
        out.contains(&keys.public_path.display().to_string()),
        "{out}"
    );

    // Owned by a user who is neither root nor the server's user.
    if is_root() {
        std::os::unix::fs::chown(&config, Some(65534), None).unwrap();
        let (ok, out) = check_config(&config);
        assert!(!ok);
        assert!(out.contains("is owned by uid 65534"), "{out}");
        std::os::unix::fs::chown(&config, Some(0), None).unwrap();
        std::os::unix::fs::chown(&keys.secret_path, Some(65534), None).unwrap();
        let (ok, out) = check_config(&config);
        assert!(!ok);
        assert!(out.contains("secret_key_file:"), "{out}");
        assert!(out.contains("is owned by uid 65534"), "{out}");
    }
}

#[test]
fn the_command_line_keeps_its_forms() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::users_file(&users(&dir));
    let config = dir.path().join("c.toml");
    std::fs::write(&config, setup.config_text(&keys, free_port())).unwrap();
    let run = run_sso_server;
    let os = std::ffi::OsStr::new;
    let c = config.as_os_str();
    for args in [
        vec![os("--check-config"), os("--config"), c],
        vec![os("-c"), c, os("--check-config")],
        vec![os("run"), os("--check-config"), os("--config"), c],
    ] {
        let (code, out) = run(&args);
        assert_eq!(code, Some(0), "{args:?}: {out}");
        assert!(out.contains("configuration ok"), "{out}");
    }
    let (code, out) = run(&[os("--version")]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("sso-server "), "{out}");
    let (code, out) = run(&[os("--help")]);
    assert_eq!(code, Some(0));
    for word in ["run", "gen-secret", "user", "--check-config", "--config"] {
        assert!(out.contains(word), "{word} missing from --help: {out}");
    }
    let (code, _) = run(&[os("--no-such-option")]);
    assert_eq!(code, Some(2));
    let (code, _) = run(&[os("user"), os("add"), os("alice")]);
    assert_eq!(code, Some(2), "--users-file is required");
}
