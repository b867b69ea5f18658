//! The login server (`sso-server`) started as a real process on a free port
//! with a temporary configuration; requests go through [`crate::http`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub use crate::browser::Browser;
use crate::http::form_urlencode;
pub use crate::http::{http, pct, query_params, Cookies, HttpResponse};
use crate::util::{bin, output_with_stdin, TestKeys};

/// The domain every test server uses.
pub const DOMAIN: &str = "test.example.org";
/// Two services the test configuration ([`Setup::users_file`]) allows.
pub const WIKI: &str = "wiki.test.example.org/";
pub const MAIL: &str = "mail.test.example.org/";

/// A session secret (two instances sharing it serve the same users): 32
/// random bytes in base64, as `sso-server gen-secret` makes them.
pub const SECRET: &str = "JvNHJs4uLeBwMuMGQ9H5R9FU/12lFZfhRpTB+TsVYTI=";

/// Runs the real `sso-server ARGS...` with `stdin` as its standard input.
pub fn sso_server_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    output_with_stdin(Command::new(bin("sso-server")).args(args), stdin)
}

/// Runs the real `sso-server user add` on a users file, the password on
/// stdin, and returns what it did (for tests of its failures).
pub fn try_add_user(
    users_file: &Path,
    user: &str,
    password: &str,
    groups: &[&str],
) -> std::process::Output {
    let file = users_file.to_str().expect("a UTF-8 path");
    let groups = groups.join(",");
    let mut args = vec!["user", "add", "--users-file", file, user];
    if !groups.is_empty() {
        args.extend(["--groups", &groups]);
    }
    sso_server_with_stdin(&args, &format!("{password}\n"))
}

