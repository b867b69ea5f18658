//! `sso-gate` started as a real process on a free port, and the programs
//! in front of it (nginx, caddy) with the snippets docs/sso-gate.md gives.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::daemon::Spawned;
use crate::server::{Setup, SsoServer};
use crate::util::{free_port, workspace_root, TestKeys};

/// A running `sso-gate`, killed on Drop.
pub struct Gate {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

impl Gate {
    /// Writes `config` (with `{port}` replaced by the gate's port) and
    /// starts the gate; panics with its log if it does not come up.
    pub fn start(config: &str) -> Gate {
        let d = crate::daemon::start("sso-gate", |port| {
            config.replace("{port}", &port.to_string())
        });
        Gate {
            child: d.child,
            port: d.port,
            dir: d.dir,
            config_path: d.config_path,
            log_path: d.log_path,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Replaces the configuration (`{port}` as at the start), sends SIGHUP
    /// and returns the log line that answers it: `event=reload` or
    /// `event=reload-refused`. Panics if the gate exits or does not answer
    /// within 60 s.
    pub fn reload(&mut self, config: &str) -> String {
        std::fs::write(
            &self.config_path,
            config.replace("{port}", &self.port.to_string()),
        )
        .expect("write config");
        crate::daemon::reload(&mut self.child, &self.log_path, "sso-gate")
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `sso-gate ARGS...` to its end: exit code, stdout then stderr.
pub fn run_gate(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    crate::daemon::run("sso-gate", args)
}

/// The fenced block of `lang` that follows `marker` in docs/sso-gate.md.
pub fn doc_snippet(marker: &str, lang: &str) -> String {
    let doc = std::fs::read_to_string(workspace_root().join("docs/sso-gate.md"))
        .expect("docs/sso-gate.md");
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in docs/sso-gate.md"));
    let fence = format!("```{lang}\n");
    let start = doc[at..].find(&fence).expect("the fenced block") + at + fence.len();
    let end = doc[start..].find("```").expect("its end") + start;
    doc[start..end].to_owned()
}

/// nginx's standard error and its error log, in that order.
const ERROR_LOGS: [&str; 2] = ["stderr.log", "error.log"];

/// A running nginx (Debian's), killed on Drop.
pub struct Nginx {
    pub port: u16,
    process: Spawned,
}

impl Nginx {
    /// nginx on `port` serving `servers` (server blocks) inside a minimal
    /// `http {}`, with its files in a temporary directory.
    pub fn start(port: u16, servers: &str) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{}\n}}\n",
            servers
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).expect("stderr"))
            .spawn()
            .expect("start nginx");
        let process = Spawned { child, dir }.listening(port, "nginx", &ERROR_LOGS);
        Nginx { port, process }
    }

    pub fn error_log(&self) -> String {
        ERROR_LOGS.iter().map(|l| self.process.file(l)).collect()
    }

    /// The access log (it holds request lines, tickets included: nginx's
    /// own, not the gate's).
    pub fn access_log(&self) -> String {
        self.process.file("access.log")
    }
}

fn nginx_binary() -> PathBuf {
    let p = Path::new("/usr/sbin/nginx");
    assert!(
        p.exists(),
        "nginx is missing: run `bash scripts/setup` (scripts/apt/sso-gate.txt)"
    );
    p.to_path_buf()
}

/// The application of the gate and proxy tests: Python's http.server,
/// answering every GET with the path and headers it received and the
/// port its client connected from (JSON: path, headers, peer),
/// `/app/big` with 10 MB, every POST with the number of body bytes read,
/// and a WebSocket `Upgrade` with 101, then echoing bytes back.
pub struct Echo {
    pub port: u16,
    /// Kept: killed on Drop.
    _process: Spawned,
}

const ECHO_PY: &str = r#"
import http.server, json, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        if self.path.startswith("/app/big"):
            n = 10 * 1000 * 1000
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            while n > 0:
                self.wfile.write(b"x" * min(n, 65536))
                n -= min(n, 65536)
            return
        headers = [[k.lower(), v] for k, v in self.headers.items()]
        peer = self.client_address[1]
        self.reply(json.dumps({"path": self.path, "headers": headers, "peer": peer}).encode())
    def do_POST(self):
        left = int(self.headers.get("Content-Length", "0"))
        total = 0
        while left > 0:
            b = self.rfile.read(min(left, 65536))
            if not b:
                break
            total += len(b)
            left -= len(b)
        self.reply(json.dumps({"received": total}).encode())
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

impl Echo {
    pub fn start() -> Echo {
        let port = free_port();
        // Its folder keeps what python3 says on standard error, for the
        // panic when it does not start.
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new("python3")
            .arg("-c")
            .arg(ECHO_PY)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).expect("stderr"))
            .spawn()
            .expect("start python3");
        let process =
            Spawned { child, dir }.listening(port, "the echo application", &["stderr.log"]);
        Echo {
            port,
            _process: process,
        }
    }
}

/// The headers an [`Echo`] answer says it received: (lower-case name, value).
pub fn echoed_headers(body: &str) -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not the echo's JSON ({e}): {body}"));
    v["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("no headers: {body}"))
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or_default().to_owned(),
                p[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A running caddy (Debian's), killed on Drop.
pub struct Caddy {
    pub port: u16,
    process: Spawned,
}

impl Caddy {
    /// caddy on `port` with this Caddyfile site block (its address
    /// replaced by `http://127.0.0.1:PORT`), no admin endpoint, no
    /// automatic https, its state in a temporary directory.
    pub fn start(port: u16, site: &str) -> Caddy {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = format!("{{\n  admin off\n  auto_https off\n}}\n{site}");
        let path = dir.path().join("Caddyfile");
        std::fs::write(&path, file).expect("write Caddyfile");
        let child = Command::new("/usr/bin/caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&path)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("caddy.log")).expect("log"))
            .spawn()
            .expect("start caddy (scripts/apt/sso-gate.txt)");
        let process = Spawned { child, dir }.listening(port, "caddy", &["caddy.log"]);
        Caddy { port, process }
    }

    pub fn log(&self) -> String {
        self.process.file("caddy.log")
    }
}

/// The values of header `name` (lower case) among [`echoed_headers`].
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A login server for gates in front of services on 127.0.0.1, where alice
/// (in `staff`) logs in with `password`: its keys, the server and the
/// folder of its users file (which must outlive the server).
pub fn login_server(password: &str) -> (TestKeys, SsoServer, tempfile::TempDir) {
    let keys = TestKeys::new();
    let (users_dir, users) = crate::server::staff_alice(password);
    let mut setup = Setup::users_file(&users);
    setup.allowed_services = Some(vec![r"127\.0\.0\.1:[0-9]+/.*".into()]);
    let server = SsoServer::start(&keys, &setup);
    (keys, server, users_dir)
}
