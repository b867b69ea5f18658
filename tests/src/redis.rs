//! A throwaway `redis-server` (Debian's package) on a loopback port with
//! its own temporary directory, never the system service; stopped on Drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{free_port, wait_for_port};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// The `redis-server` binary, or a panic that says how to install it.
fn redis_binary() -> PathBuf {
    let p = PathBuf::from("/usr/bin/redis-server");
    assert!(
        p.exists(),
        "redis-server not found: apt-get install redis-server (scripts/apt/sso-server.txt)"
    );
    p
}

impl RedisServer {
    /// Starts one on a free port; no persistence, and a full memory
    /// refuses writes rather than evicting keys.
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut r = RedisServer {
            child: None,
            port,
            dir,
        };
        r.restart();
        r
    }

    /// Starts it again on the same port (after [`RedisServer::stop`]).
    pub fn restart(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("redis.log")).expect("log");
        let child = Command::new(redis_binary())
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--maxmemory-policy",
                "noeviction",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone"))
            .stderr(log)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(20)),
            "redis-server did not start: {}",
            std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
        );
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops it and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
