//! A private Dovecot IMAP server whose passdb is PAM: the real consumer of
//! pam_sso in the tests (see `tests/tests/pam_sso_dovecot.rs`).

use std::process::Command;

use crate::util;

/// A private Dovecot IMAP server on 127.0.0.1 whose passdb is PAM with the
/// given service name (a file in /etc/pam.d, see [`InstalledService`]) and
/// whose userdb is static. Stopped (SIGTERM, then SIGKILL) on drop.
pub struct Dovecot {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Dovecot {
    pub fn start(pam_service: &str) -> Dovecot {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // Dovecot's unprivileged processes (dovenull, dovecot, the mail
        // user nobody) must reach their sockets and directories below it.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["mail", "home"] {
            let p = root.join(sub);
            std::fs::create_dir(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o1777)).unwrap();
        }
        let port = util::free_port();
        let r = root.display();
        // auth_failure_delay = 0 and the anvil-auth-penalty listener turned
        // off (mode 0): no fixed or growing per-IP delay between the test's
        // deliberate failed logins.
        let conf = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {r}/run\n\
             state_dir = {r}/state\n\
             log_path = {r}/dovecot.log\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             auth_verbose = yes\n\
             auth_cache_size = 0\n\
             first_valid_uid = 1\n\
             mail_location = maildir:{r}/mail/%u\n\
             passdb {{\n  driver = pam\n  args = {pam_service}\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={r}/home/%u\n}}\n\
             service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
        );
        let conf_path = root.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(root.join("stderr.log")).unwrap())
            .spawn()
            .expect("start dovecot (apt package dovecot-imapd)");
        let mut dovecot = Dovecot { port, dir, child };
        if !util::wait_for_port(port, std::time::Duration::from_secs(30)) {
            panic!("dovecot did not listen on {port}:\n{}", dovecot.logs());
        }
        assert!(dovecot.is_running(), "dovecot exited:\n{}", dovecot.logs());
        dovecot
    }

    /// True while the master process is alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Dovecot's log and stderr, for assertion messages.
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!(
            "--- dovecot.log\n{}--- stderr\n{}",
            read("dovecot.log"),
            read("stderr.log")
        )
    }

    /// Asserts that IMAP LOGIN with `password` is accepted (`OK`) or
    /// refused (`NO`), naming `case` and showing Dovecot's logs if not.
    pub fn expect_login(&self, user: &str, password: &str, accepted: bool, case: &str) {
        let reply = self.imap_login(user, password);
        let expected = if accepted { "a1 OK" } else { "a1 NO" };
        assert!(
            reply.starts_with(expected),
            "{case}: {reply}\n{}",
            self.logs()
        );
    }

    /// IMAP LOGIN over a fresh connection; returns the tagged reply line.
    pub fn imap_login(&self, user: &str, password: &str) -> String {
        use std::io::{BufRead, BufReader, Write};
        let stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect imap");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        reader.read_line(&mut line).expect("imap greeting");
        assert!(line.starts_with("* OK"), "greeting: {line}");
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        write!(
            writer,
            "a1 LOGIN \"{}\" \"{}\"\r\n",
            quote(user),
            quote(password)
        )
        .unwrap();
        let reply = loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break String::from("(connection closed)");
            }
            if line.starts_with("a1 ") {
                break line.trim_end().to_owned();
            }
        };
        let _ = write!(writer, "a2 LOGOUT\r\n");
        reply
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: our own child's pid; SIGTERM lets the master stop its
            // children (auth, imap-login, ...) before it exits.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
