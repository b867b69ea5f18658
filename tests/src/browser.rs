//! A headless Debian chromium driven over WebDriver (chromedriver), for
//! the end-to-end tests; the WebDriver JSON goes through serde_json and the
//! HTTP through [`crate::http`].

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::{free_port, wait_for_port};

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
        let (profile, nssdb) = crate::util::temp_path(".pki/nssdb");
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
        let args = json!([
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
        let caps = json!({
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

    /// One WebDriver command; returns `value` of the answer (the whole
    /// answer for a new session), panicking on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let headers = [("Content-Type".to_string(), "application/json".to_string())];
        let resp = crate::http::http(self.port, method, path, &headers, body.as_deref());
        let v: Value = serde_json::from_str(&resp.body)
            .unwrap_or_else(|e| panic!("WebDriver answer is not JSON ({e}): {}", resp.body));
        if resp.status != 200 {
            panic!("WebDriver {method} {path}: {}: {}", resp.status, v["value"]);
        }
        v.get("sessionId")
            .map(|_| v.clone())
            .unwrap_or_else(|| v["value"].clone())
    }

    fn cmd(&self, method: &str, rel: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{rel}", self.session), body)
    }

    /// Navigates and waits for the page load (images included).
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
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
            Some(json!({"using": "css selector", "value": css})),
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
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Polls `read` until `done` holds for what it read (at most 60 s);
    /// what it read last.
    fn wait_until(
        &self,
        what: &str,
        read: impl Fn(&Self) -> String,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let seen = read(self);
            if done(&seen) {
                return seen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited in vain for {what}; last seen:\n{seen}\n{}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls until the current URL starts with `prefix`; the URL.
    pub fn wait_for_url(&self, prefix: &str) -> String {
        self.wait_until(prefix, Self::url, |u| u.starts_with(prefix))
    }

    /// Polls until the page source contains `text`; the source.
    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_until(text, Self::source, |page| page.contains(text))
    }

    /// Fills the login server's form (`#username`, `#password`) and submits
    /// it.
    pub fn submit_login(&self, user: &str, password: &str) {
        self.type_into("#username", user);
        self.type_into("#password", password);
        self.click("#submit");
    }

    /// [`Self::submit_login`], then waits to land on a URL starting with
    /// `landing`; the page source there.
    pub fn log_in(&self, user: &str, password: &str, landing: &str) -> String {
        self.submit_login(user, password);
        self.wait_for_url(landing);
        self.source()
    }

    /// Resizes the window (e.g. to a phone's width).
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// Runs `script` (a function body; `return` gives the value) in the
    /// page and returns its value. WebDriver runs it outside the page's
    /// Content-Security-Policy, which still forbids the page's own script.
    pub fn execute(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Sends keys (WebDriver key codes included, e.g. `\u{E004}` for Tab)
    /// to the element `css`.
    pub fn send_keys(&self, css: &str, keys: &str) {
        self.type_into(css, keys);
    }

    /// Adds a virtual authenticator (the WebAuthn extension of WebDriver):
    /// a CTAP2 platform authenticator that verifies its user and consents
    /// at once. Returns its id.
    pub fn add_virtual_authenticator(&self) -> String {
        let v = self.cmd(
            "POST",
            "/webauthn/authenticator",
            Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        );
        v.as_str()
            .unwrap_or_else(|| panic!("no authenticator id: {v}"))
            .to_owned()
    }

    /// The credentials a virtual authenticator holds.
    pub fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let v = self.cmd(
            "GET",
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            None,
        );
        v.as_array().cloned().unwrap_or_default()
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
