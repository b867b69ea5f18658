//! TOTP (RFC 6238) as a second factor: the per-user secrets of the file
//! named by `[auth] totp_file`, checking a code with one step of skew each
//! way, and refusing a code whose time step was already used (RFC 6238
//! section 5.2). The codes themselves come from the `totp-rs` crate.
//!
//! The file has one `USER:SECRET` line per user, the secret in base32 as in
//! the `otpauth://` URI; blank lines and lines starting with `#` are
//! ignored. It is read again when it changes (like the users file), so
//! `sso-server user totp remove` applies to the next code. The secrets
//! never leave this module: not in the session cookie, not in a log line,
//! not in an error message.
//!
//! The last used step of each user is kept in memory for the whole process
//! (carried over reloads). With several replicas behind one name, a shared
//! `[throttle] store` keeps it for all of them too (see
//! `ThrottleStore::claim_totp_step`), so a code accepted by one replica is
//! refused by every other; with the memory store, only by the one that
//! accepted it.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::private_file::WriteError;

/// Digits of a code, seconds of a step, steps of skew each way: what every
/// authenticator app uses by default (and `oathtool --totp`).
pub const DIGITS: usize = 6;
pub const STEP: u64 = 30;
pub const SKEW: u64 = 1;

/// Bytes of a secret made by `enroll` (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;

/// Bytes of a secret read from the file: at least 128 bits (RFC 4226).
const MIN_SECRET_BYTES: usize = 16;

/// What a code check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right, and its step (the number given) not used before by this
    /// process: the factor is proven unless a shared store knows the step
    /// as used (see `ThrottleStore::claim_totp_step`).
    Accepted(u64),
    /// Not the code of any step in the window.
    Wrong,
    /// The code of a step already used (or older than one used).
    Replayed,
    /// The user has no secret in the file.
    NotEnrolled,
}

impl Verdict {
    /// A short stable name for logs.
    pub fn check(self) -> &'static str {
        match self {
            Verdict::Accepted(_) => "accepted",
            Verdict::Wrong => "wrong code",
            Verdict::Replayed => "replayed code",
            Verdict::NotEnrolled => "no second factor enrolled",
        }
    }
}

type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// What is wrong with a line of the TOTP file (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("expected USER:SECRET")]
    NoSeparator,
    #[error("invalid user name")]
    InvalidUser,
    #[error("the secret of {0:?} is not base32")]
    NotBase32(String),
    #[error("the secret of {0:?} is shorter than {MIN_SECRET_BYTES} bytes")]
    TooShort(String),
    #[error("{0:?} has more than one secret")]
    Duplicate(String),
}

/// Why the TOTP file cannot be used or changed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TotpError {
    /// `FILE:LINE: what`.
    #[error("{}:{line}: {problem}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        problem: LineProblem,
    },
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: Arc<std::io::Error>,
    },
    /// The file's metadata, or its text for an edit, cannot be read.
    #[error("{}: {error}", path.display())]
    Access {
        path: PathBuf,
        error: Arc<std::io::Error>,
    },
    #[error(
        "{} is readable by everyone; the TOTP secrets in it must not be (chmod o-r)",
        path.display()
    )]
    ReadableByEveryone { path: PathBuf },
    #[error("invalid user name {0:?}")]
    InvalidUser(String),
    #[error("--issuer must not contain `:`")]
    IssuerWithColon,
    #[error("cannot encode the secret")]
    Encoding,
    #[error("{}: {user:?} has no TOTP secret", path.display())]
    NoSecret { path: PathBuf, user: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("QR code: {0}")]
    QrCode(String),
}

/// The secrets as last read, or why the file cannot be used.
struct Table {
    stamp: Stamp,
    secrets: Result<HashMap<String, Vec<u8>>, TotpError>,
}

/// Parses the file's text; errors are `FILE:LINE: what`, never the secret.
pub fn parse(text: &str, path: &Path) -> Result<HashMap<String, Vec<u8>>, TotpError> {
    let mut out = HashMap::new();
    for (n, line) in crate::private_file::data_lines(text) {
        let at = |problem| TotpError::Line {
            path: path.to_owned(),
            line: n,
            problem,
        };
        let line = line.trim();
        let Some((user, secret)) = line.split_once(':') else {
            return Err(at(LineProblem::NoSeparator));
        };
        if !crate::session::valid_name(user) {
            return Err(at(LineProblem::InvalidUser));
        }
        let bytes = Secret::Encoded(secret.trim().to_ascii_uppercase())
            .to_bytes()
            .map_err(|_| at(LineProblem::NotBase32(user.to_owned())))?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(at(LineProblem::TooShort(user.to_owned())));
        }
        if out.insert(user.to_owned(), bytes).is_some() {
            return Err(at(LineProblem::Duplicate(user.to_owned())));
        }
    }
    Ok(out)
}