/// Adds a user to a users file with the real `sso-server user add`.
pub fn add_user(users_file: &Path, user: &str, password: &str, groups: &[&str]) {
    let out = try_add_user(users_file, user, password, groups);
    assert!(
        out.status.success(),
        "sso-server user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A users file in a new folder where alice, in `staff`, logs in with
/// `password`: the folder (which must outlive the file's users) and the
/// file's path.
pub fn staff_alice(password: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, users) = crate::util::temp_path("users");
    add_user(&users, "alice", password, &["staff"]);
    (dir, users)
}

/// A users file `users` in `dir` with these accounts (user, password),
/// in no group: its path.
pub fn users_file(dir: &Path, accounts: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("users");
    for (user, password) in accounts {
        add_user(&path, user, password, &[]);
    }
    path
}

/// What goes into a test configuration.
pub struct Setup {
    /// TOML for the `[auth]` table's body, e.g. `backend = "users_file"...`.
    pub auth: String,
    /// `allowed_services` patterns; `None` writes no list at all.
    pub allowed_services: Option<Vec<String>>,
    /// Any further top-level TOML (e.g. `allow_any_service = true`), written
    /// before the tables.
    pub top_level: String,
    /// Further tables (e.g. `[[exchange]]` rules, `[throttle]`).
    pub tables: String,
    pub session_secrets: Vec<String>,
}

impl Setup {
    /// A users-file backend with the given file.
    pub fn users_file(path: &Path) -> Setup {
        Setup {
            auth: format!("backend = \"users_file\"\nusers_file = {:?}\n", path),
            allowed_services: Some(vec![
                r"[a-z0-9-]+\.test\.example\.org/".into(),
                r"127\.0\.0\.1:[0-9]+/".into(),
            ]),
            top_level: String::new(),
            tables: String::new(),
            session_secrets: vec![SECRET.into()],
        }
    }

    /// The configuration text for a server listening on `port`.
    pub fn config_text(&self, keys: &TestKeys, port: u16) -> String {
        self.config_text_with_keys(&keys.secret_path, &[&keys.public_path], port)
    }

    /// The configuration text with these key files (key rotation).
    pub fn config_text_with_keys(&self, secret: &Path, public: &[&Path], port: u16) -> String {
        let public: Vec<String> = public.iter().map(|p| format!("{p:?}")).collect();
        let mut s = format!(
            "domain = {DOMAIN:?}\nlisten = \"127.0.0.1:{port}\"\nsecret_key_file = {secret:?}\npublic_key_files = [{}]\n",
            public.join(", ")
        );
        if let Some(list) = &self.allowed_services {
            let quoted: Vec<String> = list.iter().map(|p| format!("'{p}'")).collect();
            s.push_str(&format!("allowed_services = [{}]\n", quoted.join(", ")));
        }
        s.push_str(&self.top_level);
        s.push_str("\n[session]\nsecrets = [");
        let secrets: Vec<String> = self
            .session_secrets
            .iter()
            .map(|x| format!("{x:?}"))
            .collect();
        s.push_str(&secrets.join(", "));
        s.push_str("]\n\n[auth]\n");
        s.push_str(&self.auth);
        s.push('\n');
        s.push_str(&self.tables);
        s
    }
}

/// Runs the `sso-server` command with these arguments to its end: the exit
/// code and standard output followed by standard error.
pub fn run_sso_server(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    crate::daemon::run("sso-server", args)
}

/// A running `sso-server`, killed on Drop.
pub struct SsoServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

impl SsoServer {
    /// Writes the configuration and starts the server; panics with the
    /// server's log if it does not come up.
    pub fn start(keys: &TestKeys, setup: &Setup) -> SsoServer {
        SsoServer::start_with(keys, setup, |text| text)
    }

    /// As [`SsoServer::start`], with the configuration text passed through
    /// `edit` first (e.g. to listen on `[::]`; the server must still accept
    /// connections on 127.0.0.1).
    pub fn start_with(
        keys: &TestKeys,
        setup: &Setup,
        edit: impl FnOnce(String) -> String,
    ) -> SsoServer {
        let d = crate::daemon::start("sso-server", |port| edit(setup.config_text(keys, port)));
        SsoServer {
            child: d.child,
            port: d.port,
            dir: d.dir,
            config_path: d.config_path,
            log_path: d.log_path,
        }
    }

    /// Runs `sso-server --check-config --config FILE` with this text and
    /// returns its exit status success and its output, for configurations
    /// that must fail.
    pub fn try_config(text: &str) -> (bool, String) {
        let (_dir, path) = crate::util::temp_path("bad.toml");
        std::fs::write(&path, text).expect("write");
        let (code, out) = run_sso_server(&[
            "--check-config".as_ref(),
            "--config".as_ref(),
            path.as_ref(),
        ]);
        (code == Some(0), out)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The first line of the log with `event=EVENT`; panics, showing the
    /// log, when there is none.
    pub fn log_line(&self, event: &str) -> String {
        let log = self.log();
        let tag = format!("event={event}");
        log.lines()
            .find(|l| l.contains(&tag))
            .unwrap_or_else(|| panic!("no {tag} line:\n{log}"))
            .to_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Replaces the configuration file (the server reads it on reload).
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config_path, text).expect("write config");
    }

    /// Sends SIGHUP (what `systemctl reload` does) and returns the log line
    /// that answers it: `event=reload` or `event=reload-refused`. Panics if
    /// the server exits or does not answer within 60 s.
    pub fn reload(&mut self) -> String {
        crate::daemon::reload(&mut self.child, &self.log_path, "sso-server")
    }

    /// The login form of `ask` (a `/?s=...` path): the cookies it sets and
    /// its hidden `csrf` and `s` fields, for tests that post many attempts
    /// with one CSRF pair.
    pub fn login_form(&self, ask: &str) -> (Cookies, Vec<(String, String)>) {
        let mut jar = Cookies::new();
        let form = self.get(ask, &jar);
        assert_eq!(form.status, 200, "{}", form.body);
        jar.update(&form);
        let fields = ["csrf", "s"]
            .iter()
            .map(|n| (n.to_string(), form.form_field(n).unwrap_or_default()))
            .collect();
        (jar, fields)
    }

    pub fn get(&self, path: &str, cookies: &Cookies) -> HttpResponse {
        http(self.port, "GET", path, &cookies.header(), None)
    }

    /// Loads the login form at `path` (e.g. `/?s=...`) and submits it with
    /// these credentials, keeping cookies in `jar`.
    pub fn login(&self, jar: &mut Cookies, path: &str, user: &str, password: &str) -> HttpResponse {
        let form = self.get(path, jar);
        assert_eq!(form.status, 200, "login form expected: {}", form.body);
        jar.update(&form);
        let resp = self.submit(
            &form,
            "/login",
            jar,
            &[("username", user), ("password", password)],
        );
        jar.update(&resp);
        resp
    }

    pub fn post(&self, path: &str, cookies: &Cookies, form: &[(&str, &str)]) -> HttpResponse {
        let body = form_urlencode(form);
        http(self.port, "POST", path, &cookies.header(), Some(&body))
    }

    /// Submits a page's form as a browser does: its hidden fields (the CSRF
    /// token and the ticket request `s`, `d`, `n`, `g`) and `typed`.
    pub fn submit(
        &self,
        page: &HttpResponse,
        path: &str,
        cookies: &Cookies,
        typed: &[(&str, &str)],
    ) -> HttpResponse {
        let hidden: Vec<(&str, String)> = ["csrf", "s", "d", "n", "g"]
            .into_iter()
            .map(|n| (n, page.form_field(n).unwrap_or_default()))
            .collect();
        let mut form: Vec<(&str, &str)> = hidden.iter().map(|(n, v)| (*n, v.as_str())).collect();
        form.extend_from_slice(typed);
        self.post(path, cookies, &form)
    }
}

impl Drop for SsoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ticket text in the `t` parameter of a 302 to a service's
/// `sso_login`.
pub fn redirected_ticket_text(resp: &HttpResponse) -> Option<String> {
    if resp.status != 302 {
        return None;
    }
    query_params(resp.header("location")?)
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, t)| t)
}

/// The ticket of [`redirected_ticket_text`], decoded without verification
/// (the tests check its claims).
pub fn redirected_ticket(resp: &HttpResponse) -> Option<sso_core::Ticket> {
    sso_core::decode_unverified(&redirected_ticket_text(resp)?).ok()
}

/// The set-up of the throttle tests: alice (with `password`) and bob in a
/// users file in `dir`, 127.0.0.1 a trusted proxy (so each attempt names
/// its address in `X-Forwarded-For`), and `throttle` as the `[throttle]`
/// table.
pub fn throttle_setup(dir: &Path, password: &str, throttle: &str) -> Setup {
    let path = users_file(dir, &[("alice", password), ("bob", "bob's password")]);
    let mut setup = Setup::users_file(&path);
    setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
    setup.tables = format!("[throttle]\n{throttle}");
    setup
}

/// Writes a fresh OpenID Connect signing key with the real
/// `sso-server oidc gen-key` to `path`, failing the test if it fails.
pub fn oidc_gen_key(path: &Path) {
    let out = Command::new(bin("sso-server"))
        .args(["oidc", "gen-key", "--output"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// The port in the `listen = "127.0.0.1:PORT"` line of a configuration
/// written by [`Setup::config_text`], for settings that must name it (an
/// OpenID Connect issuer on this server).
pub fn listen_port(config: &str) -> &str {
    config
        .split("listen = \"127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
}
