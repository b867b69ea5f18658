//! The login server (`sso-server`) started as a real process on a free port
//! with a temporary configuration, and a small HTTP/1.1 client to talk to it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{bin, free_port, wait_for_port, TestKeys};

/// The domain every test server uses.
pub const DOMAIN: &str = "test.example.org";
/// A session secret (two instances sharing it serve the same users).
pub const SECRET: &str = "test-session-secret-0123456789abcdef";

/// Adds a user to a users file with the real `sso-server user add`.
pub fn add_user(users_file: &Path, user: &str, password: &str, groups: &[&str]) {
    let mut cmd = Command::new(bin("sso-server"));
    cmd.args(["user", "add", "--users-file"])
        .arg(users_file)
        .arg(user);
    if !groups.is_empty() {
        cmd.args(["--groups", &groups.join(",")]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sso-server user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "sso-server user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        let mut s = format!(
            "domain = {DOMAIN:?}\nlisten = \"127.0.0.1:{port}\"\nsecret_key_file = {:?}\npublic_key_files = [{:?}]\n",
            keys.secret_path, keys.public_path
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
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("sso-server.toml");
        std::fs::write(&config_path, setup.config_text(keys, port)).expect("write config");
        let log_path = dir.path().join("sso-server.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(bin("sso-server"))
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone"))
            .stderr(log)
            .spawn()
            .expect("start sso-server");
        let mut server = SsoServer {
            child,
            port,
            dir,
            config_path,
            log_path,
        };
        if !wait_for_port(port, Duration::from_secs(20)) {
            let _ = server.child.kill();
            panic!("sso-server did not start:\n{}", server.log());
        }
        server
    }

    /// Runs `sso-server --config FILE` with this text and returns its exit
    /// status success and its output, for configurations that must fail.
    pub fn try_config(text: &str) -> (bool, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("write");
        let out = Command::new(bin("sso-server"))
            .arg("--check-config")
            .arg("--config")
            .arg(&path)
            .output()
            .expect("run sso-server");
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), s)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
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
        let field = |n: &str| form.form_field(n).unwrap_or_default();
        let resp = self.post(
            "/login",
            jar,
            &[
                ("csrf", &field("csrf")),
                ("s", &field("s")),
                ("d", &field("d")),
                ("n", &field("n")),
                ("g", &field("g")),
                ("username", user),
                ("password", password),
            ],
        );
        jar.update(&resp);
        resp
    }

    pub fn post(&self, path: &str, cookies: &Cookies, form: &[(&str, &str)]) -> HttpResponse {
        let body = form_urlencode(form);
        http(self.port, "POST", path, &cookies.header(), Some(&body))
    }
}

impl Drop for SsoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `a=1&b=2`, percent-encoded.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` (for checking redirect URLs).
pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(h, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cookie jar, as simple as the tests need.
#[derive(Default, Clone, Debug)]
pub struct Cookies(pub Vec<(String, String)>);

impl Cookies {
    pub fn new() -> Cookies {
        Cookies::default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Takes every Set-Cookie of a response (an empty value deletes).
    pub fn update(&mut self, resp: &HttpResponse) {
        for sc in resp.headers_named("set-cookie") {
            let first = sc.split(';').next().unwrap_or("");
            if let Some((n, v)) = first.split_once('=') {
                self.set(n.trim(), v.trim());
            }
        }
    }

    fn header(&self) -> Vec<(String, String)> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let v = self
            .0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        vec![("Cookie".into(), v)]
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The full Set-Cookie line for cookie `name`, if set.
    pub fn set_cookie_line(&self, name: &str) -> Option<&str> {
        self.headers_named("set-cookie")
            .into_iter()
            .find(|l| l.starts_with(&format!("{name}=")))
    }

    /// The value of the hidden form field `name` in the body.
    pub fn form_field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(
            self.body[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&#96;", "`")
                .replace("&amp;", "&"),
        )
    }
}

