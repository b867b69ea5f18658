//! Small helpers every integration test uses.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sso_core::{KeyFormat, SecretKey, Signer, Ticket};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The cargo profile directory the running test binary was built into
/// (`target/debug` or `target/release`, honouring CARGO_TARGET_DIR): test
/// binaries live in its `deps/` folder.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent");
    deps.parent().expect("deps has a parent").to_path_buf()
}

/// A binary built by `cargo build --workspace` (same profile as the tests).
pub fn bin(name: &str) -> PathBuf {
    let p = profile_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        p.display()
    );
    p
}

/// A shared library built by `cargo build --workspace`, e.g. `cdylib("mod_sso")`
/// for `libmod_sso.so`.
pub fn cdylib(name: &str) -> PathBuf {
    bin(&format!("lib{name}.so"))
}

/// Where tests leave artifacts worth keeping (screenshots, logs).
pub fn artifacts_dir() -> PathBuf {
    let d = workspace_root().join("test-artifacts");
    std::fs::create_dir_all(&d).expect("create test-artifacts");
    d
}

/// A currently free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A throwaway key pair written to a private temporary directory.
pub struct TestKeys {
    pub dir: tempfile::TempDir,
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
    pub signer: Signer,
}

impl TestKeys {
    /// Raw ai-sso key files.
    pub fn new() -> TestKeys {
        TestKeys::with_format(KeyFormat::Raw)
    }

    pub fn with_format(format: KeyFormat) -> TestKeys {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_path = dir.path().join("secret.key");
        let public_path = dir.path().join("public.key");
        let sk = SecretKey::generate();
        sso_core::keys::write_secret_key(&secret_path, &sk, format, false).expect("secret");
        sso_core::keys::write_public_key(&public_path, &sk.public_key(), format, false)
            .expect("public");
        TestKeys {
            dir,
            secret_path,
            public_path,
            signer: Signer::new(sk),
        }
    }

    /// Signs a v4 ticket for `user` with the given claims.
    pub fn ticket(
        &self,
        user: &str,
        service: &str,
        domain: &str,
        ttl: i64,
        nonce: Option<&str>,
        groups: &[&str],
    ) -> String {
        let expires = (sso_core::unix_now() as i64 + ttl).max(0) as u64;
        let mut t = Ticket::new(user, service, domain, expires);
        t.nonce = nonce.map(str::to_owned);
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        self.signer.sign(&t).expect("sign")
    }
}

impl Default for TestKeys {
    fn default() -> Self {
        TestKeys::new()
    }
}

/// Set by the test command (`scripts/test`): there a test that needs root
/// must run, and may never pass by skipping.
pub const NEED_ROOT_VAR: &str = "SSO_TESTS_NEED_ROOT";

/// True when running as root. A developer's unprivileged run skips what
/// needs root and says so; under the test command ([`NEED_ROOT_VAR`] set)
/// not being root fails the test instead, so a skip can never count as a
/// pass.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    assert!(
        root || std::env::var_os(NEED_ROOT_VAR).is_none(),
        "{NEED_ROOT_VAR} is set but the tests do not run as root"
    );
    root
}

/// True when running as root ([`is_root`]); otherwise says that the test
/// is skipped and what needs root.
pub fn root_or_skip(needs: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("skipped: needs root ({needs})");
    }
    root
}

/// Returns from the calling test, after saying so, unless it runs as root
/// ([`root_or_skip`]): `return_unless_root!("apache2 as www-data")`; with
/// a second argument, returns that value instead of `()`.
#[macro_export]
macro_rules! return_unless_root {
    ($needs:expr) => {
        if !$crate::util::root_or_skip($needs) {
            return;
        }
    };
    ($needs:expr, $value:expr) => {
        if !$crate::util::root_or_skip($needs) {
            return $value;
        }
    };
}

/// Asserts that some line of `log` holds every one of `parts`.
pub fn assert_some_line_has(log: &str, parts: &[&str]) {
    assert!(
        log.lines().any(|l| parts.iter().all(|p| l.contains(p))),
        "no line with {parts:?}:\n{log}"
    );
}

/// A new temporary directory and the path of `name` in it (not created);
/// the directory goes when the `TempDir` is dropped.
pub fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    (dir, path)
}

/// Debian's libfaketime (package faketime), its multi-threaded flavour.
pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Makes the programs the test starts from now on run under libfaketime
/// with `settings` (`FAKETIME`, `FAKETIME_TIMESTAMP_FILE`...), the
/// monotonic clock left real. For a test binary that runs one test: no
/// other thread reads the environment meanwhile.
pub fn preload_faketime(settings: &[(&str, &std::ffi::OsStr)]) {
    assert!(
        Path::new(FAKETIME_LIB).exists(),
        "{FAKETIME_LIB} is missing: install the faketime package (scripts/apt/ssh.txt)"
    );
    std::env::set_var("LD_PRELOAD", FAKETIME_LIB);
    std::env::set_var("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    for (name, value) in settings {
        std::env::set_var(name, value);
    }
}

/// Runs `cmd` with `input` on its standard input and returns its output.
/// A program that exits before reading all of it (a closed pipe) is not an
/// error here: its output says what it did.
pub fn output_with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(input.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("write to {cmd:?}: {e}")
            }
            _ => {}
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {cmd:?}: {e}"))
}

/// Runs `cmd` and returns its output; panics naming the command and its
/// error output unless it ran and exited 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
