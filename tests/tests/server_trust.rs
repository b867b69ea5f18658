//! The trust check (`sso_core::file_trust`) of the files the login server
//! reads besides its configuration and keys: the users file, `[ui]
//! templates` (the directory and its files) and the LDAP `ca_file`. One
//! that its group or others could write refuses the start, and refuses a
//! reload while the old configuration keeps serving, with an error naming
//! the key and the rule broken.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tests::ldap::throwaway_ca;
use tests::server::WIKI;
use tests::server::{add_user, pct, run_sso_server, Cookies, Setup, SsoServer};
use tests::util::{free_port, TestKeys};

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The files of one case, each acceptable to begin with: a users file, a
/// templates directory with a layout, and a CA certificate.
struct Files {
    _dir: tempfile::TempDir,
    users: PathBuf,
    templates: PathBuf,
    ca: PathBuf,
}

impl Files {
    fn new() -> Files {
        let (dir, users) = tests::util::temp_path("users");
        add_user(&users, "alice", "alice password", &[]);
        let templates = dir.path().join("ui");
        std::fs::create_dir(&templates).unwrap();
        set_mode(&templates, 0o755);
        let layout = templates.join("layout.html");
        std::fs::write(
            &layout,
            "<!DOCTYPE html><html lang=\"en\"><head><title>{{ site }}</title></head>\
             <body data-trust=\"checked\">{{ content }}</body></html>",
        )
        .unwrap();
        set_mode(&layout, 0o644);
        let (ca, _, _) = throwaway_ca(dir.path());
        set_mode(&ca, 0o644);
        Files {
            _dir: dir,
            users,
            templates,
            ca,
        }
    }

    /// The users file backend with the templates.
    fn setup(&self) -> Setup {
        let mut s = Setup::users_file(&self.users);
        s.tables = format!("[ui]\ntemplates = {:?}\n", self.templates);
        s
    }

    /// An LDAP backend over ldaps:// trusting `ca_file` (never reached: the
    /// CA file is read when the configuration is).
    /// [`Self::ldap_setup`] when `ldap`, else [`Self::setup`].
    fn setup_for(&self, ldap: bool) -> Setup {
        if ldap {
            self.ldap_setup()
        } else {
            self.setup()
        }
    }

    fn ldap_setup(&self) -> Setup {
        let mut s = self.setup();
        s.auth = format!(
            "backend = \"ldap\"\n[auth.ldap]\nurl = \"ldaps://127.0.0.1:{}\"\n\
             user_dn_template = \"uid={{user}},dc=example,dc=org\"\nca_file = {:?}\n",
            free_port(),
            self.ca
        );
        s
    }

    /// Each weakening, the key an error must name, and the path to restore:
    /// (what, key, path, bad mode, good mode, LDAP configuration?).
    fn cases(&self) -> Vec<(&'static str, &'static str, PathBuf, u32, u32, bool)> {
        vec![
            (
                "a group-writable users file",
                "auth.users_file",
                self.users.clone(),
                0o660,
                0o600,
                false,
            ),
            (
                "a templates directory anyone can write",
                "ui.templates",
                self.templates.clone(),
                0o757,
                0o755,
                false,
            ),
            (
                "a group-writable layout",
                "ui.templates",
                self.templates.join("layout.html"),
                0o664,
                0o644,
                false,
            ),
            (
                "a CA file anyone can write",
                "auth.ldap.ca_file",
                self.ca.clone(),
                0o646,
                0o644,
                true,
            ),
        ]
    }
}

fn check_config(text: &str) -> (bool, String) {
    let (_dir, path) = tests::util::temp_path("sso-server.toml");
    std::fs::write(&path, text).unwrap();
    set_mode(&path, 0o600);
    let (code, out) = run_sso_server(&[
        "--check-config".as_ref(),
        "--config".as_ref(),
        path.as_ref(),
    ]);
    (code == Some(0), out)
}

#[test]
fn a_users_file_templates_or_ca_file_others_could_write_refuses_the_start() {
    let keys = TestKeys::new();
    let files = Files::new();
    for (what, key, path, bad, good, ldap) in files.cases() {
        let setup = files.setup_for(ldap);
        let text = setup.config_text(&keys, free_port());
        let (ok, out) = check_config(&text);
        assert!(ok, "{what}: the good files are refused: {out}");
        set_mode(&path, bad);
        let (ok, out) = check_config(&text);
        set_mode(&path, good);
        assert!(!ok, "{what}: accepted: {out}");
        // `auth.ldap.ca_file`: as every key of [auth.ldap] is named.
        assert!(
            out.contains(&format!("{key}: ")) || out.contains(&format!("`{key}`: ")),
            "{what}: {key} not named: {out}"
        );
        assert!(out.contains("refused: "), "{what}: {out}");
        assert!(
            out.contains(&format!("(mode {:04o}); run chmod go-w", bad)),
            "{what}: the rule is not named: {out}"
        );
    }
}

/// Logs alice in for the wiki: the status of the answer.
fn login(server: &SsoServer) -> u16 {
    let mut jar = Cookies::new();
    server
        .login(
            &mut jar,
            &format!("/?s={}", pct(WIKI)),
            "alice",
            "alice password",
        )
        .status
}

#[test]
fn on_reload_such_a_file_is_refused_and_the_old_configuration_serves() {
    let keys = TestKeys::new();
    let serving = Files::new();
    let mut server = SsoServer::start(&keys, &serving.setup());
    assert_eq!(login(&server), 302, "{}", server.log());

    let next = Files::new();
    for (what, key, path, bad, good_mode, ldap) in next.cases() {
        let setup = next.setup_for(ldap);
        server.write_config(&setup.config_text(&keys, server.port));
        set_mode(&path, bad);
        let line = server.reload();
        set_mode(&path, good_mode);
        assert!(line.contains("event=reload-refused"), "{what}: {line}");
        assert!(line.contains(key), "{what}: {key} not named: {line}");
        assert!(line.contains("run chmod go-w"), "{what}: {line}");
        assert!(
            line.contains("still serving the previous configuration"),
            "{line}"
        );
        // The old users file (and templates) still serve.
        assert_eq!(login(&server), 302, "{what}: {}", server.log());
    }
    // Fixed, the same reload goes through.
    server.write_config(&next.setup().config_text(&keys, server.port));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    assert_eq!(login(&server), 302, "{}", server.log());
}

/// The users file is read again when it changes: a change made while its
/// group could write it is not read, and logins are refused (503) until
/// it is fixed, as for a file that does not parse.
#[test]
fn a_users_file_changed_while_others_could_write_it_is_not_read() {
    let keys = TestKeys::new();
    let files = Files::new();
    let server = SsoServer::start(&keys, &files.setup());
    assert_eq!(login(&server), 302);
    set_mode(&files.users, 0o660);
    let mut text = std::fs::read_to_string(&files.users).unwrap();
    text.push_str("# changed\n");
    std::fs::write(&files.users, text).unwrap();
    assert_eq!(login(&server), 503, "{}", server.log());
    assert!(
        server.log().contains("is writable by its group"),
        "{}",
        server.log()
    );
    set_mode(&files.users, 0o600);
    // The fix changes the file's mode, not its stamp: the next change reads it.
    let mut text = std::fs::read_to_string(&files.users).unwrap();
    text.push_str("# fixed\n");
    std::fs::write(&files.users, text).unwrap();
    assert_eq!(login(&server), 302, "{}", server.log());
}
