//! A private apache2 for integration tests, with the built mod_sso loaded.
//!
//! ```no_run
//! use tests::apache::{Apache, ApacheConfig, Mpm};
//! let mut apache = Apache::start(ApacheConfig {
//!     mpm: Mpm::Event,
//!     config: "<Location /app/>\n  AuthType SSO\n  SSOService @HOSTPORT@/app/\n  Require valid-user\n</Location>\n"
//!         .into(),
//!     files: vec![("htdocs/app/index.html".into(), "hello\n".into(), 0o644)],
//!     ..ApacheConfig::default()
//! });
//! let resp = apache.get("/app/");              // never follows redirects
//! assert_eq!(resp.status, 302);
//! let _url = apache.https_url("/app/");         // https://127.0.0.1:PORT/app/
//! apache.graceful();                            // SIGUSR1, waits for the new generation
//! let _log = apache.error_log();
//! // dropped: SIGTERM, then SIGKILL if it lingers; the temp dir goes away
//! ```
//!
//! What [`Apache::start`] does:
//! - a temporary ServerRoot (readable by the unprivileged `User` httpd drops
//!   to when the tests run as root: `www-data`), with its own `httpd.conf`
//!   (never `/etc/apache2`), `htdocs/`, `run/`, `error.log`, `access.log`;
//! - a free `127.0.0.1` port, `ServerName 127.0.0.1:PORT`;
//! - with `tls` (the default) a throwaway self-signed certificate made by
//!   `openssl` at start time and `SSLEngine on` for the whole server;
//! - the MPM of [`Mpm`], small process/thread counts, mod_cgid (event) or
//!   mod_cgi (prefork) with `*.cgi` executable anywhere under `htdocs/`;
//! - the usual auth modules (authn_core, authz_core, authz_user,
//!   authz_groupfile, authz_host), alias, mime, env, headers, setenvif, plus
//!   [`ApacheConfig::modules`], then `LoadModule sso_module` with
//!   `util::cdylib("mod_sso")` unless `load_sso` is false;
//! - `LogLevel` from [`ApacheConfig::log_level`] (default `warn sso:debug`);
//! - [`ApacheConfig::config`] appended last. In it and in
//!   [`ApacheConfig::files`], `@ROOT@` (ServerRoot), `@PORT@`,
//!   `@HOSTPORT@` (`127.0.0.1:PORT`) and `@DOCROOT@` are replaced.
//!
//! httpd runs in the foreground as a child of the test; startup errors are
//! returned by [`Apache::try_start`] with httpd's own message.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;

/// The Debian location of httpd's modules.
pub const MODULES_DIR: &str = "/usr/lib/apache2/modules";

/// Which multi-processing module runs the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Prefork,
}

/// A CGI page showing who mod_sso let in (`REMOTE_USER`, in `#user`), for
/// the browser tests.
pub const WHOAMI_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/html\\r\\n\\r\\n'\n\
echo \"<!DOCTYPE html><html><body><h1>Protected service</h1><p>Logged in as <b id=\\\"user\\\">$REMOTE_USER</b></p></body></html>\"\n";

/// What to start. `ApacheConfig::default()` is an https event-MPM server
/// with mod_sso loaded and nothing configured.
#[derive(Clone, Debug)]
pub struct ApacheConfig {
    pub mpm: Mpm,
    /// https with a throwaway certificate (default) or plain http.
    pub tls: bool,
    /// Load the built mod_sso (default true).
    pub load_sso: bool,
    /// Extra modules by short name (`proxy` loads `mod_proxy.so` as
    /// `proxy_module`), loaded before mod_sso.
    pub modules: Vec<String>,
    /// Extra `LoadModule` lines written verbatim before mod_sso (peers in
    /// benchmarks).
    pub load_lines: Vec<String>,
    /// `LogLevel` arguments.
    pub log_level: String,
    /// Configuration appended after the base configuration (placeholders
    /// replaced, see the module documentation).
    pub config: String,
    /// Files to create under the ServerRoot before start:
    /// (relative path, content, mode). Placeholders are replaced in contents.
    pub files: Vec<(String, String, u32)>,
}

impl Default for ApacheConfig {
    fn default() -> Self {
        ApacheConfig {
            mpm: Mpm::Event,
            tls: true,
            load_sso: true,
            modules: Vec::new(),
            load_lines: Vec::new(),
            log_level: "warn sso:debug".into(),
            config: String::new(),
            files: Vec::new(),
        }
    }
}

/// A running private apache2 (stopped on drop).
pub struct Apache {
    root: tempfile::TempDir,
    port: u16,
    tls: bool,
    child: Child,
}

/// An HTTP answer: the tests' one response type (see [`crate::http`]).
pub use crate::http::HttpResponse as Response;

