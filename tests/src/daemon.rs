//! A daemon under test (`sso-server`, `sso-gate`) as a child process: its
//! start with a configuration file and a log file, and its reload by
//! SIGHUP, answered by a line in that log. Also the programs in front of
//! them (nginx, caddy, traefik) as [`Spawned`] children.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::http;
use crate::util::{bin, free_port, wait_for_port};

/// A daemon started by [`start`], listening on 127.0.0.1:`port`, its
/// configuration and log files in `dir`.
pub struct Started {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

/// Writes the configuration `config` makes for a free port to
/// `NAME.toml` in a new folder and starts `name` on it (see
/// [`spawn_with_config`]); panics with its log if it does not listen on
/// that port within 20 s.
pub fn start(name: &str, config: impl FnOnce(u16) -> String) -> Started {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&config_path, config(port)).expect("write config");
    let log_path = dir.path().join(format!("{name}.log"));
    let mut child = spawn_with_config(name, &config_path, &log_path);
    if !wait_for_port(port, Duration::from_secs(20)) {
        let _ = child.kill();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!("{name} did not start:\n{log}");
    }
    Started {
        child,
        port,
        dir,
        config_path,
        log_path,
    }
}

/// Starts the built binary `name` with `--config CONFIG`, its stdout and
/// stderr going to a new file at `log`.
pub fn spawn_with_config(name: &str, config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(bin(name))
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"))
}

/// Sends SIGHUP (what `systemctl reload` does) to `child` and returns the
/// line of `log` that answers it: `event=reload` or `event=reload-refused`.
/// Panics if `name` exits or does not answer within 60 s.
pub fn reload(child: &mut Child, log: &Path, name: &str) -> String {
    let read = || std::fs::read_to_string(log).unwrap_or_default();
    let answers = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains(" event=reload ") || l.contains(" event=reload-refused "))
            .map(str::to_owned)
            .collect()
    };
    let before = answers(&read()).len();
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(line) = answers(&read()).get(before) {
            return line.clone();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited on SIGHUP: {status}\n{}", read());
        }
        assert!(
            Instant::now() < deadline,
            "no answer to SIGHUP within 60 s:\n{}",
            read()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the built binary `name` with `args` to its end (a command of the
/// daemon's, not the daemon): the exit code and standard output followed
/// by standard error.
pub fn run(name: &str, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new(bin(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), s)
}

/// A program started with its files in a folder of its own (nginx, caddy,
/// traefik): killed and reaped on Drop.
pub struct Spawned {
    pub child: Child,
    pub dir: tempfile::TempDir,
}

impl Spawned {
    /// The file `name` of its folder ("" when absent).
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The program once it listens on 127.0.0.1:`port` (within 20 s), see
    /// [`Self::ready_or_panic`].
    pub fn listening(self, port: u16, what: &str, logs: &[&str]) -> Spawned {
        let ready = wait_for_port(port, Duration::from_secs(20));
        self.ready_or_panic(ready, what, logs)
    }

    /// The proxy once a request to `probe` on 127.0.0.1:`port` is routed
    /// (answered, and not the proxy's own 404 for a path it has no route
    /// for yet), within 20 s; see [`Self::ready_or_panic`].
    pub fn routed(self, port: u16, probe: &str, what: &str, logs: &[&str]) -> Spawned {
        let deadline = Instant::now() + Duration::from_secs(20);
        let routed = wait_for_port(port, Duration::from_secs(20))
            && loop {
                if http(port, "GET", probe, &[], None).status != 404 {
                    break true;
                }
                if Instant::now() > deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(100));
            };
        self.ready_or_panic(routed, what, logs)
    }

    /// The program when `ready`; else it is killed and the test panics
    /// with the files `logs` of its folder.
    pub fn ready_or_panic(mut self, ready: bool, what: &str, logs: &[&str]) -> Spawned {
        if !ready {
            let _ = self.child.kill();
            let text: String = logs.iter().map(|l| self.file(l)).collect();
            panic!("{what} did not start:\n{text}");
        }
        self
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
