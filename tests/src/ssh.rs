//! Harness for the ssh token realm tests: a private `sshd` on a free
//! loopback port (own host key, own config, log to a file), a realm made by
//! `ssotool realm init` under a private root directory (the system account
//! is real: random name, deleted on drop), and client keys from ssh-keygen.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{bin, free_port, wait_for_port};

/// The domain of the test realms, and the service most of them issue
/// tickets for.
pub const REALM_DOMAIN: &str = "example.org";
pub const REALM_API: &str = "api.example.org/";

/// Runs a command, panicking with its output if it cannot start.
fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn world_readable_tempdir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    // The realm account (not root) must reach its home and the ssotool
    // under this directory.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod tempdir");
    dir
}

/// A random realm name that cannot clash with real accounts or other tests.
pub fn random_realm_name() -> String {
    let mut bytes = [0u8; 5];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .expect("urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ssot{hex}")
}

/// An ssh client key pair made by `ssh-keygen -t ed25519`.
pub struct ClientKey {
    _dir: tempfile::TempDir,
    pub private: PathBuf,
    pub public: PathBuf,
}

impl ClientKey {
    pub fn generate(comment: &str) -> ClientKey {
        let (dir, private) = crate::util::temp_path("id_ed25519");
        let out = output(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(&private),
        );
        assert!(out.status.success(), "ssh-keygen: {out:?}");
        ClientKey {
            public: private.with_extension("pub"),
            private,
            _dir: dir,
        }
    }
}

/// A private sshd on 127.0.0.1, killed on drop.
pub struct Sshd {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    pub log_path: PathBuf,
    pub known_hosts: PathBuf,
}

impl Sshd {
    /// Starts sshd accepting only public keys of the given accounts.
    pub fn start(allow_users: &[&str]) -> Sshd {
        // The privilege separation directory sshd insists on.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let (dir, host_key) = crate::util::temp_path("host_ed25519");
        let out = output(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key),
        );
        assert!(out.status.success(), "ssh-keygen host key: {out:?}");
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host pub");
        let log_path = dir.path().join("sshd.log");
        let mut last_log = String::new();
        // A free port can be taken between the check and sshd's bind: retry.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("sshd_config");
            fs::write(
                &config,
                format!(
                    "Port {port}\n\
                     ListenAddress 127.0.0.1\n\
                     HostKey {host_key}\n\
                     PidFile {pid}\n\
                     UsePAM no\n\
                     StrictModes yes\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     AuthorizedKeysFile .ssh/authorized_keys\n\
                     AllowUsers {users}\n\
                     LogLevel VERBOSE\n",
                    host_key = host_key.display(),
                    pid = dir.path().join("sshd.pid").display(),
                    users = allow_users.join(" "),
                ),
            )
            .expect("write sshd_config");
            let log = fs::File::create(&log_path).expect("sshd log");
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start /usr/sbin/sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut up = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if fs::read_to_string(&log_path)
                    .map(|l| l.contains("Server listening"))
                    .unwrap_or(false)
                    && wait_for_port(port, Duration::from_secs(1))
                {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if up {
                let known_hosts = dir.path().join("known_hosts");
                fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}"))
                    .expect("known_hosts");
                return Sshd {
                    child,
                    port,
                    dir,
                    log_path,
                    known_hosts,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("sshd did not start; last log:\n{last_log}");
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// How many public key logins of `account` sshd accepted so far.
    pub fn accepted_logins(&self, account: &str) -> usize {
        let needle = format!("Accepted publickey for {account} ");
        self.log().matches(&needle).count()
    }

    /// ssh client arguments for this server and key: port, identity, the
    /// server's own known_hosts, no agent or other keys.
    pub fn ssh_options(&self, key: &ClientKey) -> Vec<String> {
        vec![
            "-p".into(),
            self.port.to_string(),
            "-i".into(),
            key.private.display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "IdentityAgent=none".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-F".into(),
            "/dev/null".into(),
        ]
    }

    /// `ssh -T OPTIONS REALM@127.0.0.1 [COMMAND]`, run to completion.
    pub fn ssh(&self, key: &ClientKey, account: &str, command: Option<&str>) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.arg("-T")
            .args(self.ssh_options(key))
            .arg(format!("{account}@127.0.0.1"))
            .stdin(Stdio::null());
        if let Some(c) = command {
            cmd.arg(c);
        }
        output(&mut cmd)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A realm created by `ssotool realm init` under a private root, deleted
/// (account included) on drop.
pub struct Realm {
    pub name: String,
    root: tempfile::TempDir,
    /// The ssotool the realm's forced command runs (a link or copy inside
    /// the root, so the realm account can reach it whatever the checkout's
    /// directory permissions are).
    pub ssotool: PathBuf,
    pub domain: String,
    pub services: Vec<String>,
}

impl Realm {
    pub fn init(domain: &str, services: &[&str], ttl: u64) -> Realm {
        Realm::init_under_umask(domain, services, ttl, None)
    }

    /// A new realm (as [`Realm::init`]) with one member, `alice` in
    /// `groups` (comma-separated), and her key (comment `alice@laptop`).
    pub fn with_alice(
        domain: &str,
        services: &[&str],
        ttl: u64,
        groups: &str,
    ) -> (Realm, ClientKey) {
        let realm = Realm::init(domain, services, ttl);
        let key = ClientKey::generate("alice@laptop");
        realm.add(&key, "alice", groups);
        (realm, key)
    }

    /// [`Realm::init`] with `realm init` run under `umask` (octal, e.g.
    /// `"077"`) if given, instead of this process's.
    pub fn init_under_umask(
        domain: &str,
        services: &[&str],
        ttl: u64,
        umask: Option<&str>,
    ) -> Realm {
        let root = world_readable_tempdir("sso-realm-");
        let bin_dir = root.path().join("bin");
        fs::create_dir(&bin_dir).expect("bin dir");
        fs::set_permissions(&bin_dir, fs::Permissions::from_mode(0o755)).expect("chmod bin");
        let ssotool = bin_dir.join("ssotool");
        let built = bin("ssotool");
        if fs::hard_link(&built, &ssotool).is_err() {
            fs::copy(&built, &ssotool).expect("copy ssotool");
        }
        fs::set_permissions(&ssotool, fs::Permissions::from_mode(0o755)).expect("chmod ssotool");
        let realm = Realm {
            name: random_realm_name(),
            root,
            ssotool,
            domain: domain.to_owned(),
            services: services.iter().map(|s| s.to_string()).collect(),
        };
        let mut args = vec![
            "init".to_string(),
            realm.name.clone(),
            "--domain".into(),
            domain.into(),
        ];
        for s in services {
            args.push("--service".into());
            args.push(s.to_string());
        }
        args.push("--ttl".into());
        args.push(ttl.to_string());
        let mut init = match umask {
            Some(umask) => realm.admin_command_under_umask(umask, &args),
            None => realm.admin_command(&args),
        };
        let out = output(&mut init);
        assert!(out.status.success(), "realm init: {out:?}");
        realm
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `ssotool realm --root ROOT ARGS...`.
    pub fn admin_command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.ssotool);
        cmd.arg("realm")
            .arg("--root")
            .arg(self.root.path())
            .args(args);
        cmd
    }

    /// [`Realm::admin_command`] run by `sh` under `umask` (octal).
    pub fn admin_command_under_umask<S: AsRef<std::ffi::OsStr>>(
        &self,
        umask: &str,
        args: &[S],
    ) -> Command {
        let admin = self.admin_command(args);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask \"$0\" && exec \"$@\"", umask])
            .arg(admin.get_program())
            .args(admin.get_args());
        cmd
    }