/// A request to an apache2 of the tests (`Apache::request` or [`Request::new`]).
#[derive(Clone, Debug)]
pub struct Request {
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<String>,
}

impl Request {
    /// A GET of an absolute URL.
    pub fn new(url: &str) -> Request {
        Request {
            url: url.to_owned(),
            method: "GET".into(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
        }
    }

    pub fn method(mut self, method: &str) -> Request {
        self.method = method.to_owned();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cookie(mut self, name: &str, value: &str) -> Request {
        self.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Request {
        self.body = Some(body.to_owned());
        self
    }

    /// Sends the request with the tests' one HTTP client: no redirect
    /// followed, the throwaway certificate not checked, the path sent as
    /// given, all cookies in one `Cookie` header. Panics if it cannot connect.
    pub fn send(&self) -> Response {
        let mut headers = self.headers.clone();
        if !self.cookies.is_empty() {
            let line: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            headers.push(("Cookie".to_owned(), line.join("; ")));
        }
        crate::http::request(&self.url, &self.method, &headers, self.body.as_deref())
    }
}

/// What the parent httpd logs (at notice level) once
/// a generation of children is up: at startup and after a graceful restart.
const RUNNING: &str = "resuming normal operations";

impl Apache {
    /// Starts apache2 or panics with its error output.
    pub fn start(config: ApacheConfig) -> Apache {
        match Apache::try_start(config) {
            Ok(a) => a,
            Err(e) => panic!("apache2 did not start:\n{e}"),
        }
    }

    /// Starts apache2; `Err` holds httpd's stderr and error log when it
    /// refuses to start (a configuration error names the directive there).
    pub fn try_start(config: ApacheConfig) -> Result<Apache, String> {
        let root = tempfile::Builder::new()
            .prefix("apache-")
            .tempdir()
            .expect("temp ServerRoot");
        let dir = root.path().to_path_buf();
        for d in ["htdocs", "run", "conf"] {
            std::fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        let port = util::free_port();
        let subst = |s: &str| -> String {
            s.replace("@ROOT@", &dir.display().to_string())
                .replace("@DOCROOT@", &dir.join("htdocs").display().to_string())
                .replace("@HOSTPORT@", &format!("127.0.0.1:{port}"))
                .replace("@PORT@", &port.to_string())
        };
        for (rel, content, mode) in &config.files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().expect("file has a parent")).expect("mkdir");
            std::fs::write(&p, subst(content)).expect("write file");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).expect("chmod");
        }
        if config.tls {
            make_certificate(&dir.join("conf"));
        }
        let conf = subst(&base_config(&config)) + "\n" + &subst(&config.config) + "\n";
        std::fs::write(dir.join("conf/httpd.conf"), conf).expect("write httpd.conf");
        make_traversable(&dir);

        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr.log");
        let child = Command::new(apache_binary())
            .arg("-d")
            .arg(&dir)
            .arg("-f")
            .arg(dir.join("conf/httpd.conf"))
            .arg("-DFOREGROUND")
            // prefork signals its whole process group on shutdown: give it
            // its own, or it would take the test runner down with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("dup"))
            .stderr(stderr)
            .spawn()
            .expect("spawn apache2");
        let mut apache = Apache {
            root,
            port,
            tls: config.tls,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = apache.child.try_wait() {
                return Err(format!(
                    "apache2 exited with {status}\n--- stderr ---\n{}\n--- error.log ---\n{}",
                    apache.stderr(),
                    apache.error_log()
                ));
            }
            if util::wait_for_port(port, Duration::from_millis(100)) {
                // The sockets open before the parent logs that it runs:
                // wait for that line too (up to 5 s), so a test that reads
                // the startup log never races it.
                let logged = Instant::now() + Duration::from_secs(5);
                while !apache.error_log().contains(RUNNING) && Instant::now() < logged {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Ok(apache);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "apache2 did not listen on {port} within 60 s\n{}",
                    apache.error_log()
                ));
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `https://127.0.0.1:PORT` + `path` (`http://` when started without TLS).
    pub fn https_url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The ServerRoot.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The DocumentRoot (`ROOT/htdocs`).
    pub fn docroot(&self) -> PathBuf {
        self.root.path().join("htdocs")
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("error.log")).unwrap_or_default()
    }

    /// The access log (`%h %u "%r" %>s`) once it has at least `lines` lines,
    /// or after 10 s: httpd writes a line after the answer is sent, so a
    /// test reading it right after its request would race it.
    pub fn access_log(&self, lines: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log =
                std::fs::read_to_string(self.root.path().join("access.log")).unwrap_or_default();
            if log.lines().count() >= lines || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// httpd's stdout/stderr so far (startup messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.root.path().join("stderr.log")).unwrap_or_default()
    }

    /// The parent httpd's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A GET request builder for `path`.
    pub fn request(&self, path: &str) -> Request {
        Request::new(&self.https_url(path))
    }

    /// GET `path` with no extra headers.
    pub fn get(&self, path: &str) -> Response {
        self.request(path).send()
    }

    /// `apache2ctl -k graceful` (SIGUSR1 to the parent); returns once the
    /// parent logged that the new generation is up. Panics if it exited
    /// (e.g. the new configuration is broken) or did not restart in 60 s.
    pub fn graceful(&mut self) {
        let marker = RUNNING;
        let before = self.error_log().matches(marker).count();
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGUSR1) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.error_log().matches(marker).count() <= before {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "apache2 exited on graceful restart: {status}\n{}",
                    self.error_log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no graceful restart within 60 s:\n{}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (also done on drop).
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill on our own child's pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- apache error.log ({}) ---\n{}",
                self.root.path().display(),
                self.error_log()
            );
        }
    }
}

