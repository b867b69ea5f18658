//! Harness for the pam_sso tests: real libpam driven through
//! `pam_start_confdir` on a private service directory, answering with a
//! given password through the workspace's one conversation function
//! (`pam::Conversation`, pam/), service files installed
//! under /etc/pam.d for clients that only know the system directory
//! (pamtester, Dovecot), and throwaway local users for pam_unix stacking.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::util;

use pam::sys::PAM_ESTABLISH_CRED;
pub use pam::sys::{
    PAM_AUTHINFO_UNAVAIL, PAM_AUTHTOK_ERR, PAM_AUTH_ERR, PAM_ERROR_MSG, PAM_PERM_DENIED,
    PAM_SERVICE_ERR, PAM_SILENT, PAM_SUCCESS,
};
pub use pam::Message;
use pam::{Conversation, Transaction};

/// The domain and service every pam_sso test configures.
pub const DOMAIN: &str = "example.org";
pub const SERVICE: &str = "imap.example.org/";

/// The result of one authentication through libpam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResult {
    /// What pam_authenticate returned.
    pub code: i32,
    /// pam_strerror's text for it, for assertion messages.
    pub text: String,
    /// How many times the stack asked for the password.
    pub prompts: usize,
    /// The messages (not prompts) the stack showed.
    pub messages: Vec<Message>,
    /// What pam_setcred(PAM_ESTABLISH_CRED) returned after a success.
    pub setcred: Option<i32>,
}

/// Runs pam_start_confdir / pam_authenticate (/ pam_setcred) / pam_end for
/// `user` answering `password`, with the service file `service` from
/// `confdir` (None: the system directory /etc/pam.d).
pub fn authenticate(
    confdir: Option<&Path>,
    service: &str,
    user: &str,
    password: &[u8],
) -> AuthResult {
    authenticate_with_flags(confdir, service, user, password, 0)
}

/// As [`authenticate`], passing `flags` (e.g. `PAM_SILENT`) to
/// pam_authenticate.
pub fn authenticate_with_flags(
    confdir: Option<&Path>,
    service: &str,
    user: &str,
    password: &[u8],
    flags: i32,
) -> AuthResult {
    let conversation = Conversation::answering(password).expect("a PAM answer is a C string");
    let mut transaction = Transaction::start_confdir(service, user, &conversation, confdir)
        .expect("pam_start_confdir");
    let code = transaction.authenticate(flags);
    let setcred = (code == PAM_SUCCESS).then(|| transaction.setcred(PAM_ESTABLISH_CRED));
    drop(transaction);
    AuthResult {
        code,
        text: pam::strerror(code),
        prompts: conversation.prompts(),
        messages: conversation.messages(),
        setcred,
    }
}

/// A name no other test (or test binary) uses at the same time.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{:x}{:x}{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The absolute path of the built module.
pub fn module_path() -> PathBuf {
    util::cdylib("pam_sso")
}

/// The `pam_sso` line's arguments for the test domain and service.
pub fn module_args(public_key: &Path, extra: &str) -> String {
    format!(
        "key={} domain={DOMAIN} service={SERVICE} {extra}",
        public_key.display()
    )
}

/// The test-only PAM module `tests/c/pam_map_user.c`, compiled into `dir`:
/// `auth required PATH to=NAME` makes NAME the PAM user for the modules
/// after it.
pub fn build_map_user_module(dir: &Path) -> PathBuf {
    let out = dir.join("pam_map_user.so");
    let status = Command::new("cc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
        ])
        .arg(&out)
        .arg(util::workspace_root().join("tests/c/pam_map_user.c"))
        .arg("-lpam")
        .status()
        .expect("run cc");
    assert!(status.success(), "cc tests/c/pam_map_user.c failed");
    out
}

/// A syslog socket of one test, so that a real PAM client's `pam_syslog`
/// lines can be read without a system logger: [`PrivateSyslog::command`]
/// runs a program in a mount namespace of its own (`unshare -m`, needs
/// root) whose `/dev` is a fresh tmpfs with `/dev/log` pointing at the
/// socket. The host's `/dev` is never touched.
pub struct PrivateSyslog {
    dir: tempfile::TempDir,
    socket: UnixDatagram,
}

