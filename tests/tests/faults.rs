//! Faults of the things the system depends on, with real components: the
//! login server's directory going away and coming back, a mod_sso key file
//! gone before a graceful restart, a full disk under `sso-server user add`,
//! and a token realm whose secret key cannot be read.
//!
//! The users file that stops parsing is covered by
//! tests/tests/server_accounts.rs (`a_users_file_that_stops_parsing_fails_closed`);
//! the clock stepped under mod_sso is tests/tests/faults_clock.rs.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tests::apache::{Apache, ApacheConfig};
use tests::ldap::{Slapd, LDAP_SUFFIX};
use tests::server::{
    add_user, redirected_ticket, try_add_user, Cookies, HttpResponse, Setup, SsoServer, DOMAIN,
};
use tests::ssh::{Realm, Sshd, REALM_API as API, REALM_DOMAIN};
use tests::util::TestKeys;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------
// The login server's LDAP directory stopped and restarted.

const FORM: &str = "/?s=wiki.test.example.org/&g=staff";
const LDAP_PASSWORD: &str = "alice-ldap-pw";

/// A login server on `ldap` with these `[auth]` keys.
fn ldap_server(keys: &TestKeys, ldap: &Slapd, auth_keys: &str) -> SsoServer {
    let mut setup = Setup::users_file(Path::new("/unused"));
    setup.auth = format!(
        "backend = \"ldap\"\n{auth_keys}\n[auth.ldap]\nurl = \"{}\"\ntimeout_seconds = 2\n\
         user_dn_template = \"uid={{user}},ou=people,{LDAP_SUFFIX}\"\n\
         group_base = \"ou=groups,{LDAP_SUFFIX}\"\n",
        ldap.url()
    );
    SsoServer::start(keys, &setup)
}

fn assert_ticket_for_alice(r: &HttpResponse, what: &str) {
    let t = redirected_ticket(r)
        .unwrap_or_else(|| panic!("{what}: no ticket: {} {}", r.status, r.body));
    assert_eq!(t.user, "alice", "{what}");
    assert_eq!(t.groups, vec!["staff".to_string()], "{what}");
}

fn assert_unavailable(r: &HttpResponse, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    assert!(r.header("location").is_none(), "{what}: no redirect");
}

#[test]
fn a_directory_that_stops_and_comes_back() {
    let mut ldap = Slapd::start(&[("alice", LDAP_PASSWORD)], &[("staff", &["alice"])]);
    let keys = TestKeys::new();
    // The default account cache (300 s) and none at all.
    let cached = ldap_server(&keys, &ldap, "");
    let uncached = ldap_server(&keys, &ldap, "account_cache_seconds = 0");
    let mut cached_jar = Cookies::new();
    let mut uncached_jar = Cookies::new();
    for (s, jar) in [(&cached, &mut cached_jar), (&uncached, &mut uncached_jar)] {
        assert_ticket_for_alice(&s.login(jar, FORM, "alice", LDAP_PASSWORD), "before");
        assert_ticket_for_alice(&s.get(FORM, jar), "silent, before");
    }

    ldap.stop();
    for s in [&cached, &uncached] {
        // A right and a wrong password alike: the directory cannot say,
        // so neither is a refusal (401) nor a ticket.
        for pw in [LDAP_PASSWORD, "wrong"] {
            let r = s.login(&mut Cookies::new(), FORM, "alice", pw);
            assert_unavailable(&r, &format!("login with {pw:?} while down"));
        }
    }
    // A live session whose account was looked up within the cache time
    // keeps getting silent tickets ...
    assert_ticket_for_alice(&cached.get(FORM, &cached_jar), "silent, cached, down");
    // ... one that must be looked up again is not let through on the
    // strength of its cookie.
    assert_unavailable(&uncached.get(FORM, &uncached_jar), "silent, uncached, down");
    for s in [&cached, &uncached] {
        assert!(s.log().contains("event=backend-error"), "{}", s.log());
    }

    ldap.restart();
    for (s, jar) in [(&cached, &cached_jar), (&uncached, &uncached_jar)] {
        assert_ticket_for_alice(&s.get(FORM, jar), "silent, after");
        let r = s.login(&mut Cookies::new(), FORM, "alice", LDAP_PASSWORD);
        assert_ticket_for_alice(&r, "login, after");
        let r = s.login(&mut Cookies::new(), FORM, "alice", "wrong");
        assert_eq!(r.status, 401, "wrong password after: {}", r.body);
        assert!(!s.log().contains(LDAP_PASSWORD), "a password in the log");
    }
}

// ---------------------------------------------------------------------------
// A mod_sso key file removed before a graceful restart.

const APP: &str = "/app/";

/// The real `apache2ctl ARG` for the test's private httpd: it tests the
/// configuration (`apache2 -t`) before it signals the running server.
fn apache2ctl(apache: &Apache, arg: &str) -> Output {
    let root = apache.root();
    Command::new("/usr/sbin/apache2ctl")
        .arg(arg)
        .env("APACHE_CONFDIR", root)
        .env(
            "APACHE_ARGUMENTS",
            format!("-f {}", root.join("conf/httpd.conf").display()),
        )
        .env("APACHE_RUN_DIR", root.join("run"))
        .env("APACHE_LOCK_DIR", root.join("run/lock"))
        .env("APACHE_RUN_USER", "www-data")
        .output()
        .expect("run apache2ctl")
}

/// GET /app/ with this ticket in `Authorization: SSO`: the status.
fn app_status(apache: &Apache, ticket: &str) -> u16 {
    apache
        .request(APP)
        .header("Authorization", &format!("SSO {ticket}"))
        .send()
        .status
}

