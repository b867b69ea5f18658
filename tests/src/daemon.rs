//! A daemon under test (`sso-server`, `sso-gate`) as a child process: its
//! start with a configuration file and a log file, and its reload by
//! SIGHUP, answered by a line in that log.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::bin;

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
