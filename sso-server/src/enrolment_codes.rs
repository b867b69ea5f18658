//! One-time enrolment codes (`[webauthn] enrolment_codes_file`): issued
//! by the administrator with `sso-server webauthn enrolment-code USER`,
//! typed by the user on the enrolment page, spent when the key is
//! enrolled.
//!
//! The file holds one `USER<TAB>EXPIRES<TAB>HASH` line per user (a new
//! code replaces the user's earlier one): the Unix time the code expires
//! and the hex SHA-256 of the code bound to the user. The code itself is
//! never stored or logged; it is 80 random bits, so a plain hash is
//! enough (no one can try 2^80 codes). A missing file holds no code. The
//! file is rewritten atomically under a lock on its directory (the
//! command and the server may both write it), so a code is spent once.

use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::private_file::FileError;

/// Hours a code is valid unless the command says otherwise, and at most.
pub const DEFAULT_HOURS: u64 = 24;
pub const MAX_HOURS: u64 = 30 * 24;

/// Random bytes of a code: 80 bits, 16 base32 characters.
const CODE_BYTES: usize = 10;
const CODE_CHARS: usize = 16;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The hash of a code bound to its user.
pub type CodeHash = [u8; 32];

struct Line {
    user: String,
    expires: u64,
    hash: CodeHash,
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    out
}

/// The code as typed (any case, with or without dashes and spaces) in its
/// canonical form; `None` when it cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_CHARS && code.bytes().all(|b| BASE32.contains(&b))).then_some(code)
}

