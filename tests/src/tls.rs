//! Throwaway TLS material for the servers the tests start, made by the
//! `openssl` command: a self-signed server certificate, or a small CA and a
//! server certificate it signed (for clients that check the chain, as
//! browsers and `ssotool fetch --cacert` do). Every key is EC P-256 and
//! every server certificate says `CA:FALSE` (webpki refuses a CA
//! certificate as a server's own).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::run_ok;

const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// The subjectAltName of `host`: an address or a DNS name.
fn alt_name(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() {
        format!("IP:{host}")
    } else if host == "localhost" {
        "DNS:localhost,IP:127.0.0.1".into()
    } else {
        format!("DNS:{host}")
    }
}

fn server_extensions(host: &str) -> String {
    format!(
        "basicConstraints=critical,CA:FALSE\nsubjectAltName={}\n\
         extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
        alt_name(host)
    )
}

/// Writes a self-signed certificate for `host` (`localhost` also covers
/// 127.0.0.1) to `cert` and its key to `key`, good for two days.
pub fn self_signed(host: &str, cert: &Path, key: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509"]).args(EC_KEY).args(["-days", "2"]);
    cmd.args(["-subj", &format!("/CN={host}")]);
    for ext in server_extensions(host).lines() {
        cmd.args(["-addext", ext]);
    }
    run_ok(cmd.arg("-keyout").arg(key).arg("-out").arg(cert));
}

/// A self-signed certificate for `host` as `cert.pem` and `key.pem` in
/// `dir`: (cert, key).
pub fn self_signed_in(dir: &Path, host: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    self_signed(host, &cert, &key);
    (cert, key)
}

/// A throwaway certificate authority in a directory of its own.
pub struct Ca {
    dir: PathBuf,
    /// The CA's certificate: what the client is told to trust.
    pub cert: PathBuf,
}

impl Ca {
    /// A new CA named `name`, its files in `dir`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let ca = Ca {
            dir: dir.to_owned(),
            cert: dir.join("ca.pem"),
        };
        let mut cmd = Command::new("openssl");
        cmd.args(["req", "-x509"]).args(EC_KEY).args(["-days", "2"]);
        cmd.args(["-subj", &format!("/CN={name}")]);
        run_ok(
            cmd.arg("-keyout")
                .arg(dir.join("ca.key"))
                .arg("-out")
                .arg(&ca.cert),
        );
        ca
    }

    /// A server certificate for `host` signed by this CA, as
    /// `HOST.pem`/`HOST.key` in the CA's directory: (cert, key).
    pub fn issue(&self, host: &str) -> (PathBuf, PathBuf) {
        let p = |ext: &str| self.dir.join(format!("{host}.{ext}"));
        let (cert, key, csr, ext) = (p("pem"), p("key"), p("csr"), p("ext"));
        let mut cmd = Command::new("openssl");
        cmd.args(["req", "-new"]).args(EC_KEY);
        cmd.args(["-subj", &format!("/CN={host}")]);
        run_ok(cmd.arg("-keyout").arg(&key).arg("-out").arg(&csr));
        fs::write(&ext, server_extensions(host)).expect("write the extensions file");
        let mut cmd = Command::new("openssl");
        cmd.args(["x509", "-req", "-days", "2", "-CAcreateserial"]);
        cmd.arg("-in").arg(&csr).arg("-extfile").arg(&ext);
        cmd.arg("-CA").arg(&self.cert);
        cmd.arg("-CAkey").arg(self.dir.join("ca.key"));
        run_ok(cmd.arg("-out").arg(&cert));
        (cert, key)
    }
}
