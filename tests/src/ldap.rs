//! A private `slapd` on 127.0.0.1 with a test directory, optionally also
//! serving TLS (`ldaps://` and StartTLS) with a certificate from a
//! throwaway CA made for it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::ssh::install_ca_signed_certificate;
use crate::util::{free_port, output_with_stdin, wait_for_port};

/// The suffix of the test directory.
pub const LDAP_SUFFIX: &str = "dc=example,dc=org";
/// The directory's administrator (slapd's rootdn) and password.
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A throwaway CA with a certificate for 127.0.0.1 signed by it, in `dir`:
/// returns (CA certificate, server certificate, server key).
pub fn throwaway_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_dir = dir.join("ca");
    let conf_dir = dir.join("server");
    for d in [&ca_dir, &conf_dir] {
        std::fs::create_dir_all(d).expect("CA dirs");
    }
    let ca = install_ca_signed_certificate(&conf_dir, &ca_dir);
    (ca, conf_dir.join("cert.pem"), conf_dir.join("key.pem"))
}

/// A private `slapd`: users `uid=USER,ou=people,dc=example,dc=org` with
/// `userPassword`, and `groupOfNames` entries under `ou=groups`. Killed on
/// Drop.
pub struct Slapd {
    child: Child,
    pub port: u16,
    /// With TLS: the `ldaps://` port, and the CA that signed the server's
    /// certificate.
    pub tls: Option<(u16, PathBuf)>,
    pub dir: tempfile::TempDir,
    /// The `-h` listener list, kept so [`Slapd::restart`] listens again on
    /// the same ports.
    listeners: String,
}

impl Slapd {
    /// `users`: (uid, password); `groups`: (cn, member uids). Plain
    /// `ldap://` only.
    pub fn start(users: &[(&str, &str)], groups: &[(&str, &[&str])]) -> Slapd {
        Slapd::start_with(users, groups, false)
    }

    /// As [`Slapd::start`], and TLS: StartTLS on the `ldap://` port and
    /// `ldaps://` on a second one, with a certificate for 127.0.0.1 from a
    /// throwaway CA (see [`Slapd::ca_file`]). Every operation needs TLS.
    pub fn start_tls(users: &[(&str, &str)], groups: &[(&str, &[&str])]) -> Slapd {
        Slapd::start_with(users, groups, true)
    }

    fn start_with(users: &[(&str, &str)], groups: &[(&str, &[&str])], tls: bool) -> Slapd {
        let (dir, db) = crate::util::temp_path("db");
        std::fs::create_dir(&db).expect("db dir");
        let tls = tls.then(|| (free_port(), throwaway_ca(dir.path())));
        let tls_conf = match &tls {
            // `security tls=1`: no operation without TLS, so a client that
            // skipped StartTLS fails instead of passing unnoticed.
            Some((_, (_, cert, key))) => format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\nsecurity tls=1\n",
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 {tls_conf}\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{LDAP_SUFFIX}\"\n\
                 rootdn \"{ADMIN_DN}\"\n\
                 rootpw {ADMIN_PASSWORD}\n\
                 directory {db}\n\
                 access to attrs=userPassword by anonymous auth by self read by * none\n\
                 access to * by * read\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display()
            ),
        )
        .expect("slapd.conf");
        let mut ldif = format!(
            "dn: {LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: ou=people,{LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,{LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n"
        );
        for (uid, pw) in users {
            ldif.push_str(&format!(
                "dn: uid={uid},ou=people,{LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {pw}\n\n"
            ));
        }
        for (cn, members) in groups {
            ldif.push_str(&format!(
                "dn: cn={cn},ou=groups,{LDAP_SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n"
            ));
            for m in members.iter() {
                ldif.push_str(&format!("member: uid={m},ou=people,{LDAP_SUFFIX}\n"));
            }
            ldif.push('\n');
        }
        let ldif_path = dir.path().join("data.ldif");
        std::fs::write(&ldif_path, ldif).expect("ldif");
        crate::util::run_ok(
            Command::new("/usr/sbin/slapadd")
                .arg("-f")
                .arg(&conf)
                .arg("-l")
                .arg(&ldif_path),
        );
        let port = free_port();
        let mut listeners = format!("ldap://127.0.0.1:{port}/");
        if let Some((tls_port, _)) = &tls {
            listeners.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
        }
        let child = spawn_slapd(dir.path(), &listeners);
        let mut s = Slapd {
            child,
            port,
            tls: tls.map(|(p, (ca, _, _))| (p, ca)),
            dir,
            listeners,
        };
        s.wait_until_listening();
        s
    }

    fn wait_until_listening(&mut self) {
        let ports = [Some(self.port), self.tls.as_ref().map(|(p, _)| *p)];
        if !ports
            .into_iter()
            .flatten()
            .all(|p| wait_for_port(p, Duration::from_secs(20)))
        {
            let _ = self.child.kill();
            panic!("slapd did not start: {}", self.log());
        }
    }

    /// Stops the directory (SIGKILL, as a crash would): connections to its
    /// ports are refused until [`Slapd::restart`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the directory again on the same ports with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn_slapd(self.dir.path(), &self.listeners);
        self.wait_until_listening();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// `ldap://127.0.0.1:PORT` (StartTLS works on it when started with TLS).
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT`; panics without TLS.
    pub fn ldaps_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("slapd started without TLS");
        format!("ldaps://127.0.0.1:{port}")
    }

    /// The CA certificate that signed the server's; panics without TLS.
    pub fn ca_file(&self) -> &Path {
        &self.tls.as_ref().expect("slapd started without TLS").1
    }

    /// Changes the directory as its administrator with `ldapmodify`
    /// (LDIF with `changetype:` lines).
    pub fn modify(&self, ldif: &str) {
        let mut cmd = Command::new("ldapmodify");
        cmd.args([
            "-x",
            "-H",
            &self.url(),
            "-D",
            ADMIN_DN,
            "-w",
            ADMIN_PASSWORD,
        ]);
        if let Some((_, ca)) = &self.tls {
            cmd.arg("-ZZ").env("LDAPTLS_CACERT", ca);
        }
        // ldapmodify is Debian's ldap-utils.
        let out = output_with_stdin(&mut cmd, ldif);
        assert!(
            out.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs slapd in the foreground on `listeners` with `dir/slapd.conf`,
/// appending to `dir/slapd.log`.
fn spawn_slapd(dir: &Path, listeners: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("slapd.log"))
        .expect("log");
    Command::new("/usr/sbin/slapd")
        // -d keeps slapd in the foreground, so Drop can kill it; -s 0
        // keeps it off syslog (a /dev/log nobody drains would block it).
        .args(["-s", "0", "-d", "0", "-f"])
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(listeners)
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("start slapd")
}
