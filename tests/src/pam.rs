//! Harness for the pam_sso tests: real libpam driven through
//! `pam_start_confdir` on a private service directory, answering with a
//! given password through the workspace's one conversation function
//! (`pam::Conversation`, pam/), service files installed
//! under /etc/pam.d for clients that only know the system directory
//! (pamtester, Dovecot: see `dovecot`), the pam_sso lines the tests
//! configure, and throwaway local users for pam_unix stacking.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::util::{self, TestKeys};

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
/// The user the tests of a service log in.
pub const USER: &str = "alice";

/// A good ticket for [`USER`] to [`SERVICE`] signed by `keys`, valid for
/// two minutes.
pub fn user_ticket(keys: &TestKeys) -> String {
    keys.ticket(USER, SERVICE, DOMAIN, 120, None, &[])
}

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

/// The line `auth CONTROL pam_sso.so ARGS` for the test domain and service,
/// with the key of `keys` and the `extra` arguments.
pub fn sso_line(control: &str, keys: &TestKeys, extra: &str) -> String {
    format!(
        "auth {control} {} {}\n",
        module_path().display(),
        module_args(&keys.public_path, extra)
    )
}

/// Writes `content` as `pam_sso.conf` beside the keys of `keys`, mode 0644
/// (trusted as a `conf=` file must be), and returns its path.
pub fn write_conf(keys: &TestKeys, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let conf = keys.dir.path().join("pam_sso.conf");
    std::fs::write(&conf, content).expect("write pam_sso.conf");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    conf
}

/// `auth optional pam_sso` for another service than the tickets': it asks,
/// stores the answer as `PAM_AUTHTOK` and refuses it, so that the line
/// after it can take the same answer.
pub fn asking_line(keys: &TestKeys) -> String {
    format!(
        "auth optional {} key={} domain={DOMAIN} service=other.example.org/\n",
        module_path().display(),
        keys.public_path.display()
    )
}

/// A fresh key pair and a private service directory whose service "sso"
/// is `auth required pam_sso` for that key with the `extra` arguments.
pub fn keys_and_service(extra: &str) -> (TestKeys, ServiceDir) {
    let keys = TestKeys::new();
    let dir = ServiceDir::new();
    dir.add("sso", &sso_line("required", &keys, extra));
    (keys, dir)
}

/// For a test that needs root: fresh keys and [`InstalledService::sso`]
/// for them. `None`, after a "skipped" line, when not root (which
/// `SSO_TESTS_NEED_ROOT` turns into a failure: see [`util::is_root`]).
pub fn installed_sso(extra: &str, rest: &str) -> Option<(TestKeys, InstalledService)> {
    crate::return_unless_root!("install a service file in /etc/pam.d", None);
    let keys = TestKeys::new();
    let service = InstalledService::sso(&keys, extra, rest);
    Some((keys, service))
}

/// For a test that stacks pam_sso with pam_unix: fresh keys and a
/// throwaway local account with `password`. `None`, after a "skipped"
/// line, when not root (as [`installed_sso`]).
pub fn keys_and_account(password: &str) -> Option<(TestKeys, LocalUser)> {
    crate::return_unless_root!("useradd, /etc/shadow", None);
    Some((TestKeys::new(), LocalUser::new(password)))
}

/// One authentication of `user` through a fresh [`keys_and_service`]
/// (`auth required pam_sso` with the `extra` arguments), answering the
/// password that `password` makes with the fresh keys.
pub fn authenticate_fresh(
    extra: &str,
    user: &str,
    password: impl FnOnce(&TestKeys) -> Vec<u8>,
) -> AuthResult {
    let (keys, dir) = keys_and_service(extra);
    dir.authenticate("sso", user, &password(&keys))
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

    /// pamtester, as [`pamtester`], with its /dev/log on this socket.
    pub fn pamtester(&self, service: &str, user: &str, password: &str) -> (bool, String) {
        run_pamtester(
            self.command("pamtester", &["-v", service, user, "authenticate"]),
            password,
        )
    }

    /// Asserts that pam_sso logged `line` under the PAM service `service`
    /// (`pam_sso(SERVICE:auth): LINE`) and that no line holds `secret`.
    pub fn expect_logged(&self, service: &str, line: &str, secret: &str) {
        let lines = self.lines();
        let expected = format!("pam_sso({service}:auth): {line}");
        assert!(
            lines.iter().any(|l| l.contains(&expected)),
            "no line with {expected:?} in {lines:#?}"
        );
        assert!(
            lines.iter().all(|l| !l.contains(secret)),
            "a line holds the ticket: {lines:#?}"
        );
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

    /// A directory whose services `names` are each `auth required pam_sso
    /// ARGS` (`args`: the whole argument list).
    pub fn with_module(names: &[&str], args: &str) -> ServiceDir {
        let dir = ServiceDir::new();
        for name in names {
            dir.add(
                name,
                &format!("auth required {} {args}\n", module_path().display()),
            );
        }
        dir
    }

    /// A directory with the one service file `name` holding `content`.
    pub fn with_service(name: &str, content: &str) -> ServiceDir {
        let dir = ServiceDir::new();
        dir.add(name, content);
        dir
    }

    /// Writes the service file `name` with the given lines. Atomically (a
    /// new file renamed over the old), as an administrator's editor does:
    /// tests rewrite a service while another thread authenticates through
    /// it, and libpam must see the old file or the new one, never a
    /// truncated one.
    pub fn add(&self, name: &str, content: &str) {
        let path = self.dir.path().join(name);
        let tmp = self.dir.path().join(format!(".{name}.new"));
        std::fs::write(&tmp, content).expect("write service file");
        std::fs::rename(&tmp, &path).expect("rename service file");
    }

    /// Authenticates through the service `name` of this directory.
    pub fn authenticate(&self, name: &str, user: &str, password: &[u8]) -> AuthResult {
        authenticate(Some(self.path()), name, user, password)
    }

    /// Authenticates [`USER`] through the service `name` of this directory
    /// with a good ticket signed by `keys` ([`user_ticket`]).
    pub fn authenticate_user(&self, name: &str, keys: &TestKeys) -> AuthResult {
        self.authenticate(name, USER, user_ticket(keys).as_bytes())
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
    /// `auth required pam_sso` for the key of `keys` with the `extra`
    /// arguments, followed by the lines `rest`.
    pub fn sso(keys: &TestKeys, extra: &str, rest: &str) -> InstalledService {
        InstalledService::new(&format!("{}{rest}", sso_line("required", keys, extra)))
    }

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

/// Runs a pamtester `command` (`pamtester -v SERVICE USER authenticate`)
/// with `password` on stdin; returns (success, stdout and stderr).
pub fn run_pamtester(mut command: Command, password: &str) -> (bool, String) {
    // pamtester is Debian's package of that name. A module that fails
    // before prompting lets it exit without reading the password.
    let out = util::output_with_stdin(&mut command, &format!("{password}\n"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `pamtester -v SERVICE USER authenticate` answering `password`; returns
/// (success, stdout and stderr).
pub fn pamtester(service: &str, user: &str, password: &str) -> (bool, String) {
    let mut command = Command::new("pamtester");
    command.args(["-v", service, user, "authenticate"]);
    run_pamtester(command, password)
}