/// One HTTP/1.1 request on a fresh connection (Connection: close).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to sso-server");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The ticket of a `302` to a service (its `t=`), decoded unverified;
/// `None` for any other answer.
pub fn redirected_ticket(resp: &HttpResponse) -> Option<sso_core::Ticket> {
    if resp.status != 302 {
        return None;
    }
    let (_, t) = query_params(resp.header("location")?)
        .into_iter()
        .find(|(k, _)| k == "t")?;
    sso_core::decode_unverified(&t).ok()
}

/// The query parameters of a URL (decoded).
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

/// A headless Debian chromium driven over WebDriver (chromedriver on a free
/// port, a fresh profile); both are killed on Drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// The W3C WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// A browser that trusts exactly the system roots plus `trusted` (PEM
    /// certificates: a throwaway CA, or self-signed server certificates),
    /// imported into a private NSS database under a private HOME.
    pub fn start(trusted: &[&Path]) -> Browser {
        let port = free_port();
        let profile = tempfile::tempdir().expect("profile dir");
        let nssdb = profile.path().join(".pki/nssdb");
        std::fs::create_dir_all(&nssdb).expect("nssdb dir");
        let db = format!("sql:{}", nssdb.display());
        let ok = Command::new("certutil")
            .args(["-N", "-d", &db, "--empty-password"])
            .status()
            .expect("run certutil (apt install libnss3-tools)")
            .success();
        assert!(ok, "certutil -N failed");
        for (i, cert) in trusted.iter().enumerate() {
            let ok = Command::new("certutil")
                .args([
                    "-A",
                    "-d",
                    &db,
                    "-t",
                    "CT,,",
                    "-n",
                    &format!("test-ca-{i}"),
                    "-i",
                ])
                .arg(cert)
                .status()
                .expect("run certutil")
                .success();
            assert!(ok, "certutil could not import {}", cert.display());
        }
        // Its own process group, so Drop also ends the chromium it starts;
        // HOME points chromium at the private NSS database.
        let driver = Command::new("chromedriver")
            .process_group(0)
            .env("HOME", profile.path())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (apt install chromium-driver)");
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "chromedriver did not listen"
        );
        let args = serde_json::json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1000,800",
            format!(
                "--user-data-dir={}",
                b._profile.path().join("chromium").display()
            ),
        ]);
        let caps = serde_json::json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "acceptInsecureCerts": false,
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
            }}
        });
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_owned();
        b
    }

    /// One WebDriver command; returns `value` of the answer, panicking on
    /// a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let body = body.map(|b| b.to_string());
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect chromedriver");
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.port
        );
        if let Some(b) = &body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = &body {
            req.push_str(b);
        }
        s.write_all(req.as_bytes()).expect("send");
        // chromedriver may keep the connection open: read the head, then
        // Content-Length bytes (or to the end without one).
        let mut raw = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = s.read(&mut buf).expect("read WebDriver answer");
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if let Some(len) = len {
                    if raw.len() >= end + 4 + len {
                        break;
                    }
                }
            }
        }
        let resp = parse_response(&raw);
        let body = if resp
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            dechunk(&resp.body)
        } else {
            resp.body.clone()
        };
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("WebDriver answer is not JSON ({e}): {body}"));
        if resp.status != 200 {
            panic!("WebDriver {method} {path}: {}: {}", resp.status, v["value"]);
        }
        v.get("sessionId")
            .map(|_| v.clone())
            .unwrap_or_else(|| v["value"].clone())
    }

    fn cmd(&self, method: &str, rel: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        self.call(method, &format!("/session/{}{rel}", self.session), body)
    }

    /// Navigates and waits for the page load (images included).
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(serde_json::json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(serde_json::json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/click"),
            Some(serde_json::json!({})),
        );
    }

    /// Polls until the current URL starts with `prefix` (at most 60 s).
    pub fn wait_for_url(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let u = self.url();
            if u.starts_with(prefix) {
                return u;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still at {u}, waiting for {prefix}\n{}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .expect("screenshot is base64");
        std::fs::write(path, png).expect("write screenshot");
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let s = std::mem::take(&mut self.session);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &format!("/session/{s}"), None)
            }));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