impl PrivateSyslog {
    pub fn new() -> PrivateSyslog {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = UnixDatagram::bind(dir.path().join("log")).expect("bind the syslog socket");
        socket.set_nonblocking(true).expect("non-blocking socket");
        PrivateSyslog { dir, socket }
    }

    /// `program args...` with its /dev/log on this socket.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("unshare");
        command
            .args([
                "-m",
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /dev && ln -s \"$0\" /dev/log && exec \"$@\"",
            ])
            .arg(self.dir.path().join("log"))
            .arg(program)
            .args(args);
        command
    }

    /// The lines received so far.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = self.socket.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        lines
    }
}

impl Default for PrivateSyslog {
    fn default() -> Self {
        PrivateSyslog::new()
    }
}

/// A private PAM configuration directory for pam_start_confdir.
pub struct ServiceDir {
    dir: tempfile::TempDir,
}

impl ServiceDir {
    pub fn new() -> ServiceDir {
        let dir = ServiceDir {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        // libpam falls back to "other" for anything unconfigured (and logs
        // its absence): deny, as a system's "other" should.
        dir.add(
            "other",
            "auth required pam_deny.so\naccount required pam_deny.so\n",
        );
        dir
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the service file `name` with the given lines.
    pub fn add(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).expect("write service file");
    }

    /// Authenticates through the service `name` of this directory.
    pub fn authenticate(&self, name: &str, user: &str, password: &[u8]) -> AuthResult {
        authenticate(Some(self.path()), name, user, password)
    }

    /// As [`ServiceDir::authenticate`], with `flags` for pam_authenticate.
    pub fn authenticate_with_flags(
        &self,
        name: &str,
        user: &str,
        password: &[u8],
        flags: i32,
    ) -> AuthResult {
        authenticate_with_flags(Some(self.path()), name, user, password, flags)
    }
}

impl Default for ServiceDir {
    fn default() -> Self {
        ServiceDir::new()
    }
}

/// A service file in /etc/pam.d with a unique name (needs root), removed on
/// drop, for clients that cannot be pointed at another directory.
pub struct InstalledService {
    pub name: String,
    path: PathBuf,
}

impl InstalledService {
    pub fn new(content: &str) -> InstalledService {
        let name = unique_name("pam-sso-test-");
        let path = Path::new("/etc/pam.d").join(&name);
        std::fs::write(&path, content).expect("write /etc/pam.d service file (root needed)");
        InstalledService { name, path }
    }
}

impl Drop for InstalledService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A throwaway local account with a password (needs root), removed on drop.
pub struct LocalUser {
    pub name: String,
}

impl LocalUser {
    pub fn new(password: &str) -> LocalUser {
        // useradd and chpasswd take locks on /etc/passwd and /etc/shadow;
        // another test binary may hold them for a moment: retry a few times.
        let name = unique_name("sso").chars().take(30).collect::<String>();
        let mut created = false;
        for _ in 0..50 {
            let status = Command::new("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin", &name])
                .status()
                .expect("run useradd");
            if status.success() {
                created = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(created, "useradd {name} failed");
        let user = LocalUser { name };
        for attempt in 0..50 {
            let mut child = Command::new("chpasswd")
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("run chpasswd");
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{}:{password}\n", user.name).as_bytes())
                .unwrap();
            if child.wait().unwrap().success() {
                break;
            }
            assert!(attempt < 49, "chpasswd for {} failed", user.name);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        user
    }
}

impl Drop for LocalUser {
    fn drop(&mut self) {
        for _ in 0..50 {
            match Command::new("userdel").arg(&self.name).status() {
                Ok(s) if s.success() => return,
                _ => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }
}

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

/// Runs a pamtester `command` (`pamtester -v SERVICE USER authenticate`)
/// with `password` on stdin; returns (success, stdout and stderr).
pub fn run_pamtester(mut command: Command, password: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pamtester (apt package pamtester)");
    // A module that fails before prompting lets pamtester exit without
    // reading: a closed pipe here is that case, not an error.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{password}\n").as_bytes());
    }
    let out = child.wait_with_output().expect("wait for pamtester");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