#[test]
fn a_key_file_gone_before_graceful_keeps_the_running_configuration() {
    tests::return_unless_root!("apache2");
    let (kept, lost) = (TestKeys::new(), TestKeys::new());
    let apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer https://login.{DOMAIN}/\nSSODomain {DOMAIN}\n\
             SSOPublicKeyFile {}\nSSOPublicKeyFile {}\n\
             <Location {APP}>\n  AuthType SSO\n  SSOService @HOSTPORT@{APP}\n  \
             Require valid-user\n</Location>\n",
            kept.public_path.display(),
            lost.public_path.display()
        ),
        files: vec![("htdocs/app/index.html".into(), "protected\n".into(), 0o644)],
        ..ApacheConfig::default()
    });
    let service = format!("{}{APP}", apache.host_port());
    let ticket = |k: &TestKeys| k.ticket("alice", &service, DOMAIN, 600, None, &[]);
    assert_eq!(app_status(&apache, &ticket(&kept)), 200);
    assert_eq!(app_status(&apache, &ticket(&lost)), 200);
    let generations = apache
        .error_log()
        .matches("resuming normal operations")
        .count();

    let saved = std::fs::read(&lost.public_path).unwrap();
    // Gone, then present but not a key (a half-written copy).
    for broken in [None, Some(&b"not a key\n"[..])] {
        match broken {
            None => std::fs::remove_file(&lost.public_path).unwrap(),
            Some(bytes) => std::fs::write(&lost.public_path, bytes).unwrap(),
        }
        let out = apache2ctl(&apache, "graceful");
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!out.status.success(), "graceful accepted: {said}");
        assert!(said.contains("SSOPublicKeyFile"), "{said}");
        assert!(
            said.contains(&lost.public_path.display().to_string()),
            "{said}"
        );
        // The running generation still serves, with both keys it read.
        assert_eq!(app_status(&apache, &ticket(&kept)), 200, "{said}");
        assert_eq!(app_status(&apache, &ticket(&lost)), 200, "{said}");
        assert_eq!(app_status(&apache, "garbage"), 401);
        assert_eq!(
            apache
                .error_log()
                .matches("resuming normal operations")
                .count(),
            generations,
            "no new generation: {}",
            apache.error_log()
        );
    }

    // Fixed: the next graceful restart goes through.
    std::fs::write(&lost.public_path, saved).unwrap();
    let out = apache2ctl(&apache, "graceful");
    assert!(out.status.success(), "{out:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while apache
        .error_log()
        .matches("resuming normal operations")
        .count()
        == generations
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            apache.error_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(app_status(&apache, &ticket(&lost)), 200);
}

// ---------------------------------------------------------------------------
// A full disk under `sso-server user add`.

/// A small tmpfs mounted on a private directory, unmounted on Drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(out.status.success(), "mount tmpfs: {out:?}");
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` until the file system says it is full.
    fn fill(&self, name: &str) -> PathBuf {
        let p = self.path().join(name);
        let mut f = std::fs::File::create(&p).expect("filler");
        let chunk = [0u8; 4096];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        p
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[test]
fn a_full_disk_leaves_the_users_file_as_it_was() {
    tests::return_unless_root!("mounting a tmpfs");
    let disk = SmallDisk::mount("256k");
    let users = disk.path().join("users");
    add_user(&users, "alice", "alice password", &["staff"]);
    let before = std::fs::read(&users).unwrap();
    let filler = disk.fill("filler");

    let out = try_add_user(&users, "bob", "bob password", &[]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "added on a full disk: {out:?}");
    assert!(err.contains(&users.display().to_string()), "{err}");
    assert!(err.contains("No space left"), "{err}");
    assert!(!err.contains("bob password"), "{err}");
    assert_eq!(std::fs::read(&users).unwrap(), before, "users file changed");
    let mut names: Vec<String> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["filler", "users"], "a temporary file left behind");

    // Space again: the same command goes through.
    std::fs::remove_file(filler).unwrap();
    let out = try_add_user(&users, "bob", "bob password", &[]);
    assert!(out.status.success(), "{out:?}");
    let after = text(&std::fs::read(&users).unwrap());
    assert!(after.starts_with(&text(&before)), "{after}");
    assert!(after.lines().any(|l| l.starts_with("bob:")), "{after}");
}

// ---------------------------------------------------------------------------
// A token realm whose secret key cannot be read.

#[test]
fn a_realm_whose_secret_key_cannot_be_read_issues_nothing() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, key) = Realm::with_alice(REALM_DOMAIN, &[API], 600, "");
    let sshd = Sshd::start(&[&realm.name]);
    let secret = realm.secret_key_path();
    let saved = std::fs::read(&secret).unwrap();
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();

    // Its own file still, but no read permission for anyone; then readable
    // but empty (a truncated copy).
    type Breakage = fn(&Path);
    let breakages: [(&str, Breakage); 2] = [
        ("mode 000", |p| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o000)).unwrap()
        }),
        ("empty", |p| std::fs::write(p, b"").unwrap()),
    ];
    for (what, break_key) in breakages {
        break_key(&secret);
        let out = sshd.ssh(&key, &realm.name, None);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{what}: {out:?}");
        assert!(out.stdout.is_empty(), "{what}: a ticket issued: {out:?}");
        assert!(err.contains("secret key"), "{what}: {err}");
        assert!(err.contains(&realm.name), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
        // Put back as it was (contents, then mode).
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&secret, &saved).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    let out = sshd.ssh(&key, &realm.name, None);
    assert!(out.status.success(), "{out:?}\n{}", sshd.log());
    let out = realm.verify(text(&out.stdout).trim(), API);
    assert!(out.status.success(), "{out:?}");
}