/// The hash of `user`'s code `typed`, `None` when it cannot be a code.
pub fn hash(user: &str, typed: &str) -> Option<CodeHash> {
    let code = normalise(typed)?;
    let mut h = Sha256::new();
    h.update(b"sso-server enrolment code\0");
    h.update(user.as_bytes());
    h.update(b"\0");
    h.update(code.as_bytes());
    Some(h.finalize().into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<CodeHash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Why no code was issued (`sso-server webauthn enrolment-code`).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("invalid user name {0:?}")]
    InvalidUser(String),
    #[error("--hours must be between 1 and {MAX_HOURS}")]
    Hours,
    #[error("cannot make a code")]
    NoCode,
    #[error(transparent)]
    File(#[from] FileError),
}

fn parse(text: &str, path: &Path) -> Result<Vec<Line>, FileError> {
    let mut out = Vec::new();
    for (n, line) in crate::private_file::data_lines(text) {
        let bad = FileError::at(path, n);
        let mut parts = line.split('\t');
        let (Some(user), Some(expires), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected USER<TAB>EXPIRES<TAB>HASH"));
        };
        if !crate::session::valid_name(user) {
            return Err(bad("invalid user name"));
        }
        let expires = expires.parse().map_err(|_| bad("bad expiry"))?;
        let hash = unhex(hash).ok_or_else(|| bad("bad hash"))?;
        out.push(Line {
            user: user.to_owned(),
            expires,
            hash,
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<Line>, FileError> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse(&t, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(FileError::io(path, "read")(e)),
    }
}

/// Writes the lines still valid at `now`, with the owner the file has (or,
/// for a new file made by root, its directory's owner: the server's user
/// must be able to read it and spend codes).
fn write(path: &Path, lines: &[Line], now: u64) -> Result<(), FileError> {
    let mut text = String::new();
    for l in lines.iter().filter(|l| l.expires > now) {
        text.push_str(&format!("{}\t{}\t{}\n", l.user, l.expires, hex(&l.hash)));
    }
    let owner = std::fs::metadata(path)
        .or_else(|_| std::fs::metadata(directory(path)))
        .ok()
        .map(|m| (m.uid(), m.gid()));
    // Only root may give a file away; anyone else writes it as themselves.
    let owner = owner.filter(|_| sso_core::file_trust::effective_uid() == 0);
    Ok(crate::private_file::replace_owned(path, &text, owner)?)
}

fn directory(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Runs `f` holding an exclusive lock on the file's directory (the file
/// itself is replaced by rename, so it cannot carry the lock).
fn locked<T>(path: &Path, f: impl FnOnce() -> Result<T, FileError>) -> Result<T, FileError> {
    let dir = directory(path);
    let handle = std::fs::File::open(dir).map_err(FileError::io(dir, "open"))?;
    // SAFETY: flock on a descriptor this function owns; the lock goes when
    // `handle` is closed.
    if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(FileError::io(dir, "lock")(std::io::Error::last_os_error()));
    }
    let result = f();
    drop(handle);
    result
}

/// True when `line` is `user`'s code `hash`, unexpired at `now`.
fn opens(line: &Line, user: &str, hash: &CodeHash, now: u64) -> bool {
    line.user == user && line.expires > now && bool::from(line.hash.ct_eq(hash))
}

/// `sso-server webauthn enrolment-code`: a new code for `user`, valid for
/// `hours` from `now` (replacing the user's earlier one); the code and
/// its expiry.
pub fn issue(path: &Path, user: &str, hours: u64, now: u64) -> Result<(String, u64), IssueError> {
    if !crate::session::valid_name(user) || user.contains('\t') {
        return Err(IssueError::InvalidUser(user.to_owned()));
    }
    if hours == 0 || hours > MAX_HOURS {
        return Err(IssueError::Hours);
    }
    let mut raw = [0u8; CODE_BYTES];
    OsRng.fill_bytes(&mut raw);
    let code = base32(&raw);
    let hash = hash(user, &code).ok_or(IssueError::NoCode)?;
    let expires = now.saturating_add(hours * 3600);
    locked(path, || {
        let mut lines = read(path)?;
        lines.retain(|l| l.user != user);
        lines.push(Line {
            user: user.to_owned(),
            expires,
            hash,
        });
        write(path, &lines, now)
    })?;
    let grouped: Vec<&str> = (0..CODE_CHARS)
        .step_by(4)
        .filter_map(|i| code.get(i..i + 4))
        .collect();
    Ok((grouped.join("-"), expires))
}

/// True when `hash` is `user`'s unexpired, unspent code. Err: the file
/// cannot be read (fail closed).
pub fn valid(path: &Path, user: &str, hash: &CodeHash, now: u64) -> Result<bool, FileError> {
    Ok(read(path)?.iter().any(|l| opens(l, user, hash, now)))
}

/// Spends `user`'s code `hash`: true when it was valid and is now gone
/// from the file, false when it was not (already spent, replaced or
/// expired).
pub fn spend(path: &Path, user: &str, hash: &CodeHash, now: u64) -> Result<bool, FileError> {
    locked(path, || {
        let mut lines = read(path)?;
        let before = lines.len();
        lines.retain(|l| !opens(l, user, hash, now));
        if lines.len() == before {
            return Ok(false);
        }
        write(path, &lines, now)?;
        Ok(true)
    })
}

/// Checks the file at start-up (a malformed one stops the start).
pub fn check(path: &Path) -> Result<(), FileError> {
    read(path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_spent_once_by_its_user_only() {
        let (_dir, path) = crate::private_file::temp_path("codes");
        let now = 1_800_000_000;
        let (code, expires) = issue(&path, "alice", 2, now).unwrap();
        assert_eq!(expires, now + 7200);
        assert_eq!(code.len(), 19, "{code}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&code.replace('-', "")), "the code is stored");
        let typed = code.to_lowercase().replace('-', " ");
        let h = hash("alice", &typed).unwrap();
        assert!(valid(&path, "alice", &h, now).unwrap());
        // Bound to alice: the same code is nothing for bob.
        let hb = hash("bob", &code).unwrap();
        assert!(!valid(&path, "bob", &hb, now).unwrap());
        assert!(!spend(&path, "bob", &hb, now).unwrap());
        assert!(!valid(&path, "alice", &h, expires).unwrap());
        assert!(spend(&path, "alice", &h, now).unwrap());
        assert!(!spend(&path, "alice", &h, now).unwrap());
        assert!(!valid(&path, "alice", &h, now).unwrap());
    }

    #[test]
    fn a_new_code_replaces_the_old_one() {
        let (_dir, path) = crate::private_file::temp_path("codes");
        let (old, _) = issue(&path, "alice", 1, 1000).unwrap();
        let (new, _) = issue(&path, "alice", 1, 1000).unwrap();
        issue(&path, "bob", 1, 1000).unwrap();
        let old = hash("alice", &old).unwrap();
        let new = hash("alice", &new).unwrap();
        assert!(!valid(&path, "alice", &old, 1001).unwrap());
        assert!(valid(&path, "alice", &new, 1001).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn what_cannot_be_a_code_is_refused_early() {
        assert!(normalise("ABCD-EFGH-IJKL-MNOP").is_some());
        assert!(normalise("abcd efgh ijkl mnop").is_some());
        assert!(normalise("ABCD-EFGH-IJKL-MNO").is_none());
        assert!(normalise("ABCD-EFGH-IJKL-MNO1").is_none());
        assert!(normalise("").is_none());
        assert!(issue(Path::new("/nonexistent/x"), "a\tb", 1, 0).is_err());
        assert!(issue(Path::new("/nonexistent/x"), "alice", 0, 0).is_err());
        assert!(issue(Path::new("/nonexistent/x"), "alice", MAX_HOURS + 1, 0).is_err());
    }

    #[test]
    fn a_missing_file_holds_no_code_and_a_bad_one_names_the_line() {
        let h = [0u8; 32];
        assert!(!valid(Path::new("/nonexistent/codes"), "alice", &h, 0).unwrap());
        let e = parse("alice\t12\tzz\n", Path::new("/f")).err().unwrap();
        assert_eq!(e.to_string(), "/f:1: bad hash");
        let e = parse("alice\n", Path::new("/f")).err().unwrap().to_string();
        assert!(e.starts_with("/f:1: expected"), "{e}");
        assert_eq!(base32(&[0xff; 10]), "7".repeat(16));
    }
}