fn load(path: &Path) -> Table {
    let before = stamp(path);
    let secrets = std::fs::read_to_string(path)
        .map_err(|e| TotpError::Read {
            path: path.to_owned(),
            error: Arc::new(e),
        })
        .and_then(|t| parse(&t, path));
    Table {
        stamp: before,
        secrets,
    }
}

fn totp(secret: Vec<u8>, user: &str, issuer: Option<&str>) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW as u8,
        STEP,
        secret,
        issuer.map(str::to_owned),
        user.to_owned(),
    )
}

/// The step whose code `code` is, within [`SKEW`] steps of `now`; the
/// comparison takes the same time whatever digits match.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret.to_vec(), "", None);
    let current = now / STEP;
    let mut found = None;
    for step in current.saturating_sub(SKEW)..=current.saturating_add(SKEW) {
        let expected = t.generate(step * STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The TOTP secrets of `[auth] totp_file` and the steps already used.
pub struct TotpFile {
    path: PathBuf,
    table: RwLock<Table>,
    /// The last accepted step of each user.
    last_used: Arc<Mutex<HashMap<String, u64>>>,
}

impl TotpFile {
    /// Reads the file now: a missing or malformed file, or one everyone
    /// may read, stops the start. (The ownership and write permissions are
    /// checked before, with the other trusted files: see
    /// `Config::trusted_files`.)
    pub fn open(path: &Path) -> Result<TotpFile, TotpError> {
        let meta = std::fs::metadata(path).map_err(|e| TotpError::Access {
            path: path.to_owned(),
            error: Arc::new(e),
        })?;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(TotpError::ReadableByEveryone {
                path: path.to_owned(),
            });
        }
        let table = load(path);
        if let Err(e) = &table.secrets {
            return Err(e.clone());
        }
        Ok(TotpFile {
            path: path.to_path_buf(),
            table: RwLock::new(table),
            last_used: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Keeps the steps used under the previous generation (a reload must
    /// not let a used code through again).
    pub fn carry_over(&mut self, previous: &TotpFile) {
        self.last_used = previous.last_used.clone();
    }

    /// Runs `f` on the secrets, reading the file again when it changed. A
    /// file that no longer parses is an error (fail closed), not the
    /// previous table.
    fn with_secrets<T>(
        &self,
        f: impl FnOnce(&HashMap<String, Vec<u8>>) -> T,
    ) -> Result<T, TotpError> {
        let now = stamp(&self.path);
        {
            let t = self.table.read().unwrap_or_else(|p| p.into_inner());
            if t.stamp == now {
                return t.secrets.as_ref().map(f).map_err(Clone::clone);
            }
        }
        let mut t = self.table.write().unwrap_or_else(|p| p.into_inner());
        if t.stamp != now {
            *t = load(&self.path);
        }
        t.secrets.as_ref().map(f).map_err(Clone::clone)
    }

    /// True when `user` has a secret. Err: the file cannot be read.
    pub fn enrolled(&self, user: &str) -> Result<bool, TotpError> {
        self.with_secrets(|s| s.contains_key(user))
    }

    /// Checks `code` for `user` at Unix time `now`, and on success records
    /// its step as used.
    pub fn verify(&self, user: &str, code: &str, now: u64) -> Result<Verdict, TotpError> {
        let Some(step) = self.with_secrets(|s| s.get(user).map(|k| matching_step(k, code, now)))?
        else {
            return Ok(Verdict::NotEnrolled);
        };
        let Some(step) = step else {
            return Ok(Verdict::Wrong);
        };
        let mut used = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        match used.get(user) {
            Some(&last) if step <= last => Ok(Verdict::Replayed),
            _ => {
                used.insert(user.to_owned(), step);
                Ok(Verdict::Accepted(step))
            }
        }
    }
}

/// `sso-server user totp enroll`: a fresh secret for `user` (replacing any
/// earlier one); returns its `otpauth://totp/` URI.
pub fn enroll(path: &Path, user: &str, issuer: &str) -> Result<String, TotpError> {
    if !crate::session::valid_name(user) || user.contains(':') {
        return Err(TotpError::InvalidUser(user.to_owned()));
    }
    if issuer.contains(':') {
        return Err(TotpError::IssuerWithColon);
    }
    let mut secret = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let Secret::Encoded(encoded) = Secret::Raw(secret.clone()).to_encoded() else {
        return Err(TotpError::Encoding);
    };
    edit(path, user, Some(&encoded))?;
    Ok(totp(secret, user, Some(issuer)).get_url())
}

/// `sso-server user totp remove`: drops `user`'s secret.
pub fn remove(path: &Path, user: &str) -> Result<(), TotpError> {
    edit(path, user, None)
}

/// Replaces (or with `None` removes) `user`'s line, atomically: a private
/// temporary file in the same directory, then rename. A missing file is
/// created when adding.
fn edit(path: &Path, user: &str, secret: Option<&str>) -> Result<(), TotpError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && secret.is_some() => String::new(),
        Err(e) => {
            return Err(TotpError::Access {
                path: path.to_owned(),
                error: Arc::new(e),
            })
        }
    };
    let mut found = false;
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim().split_once(':').map(|(u, _)| u) == Some(user) {
            found = true;
        } else {
            lines.push(line.to_owned());
        }
    }
    match secret {
        Some(s) => lines.push(format!("{user}:{s}")),
        None if !found => {
            return Err(TotpError::NoSecret {
                path: path.to_owned(),
                user: user.to_owned(),
            })
        }
        None => {}
    }
    let mut new = lines.join("\n");
    new.push('\n');
    Ok(crate::private_file::replace(path, &new)?)
}

/// The URI as a QR code for a terminal (two modules per character).
pub fn qr_for_terminal(uri: &str) -> Result<String, TotpError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| TotpError::QrCode(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" gives
    /// 94287082 at T=59 (8 digits); its last six digits are the 6-digit code.
    #[test]
    fn rfc_6238_vector() {
        let key = b"12345678901234567890";
        assert_eq!(matching_step(key, "287082", 59), Some(1));
        assert_eq!(matching_step(key, "287082", 59 + STEP), Some(1));
        assert_eq!(matching_step(key, "287082", 59 + 2 * STEP), None);
        assert_eq!(matching_step(key, "28708", 59), None);
        assert_eq!(matching_step(key, "28708x", 59), None);
    }

    #[test]
    fn enroll_verify_replay_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("totp");
        let uri = enroll(&path, "alice", "Example SSO").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        let f = TotpFile::open(&path).unwrap();
        let secret = TOTP::from_url(&uri).unwrap();
        let now = 1_800_000_000;
        let code = secret.generate(now);
        assert_eq!(f.verify("bob", &code, now).unwrap(), Verdict::NotEnrolled);
        assert_eq!(f.verify("alice", "000000x", now).unwrap(), Verdict::Wrong);
        assert_eq!(
            f.verify("alice", &code, now).unwrap(),
            Verdict::Accepted(now / STEP)
        );
        assert_eq!(f.verify("alice", &code, now).unwrap(), Verdict::Replayed);
        // The previous step's code is older than the one used.
        let older = secret.generate(now - STEP);
        assert_eq!(f.verify("alice", &older, now).unwrap(), Verdict::Replayed);
        remove(&path, "alice").unwrap();
        let next = secret.generate(now + STEP);
        assert_eq!(
            f.verify("alice", &next, now + STEP).unwrap(),
            Verdict::NotEnrolled
        );
        assert!(remove(&path, "alice")
            .unwrap_err()
            .to_string()
            .contains("no TOTP secret"));
    }

    #[test]
    fn bad_files_name_the_line_not_the_secret() {
        let p = Path::new("/etc/sso/totp");
        let e = parse("# c\n\nalice:GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nbob\n", p).unwrap_err();
        assert_eq!(e.to_string(), "/etc/sso/totp:4: expected USER:SECRET");
        let e = parse("alice:not-base32!\n", p).unwrap_err().to_string();
        assert!(e.contains(":1:") && !e.contains("not-base32"), "{e}");
        let e = parse("alice:GEZDGNBV\n", p).unwrap_err().to_string();
        assert!(e.contains("shorter"), "{e}");
        let two = "alice:GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n".repeat(2);
        assert!(parse(&two, p)
            .unwrap_err()
            .to_string()
            .contains("more than one"));
    }

    #[test]
    fn a_file_everyone_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("totp");
        enroll(&path, "alice", "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = TotpFile::open(&path).err().unwrap().to_string();
        assert!(e.contains("readable by everyone"), "{e}");
    }

    #[test]
    fn the_qr_code_renders() {
        let q = qr_for_terminal("otpauth://totp/x:alice?secret=GEZDGNBV").unwrap();
        assert!(q.lines().count() > 10);
    }
}