    pub fn admin<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        output(&mut self.admin_command(args))
    }

    /// `realm add` of the key for `user` with `groups`; panics on failure.
    pub fn add(&self, key: &ClientKey, user: &str, groups: &str) {
        let out = self.admin(&[
            "add".as_ref(),
            self.name.as_ref(),
            key.public.as_os_str(),
            "--user".as_ref(),
            user.as_ref(),
            "--groups".as_ref(),
            groups.as_ref(),
        ]);
        assert!(out.status.success(), "realm add: {out:?}");
    }

    /// The directory of the realm's settings, users and public key.
    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("etc/sso/realms").join(&self.name)
    }

    /// The realm account's home: its secret key and `.ssh/authorized_keys`.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("var/lib/sso-realm").join(&self.name)
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.config_dir().join("public.key")
    }

    pub fn secret_key_path(&self) -> PathBuf {
        self.home().join("secret.key")
    }

    /// `ssotool verify` of a ticket with the realm's public key.
    pub fn verify(&self, ticket: &str, service: &str) -> Output {
        output(
            Command::new(bin("ssotool"))
                .arg("verify")
                .arg("--public-key")
                .arg(self.public_key_path())
                .args(["--service", service, "--domain", &self.domain, "--", ticket]),
        )
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        let out = self.admin(&["delete", self.name.as_str()]);
        let account_left = Command::new("getent")
            .args(["passwd", &self.name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !out.status.success() {
            eprintln!(
                "realm delete {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        if !out.status.success() && account_left {
            // Never leave a test account behind.
            let _ = Command::new("userdel").arg("--").arg(&self.name).status();
        }
    }
}

/// `ssotool fetch --ssh DESTINATION ARGS... URL` as a user runs it: the
/// ticket cache under `cache_home`, ssh to `sshd` with `key`.
pub fn ssotool_fetch(
    sshd: &Sshd,
    key: &ClientKey,
    destination: &str,
    cache_home: &Path,
    args: &[&str],
    url: &str,
) -> Output {
    output(
        Command::new(crate::util::bin("ssotool"))
            .args(["fetch", "--ssh", destination])
            .args(args)
            .arg(url)
            .env("XDG_CACHE_HOME", cache_home)
            .env("SSO_SSH_OPTIONS", sshd.ssh_options(key).join(" ")),
    )
}

/// Makes a throwaway CA and a server certificate for 127.0.0.1 signed by
/// it (`CA:FALSE`, as TLS clients that check the chain strictly require),
/// writes the server pair as `cert.pem`/`key.pem` into `conf_dir`
/// (replacing a self-signed one; reload the server afterwards) and returns
/// the CA certificate's path, for `ssotool fetch --cacert`.
pub fn install_ca_signed_certificate(conf_dir: &Path, ca_dir: &Path) -> PathBuf {
    let ca = crate::tls::Ca::new(ca_dir, "sso test CA");
    let (cert, key) = ca.issue("127.0.0.1");
    fs::copy(cert, conf_dir.join("cert.pem")).expect("install cert");
    fs::copy(key, conf_dir.join("key.pem")).expect("install key");
    ca.cert
}

/// A ticket for alice to `service` in `domain`, signed by `signer`, that
/// expires `lifetime` seconds from now (negative: already expired).
pub fn alice_ticket(
    signer: &sso_core::Signer,
    service: &str,
    domain: &str,
    lifetime: i64,
) -> String {
    let expires = sso_core::unix_now().saturating_add_signed(lifetime);
    signer
        .sign(&sso_core::Ticket::new("alice", service, domain, expires))
        .expect("sign")
}