fn apache_binary() -> PathBuf {
    for p in ["/usr/sbin/apache2", "/usr/sbin/httpd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("apache2 is not installed (scripts/apt/mod_sso.txt)");
}

fn make_certificate(dir: &Path) {
    crate::tls::self_signed("127.0.0.1", &dir.join("cert.pem"), &dir.join("key.pem"));
}

/// httpd's children run as `www-data` when started as root: every directory
/// of the ServerRoot must be traversable and readable for them.
fn make_traversable(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755));
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
}

fn module_line(name: &str) -> String {
    format!("LoadModule {name}_module {MODULES_DIR}/mod_{name}.so\n")
}

fn base_config(c: &ApacheConfig) -> String {
    let mut s = String::new();
    s.push_str("ServerRoot \"@ROOT@\"\nPidFile \"@ROOT@/run/httpd.pid\"\nDefaultRuntimeDir \"@ROOT@/run\"\n");
    s.push_str("Mutex file:@ROOT@/run default\nErrorLog \"@ROOT@/error.log\"\n");
    s.push_str(&format!("LogLevel {}\n", c.log_level));
    s.push_str("Listen 127.0.0.1:@PORT@\nServerName 127.0.0.1:@PORT@\n");
    if util::is_root() {
        s.push_str("User www-data\nGroup www-data\n");
    }
    match c.mpm {
        Mpm::Event => {
            s.push_str(&module_line("mpm_event"));
            s.push_str(
                "StartServers 2\nServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\nMinSpareThreads 8\nMaxSpareThreads 24\n",
            );
        }
        Mpm::Prefork => {
            s.push_str(&module_line("mpm_prefork"));
            s.push_str(
                "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 16\n",
            );
        }
    }
    for m in [
        "authn_core",
        "authz_core",
        "authz_user",
        "authz_groupfile",
        "authz_host",
        "alias",
        "mime",
        "env",
        "headers",
        "setenvif",
        "dir",
    ] {
        s.push_str(&module_line(m));
    }
    match c.mpm {
        Mpm::Event => s.push_str(&(module_line("cgid") + "ScriptSock \"@ROOT@/run/cgid.sock\"\n")),
        Mpm::Prefork => s.push_str(&module_line("cgi")),
    }
    // mod_ssl's session cache and mod_sso's ticket bindings (docs/mod_sso.md,
    // SSOBindingCache) both live in shmcb.
    if c.tls || c.load_sso {
        s.push_str(&module_line("socache_shmcb"));
    }
    if c.tls {
        s.push_str(&module_line("ssl"));
    }
    for m in &c.modules {
        s.push_str(&module_line(m));
    }
    for l in &c.load_lines {
        s.push_str(l);
        s.push('\n');
    }
    if c.load_sso {
        s.push_str(&format!(
            "LoadModule sso_module {}\n",
            util::cdylib("mod_sso").display()
        ));
    }
    s.push_str("TypesConfig /etc/mime.types\nDirectoryIndex index.html\nLogFormat \"%h %u \\\"%r\\\" %>s\" common\nCustomLog \"@ROOT@/access.log\" common\n");
    s.push_str("DocumentRoot \"@ROOT@/htdocs\"\n<Directory \"@ROOT@/htdocs\">\n  Options +ExecCGI\n  AddHandler cgi-script .cgi\n  Require all granted\n</Directory>\n");
    if c.tls {
        s.push_str("SSLEngine on\nSSLCertificateFile \"@ROOT@/conf/cert.pem\"\nSSLCertificateKeyFile \"@ROOT@/conf/key.pem\"\nSSLSessionCache \"shmcb:@ROOT@/run/ssl_scache(512000)\"\n");
    }
    s
}
