//! The users file: one line per user, `user:PHC-hash:group1,group2`, with
//! `#` comments. Hashes are argon2id (PHC strings, as `sso-server user add`
//! writes them). The file is re-read when it changes, so adding a user
//! needs no restart, and deleting one (or a group) takes effect at its
//! next ticket. A file that stops parsing fails closed: see `with_table`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;
use sso_core::file_trust;

use super::{Account, Backend, BackendError};
use crate::session::valid_name;

/// One user's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub hash: String,
    pub groups: Vec<String>,
}

/// True for names the users file can hold: a valid name without `:`.
pub fn valid_user_name(user: &str) -> bool {
    valid_name(user) && !user.contains(':') && !user.contains('#') && user.trim() == user
}

/// A line of the file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    /// The user the line is for, when its name field is still readable.
    pub user: Option<String>,
    pub what: &'static str,
}

/// The file read line by line: the entries that parse, and the lines that
/// do not (a duplicated name makes both of its lines unusable).
#[derive(Debug, Default)]
pub struct Parsed {
    pub users: HashMap<String, UserEntry>,
    pub errors: Vec<LineError>,
}

/// The entry on one non-comment line, or why it cannot be used.
fn parse_line(line: &str) -> Result<(String, UserEntry), (Option<String>, &'static str)> {
    let mut parts = line.splitn(3, ':');
    let user = parts.next().unwrap_or_default();
    // Without a `:` the line is no entry at all, and its text no name.
    let Some(hash) = parts.next() else {
        return Err((None, "expected user:hash:groups"));
    };
    let name = valid_user_name(user).then(|| user.to_owned());
    let groups = parts.next().unwrap_or_default();
    let Some(user) = name.clone() else {
        return Err((None, "invalid user name"));
    };
    match PasswordHash::new(hash) {
        Err(_) => {
            return Err((
                name,
                "the hash is not a PHC string (use `sso-server user passwd`)",
            ))
        }
        // Anything else (a bcrypt `$2b$` line, say) would parse and
        // then never verify: refuse it here, where the admin sees it.
        Ok(h) if !h.algorithm.as_str().starts_with("argon2") => {
            return Err((
                name,
                "the hash is not argon2 (set it again with `sso-server user passwd`)",
            ))
        }
        Ok(_) => {}
    }
    let groups: Vec<String> = groups
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if !groups.iter().all(|g| valid_name(g)) {
        return Err((name, "invalid group name"));
    }
    let hash = hash.to_owned();
    Ok((user, UserEntry { hash, groups }))
}

/// Reads every line it can; never fails (see [`parse`] for the strict
/// reading of the start-up).
pub fn parse_lines(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (n, line) in crate::private_file::data_lines(text) {
        let line = line.trim();
        match parse_line(line) {
            Ok((user, entry)) => {
                let seen = parsed.errors.iter().any(|e| e.user.as_ref() == Some(&user));
                if parsed.users.remove(&user).is_some() || seen {
                    parsed.errors.push(LineError {
                        line: n,
                        user: Some(user),
                        what: "duplicate user",
                    });
                } else {
                    parsed.users.insert(user, entry);
                }
            }
            Err((user, what)) => {
                if let Some(u) = &user {
                    parsed.users.remove(u);
                }
                parsed.errors.push(LineError {
                    line: n,
                    user,
                    what,
                });
            }
        }
    }
    parsed
}

/// `FILE:LINE: what` for a log or an error.
fn describe(path: &Path, e: &LineError) -> String {
    format!("{}:{}: {}", path.display(), e.line, e.what)
}

/// Parses the whole file strictly: the first bad line is an error that
/// names it.
pub fn parse(text: &str, path: &Path) -> Result<HashMap<String, UserEntry>, BackendError> {
    let parsed = parse_lines(text);
    match parsed.errors.first() {
        Some(e) => Err(BackendError(describe(path, e))),
        None => Ok(parsed.users),
    }
}

/// Hashes a password with argon2id and the crate's default cost
/// (m=19456 KiB, t=2, p=1, the OWASP recommendation).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// The hash cost settings, for the benchmark's output.
pub fn hash_cost() -> String {
    let p = argon2::Params::default();
    format!(
        "argon2id m={}KiB t={} p={}",
        p.m_cost(),
        p.t_cost(),
        p.p_cost()
    )
}

fn verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// What identifies one version of the file: a change of any of these
/// makes the next lookup read it again.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Why the users file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Untrusted(#[from] file_trust::Untrusted),
    #[error("{}: cannot read users file: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Why `sso-server user add|passwd|delete` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("invalid user name {0:?}")]
    InvalidUser(String),
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("no user {0:?} in the file")]
    NoSuchUser(String),
    #[error("{}: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::private_file::WriteError),
}

/// The file's text and mode, read through the descriptor that
/// [`file_trust::open_file`] checked: whoever can write the users file (or
/// rename it in its directory) can log in as anyone, so it is held to the
/// rules of the configuration and the keys.
fn read_trusted(path: &Path) -> Result<(String, u32), ReadError> {
    let mut opened = file_trust::open_file(path, file_trust::effective_uid())?;
    let unreadable = |error| ReadError::Unreadable {
        path: path.to_owned(),
        error,
    };
    let mode = opened.file.metadata().map_err(unreadable)?.mode();
    let mut text = String::new();
    opened.file.read_to_string(&mut text).map_err(unreadable)?;
    Ok((text, mode))
}

/// Bad lines logged when a changed file is read (the first one is also in
/// every refused login's log line).
const MAX_LOGGED_PROBLEMS: usize = 10;

/// The users table as last read.
struct Table {
    stamp: Stamp,
    users: HashMap<String, UserEntry>,
    /// What is wrong with the file, `FILE:LINE: what` per bad line (or
    /// why it cannot be read). While there is anything, logins are refused
    /// (503).
    problems: Vec<String>,
    /// Users named on the bad lines: their accounts are unknown.
    unreadable: HashSet<String>,
    /// A bad line whose user name cannot be read: then no absent user can
    /// be said to be gone, and every one is unknown.
    unreadable_name: bool,
}

/// Reads the file through the descriptor its trust check judged (see
/// [`read_trusted`]); a file that fails the check is as unreadable.
fn load(path: &Path) -> Table {
    load_with_mode(path).0
}

/// The table, and the file's mode when it could be read.
fn load_with_mode(path: &Path) -> (Table, Option<u32>) {
    let before = stamp(path);
    let (text, mode) = match read_trusted(path) {
        Ok(t) => t,
        Err(e) => {
            let table = Table {
                stamp: before,
                users: HashMap::new(),
                problems: vec![e.to_string()],
                unreadable: HashSet::new(),
                unreadable_name: true,
            };
            return (table, None);
        }
    };
    let parsed = parse_lines(&text);
    let table = Table {
        stamp: before,
        problems: parsed.errors.iter().map(|e| describe(path, e)).collect(),
        unreadable: parsed
            .errors
            .iter()
            .filter_map(|e| e.user.clone())
            .collect(),
        unreadable_name: parsed.errors.iter().any(|e| e.user.is_none()),
        users: parsed.users,
    };
    (table, Some(mode))
}

/// The users-file backend.
pub struct UsersFile {
    path: PathBuf,
    table: RwLock<Table>,
    /// Checked when the user is unknown, so that a wrong user costs the
    /// same time as a wrong password.
    dummy_hash: String,
}

impl UsersFile {
    /// Reads the file now: a missing or malformed file stops the start.
    pub fn open(path: &Path) -> Result<UsersFile, BackendError> {
        let (table, mode) = load_with_mode(path);
        if let Some(e) = table.problems.first() {
            return Err(BackendError(e.clone()));
        }
        if let Some(mode) = mode {
            if mode & 0o004 != 0 {
                eprintln!(
                    "sso-server: warning: {} is readable by everyone; the hashes in it should not be",
                    path.display()
                );
            }
        }
        Ok(UsersFile {
            path: path.to_path_buf(),
            table: RwLock::new(table),
            dummy_hash: hash_password("not a password of anyone"),
        })
    }

    /// Runs `f` on the current table, reading the file again first when it
    /// changed. A file that no longer parses is not papered over with the
    /// previous table: its readable entries count (so a deletion in it
    /// applies), its unreadable ones are unknown.
    fn with_table<T>(&self, f: impl FnOnce(&Table) -> T) -> T {
        let now = stamp(&self.path);
        {
            let t = self.table.read().unwrap_or_else(|p| p.into_inner());
            if t.stamp == now {
                return f(&t);
            }
        }
        let mut t = self.table.write().unwrap_or_else(|p| p.into_inner());
        if t.stamp != now {
            *t = load(&self.path);
            for e in t.problems.iter().take(MAX_LOGGED_PROBLEMS) {
                eprintln!(
                    "sso-server: users file cannot be used: {e}; logins are refused (503) \
                     until it is fixed"
                );
            }
        }
        f(&t)
    }
}

impl Backend for UsersFile {
    fn authenticate_account(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Account>, BackendError> {
        let entry = self.with_table(|t| match t.problems.first() {
            Some(e) => Err(BackendError(format!(
                "{e} (logins are refused until the users file is fixed)"
            ))),
            None => Ok(t.users.get(user).cloned()),
        })?;
        match entry {
            Some(entry) => {
                Ok(verify(&entry.hash, password).then(|| Account::with_groups(entry.groups)))
            }
            None => {
                let _ = verify(&self.dummy_hash, password);
                Ok(None)
            }
        }
    }

    fn account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        self.with_table(|t| {
            if let Some(entry) = t.users.get(user) {
                return Ok(Some(Account::with_groups(entry.groups.clone())));
            }
            match t.problems.first() {
                Some(e) if t.unreadable_name || t.unreadable.contains(user) => Err(BackendError(
                    format!("{e} (the account of {user:?} cannot be read)"),
                )),
                _ => Ok(None),
            }
        })
    }

    /// A local table: always answered at once (a stat, and a read when the
    /// file changed), never cached.
    fn account_now(&self, user: &str) -> Option<Result<Option<Account>, BackendError>> {
        Some(self.account(user))
    }

    fn name(&self) -> &'static str {
        "users_file"
    }
}

/// What `sso-server user ...` does to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Add a new user (refused if present).
    Add {
        password: String,
        groups: Vec<String>,
    },
    /// Set the password (and the groups, when given) of an existing user.
    Passwd {
        password: String,
        groups: Option<Vec<String>>,
    },
    Delete,
}

/// Applies `edit` for `user` to the file's text, keeping every other line.
pub fn apply_edit(text: &str, user: &str, edit: &Edit) -> Result<String, EditError> {
    if !valid_user_name(user) {
        return Err(EditError::InvalidUser(user.to_owned()));
    }
    let line_for = |hash: &str, groups: &[String]| format!("{user}:{hash}:{}", groups.join(","));
    let mut out = Vec::new();
    let mut found = false;
    for line in text.lines() {
        let name = line.trim().split(':').next().unwrap_or_default();
        if !line.trim_start().starts_with('#') && name == user {
            found = true;
            match edit {
                Edit::Add { .. } => return Err(EditError::Exists(user.to_owned())),
                Edit::Delete => continue,
                Edit::Passwd { password, groups } => {
                    let old_groups: Vec<String> = line
                        .splitn(3, ':')
                        .nth(2)
                        .unwrap_or_default()
                        .split(',')
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect();
                    let groups = groups.as_ref().unwrap_or(&old_groups);
                    out.push(line_for(&hash_password(password), groups));
                    continue;
                }
            }
        }
        out.push(line.to_owned());
    }
    match edit {
        Edit::Add { password, groups } => out.push(line_for(&hash_password(password), groups)),
        _ if !found => return Err(EditError::NoSuchUser(user.to_owned())),
        _ => {}
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

/// Edits the users file in place (atomically: a private temporary file in
/// the same directory, then rename). A missing file is created by `add`.
pub fn edit_file(path: &Path, user: &str, edit: &Edit) -> Result<(), EditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && matches!(edit, Edit::Add { .. }) => {
            String::new()
        }
        Err(error) => {
            return Err(EditError::Unreadable {
                path: path.to_owned(),
                error,
            })
        }
    };
    let new = apply_edit(&text, user, edit)?;
    Ok(crate::private_file::replace(path, &new)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn edit_and_authenticate() {
        let (_dir, path) = crate::private_file::temp_path("users");
        edit_file(
            &path,
            "alice",
            &Edit::Add {
                password: "wonderland".into(),
                groups: vec!["staff".into()],
            },
        )
        .unwrap();
        std::fs::write(
            &path,
            format!("# comment\n{}", std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        let b = UsersFile::open(&path).unwrap();
        assert_eq!(
            b.authenticate("alice", "wonderland").unwrap(),
            Some(vec!["staff".into()])
        );
        assert_eq!(b.authenticate("alice", "wrong").unwrap(), None);
        assert_eq!(b.authenticate("nobody", "wonderland").unwrap(), None);
        assert!(edit_file(
            &path,
            "alice",
            &Edit::Add {
                password: "x".into(),
                groups: vec![]
            }
        )
        .is_err());
        edit_file(
            &path,
            "alice",
            &Edit::Passwd {
                password: "new".into(),
                groups: None,
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# comment\n"), "{text}");
        let b = UsersFile::open(&path).unwrap();
        assert_eq!(
            b.authenticate("alice", "new").unwrap(),
            Some(vec!["staff".into()])
        );
        edit_file(&path, "alice", &Edit::Delete).unwrap();
        assert!(edit_file(&path, "alice", &Edit::Delete).is_err());
        let b = UsersFile::open(&path).unwrap();
        assert_eq!(b.authenticate("alice", "new").unwrap(), None);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let text = format!("ok:{}:\nbad line\n", hash_password("x"));
        let e = parse(&text, Path::new("/u")).unwrap_err().to_string();
        assert!(e.contains("/u:2"), "{e}");
        assert!(!valid_user_name("a:b"));
        assert!(!valid_user_name(" a"));
    }

    #[test]
    fn a_hash_that_is_not_argon2_is_refused_with_its_line() {
        // A PHC string of another algorithm would parse and never verify.
        let scrypt = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$dGVzdGhhc2h0ZXN0aGFzaA";
        let text = format!("ok:{}:\nold:{scrypt}:staff\n", hash_password("x"));
        let e = parse(&text, Path::new("/u")).unwrap_err().to_string();
        assert!(e.contains("/u:2") && e.contains("not argon2"), "{e}");
        // bcrypt's modular crypt format is no PHC string at all.
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let e = parse(&format!("old:{bcrypt}:\n"), Path::new("/u"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/u:1"), "{e}");
    }

    #[test]
    fn a_broken_file_fails_closed_and_applies_deletions() {
        let (_dir, path) = crate::private_file::temp_path("users");
        let line = |u: &str, groups: &str| format!("{u}:{}:{groups}\n", hash_password("pw"));
        std::fs::write(
            &path,
            line("alice", "staff") + &line("bob", "") + &line("carol", ""),
        )
        .unwrap();
        let b = UsersFile::open(&path).unwrap();
        assert_eq!(b.authenticate("bob", "pw").unwrap(), Some(vec![]));
        // bob deleted, carol's line broken, alice's group removed.
        let broken = format!("{}carol:nohash:\n", line("alice", ""));
        std::fs::write(&path, &broken).unwrap();
        let e = b.authenticate("alice", "pw").unwrap_err().to_string();
        assert!(e.contains(&format!("{}:2", path.display())), "{e}");
        assert_eq!(b.account("alice").unwrap(), Some(Account::default()));
        assert_eq!(b.account("bob").unwrap(), None);
        assert!(b.account("carol").is_err());
        // A line whose name cannot be read: no absent user is known gone.
        std::fs::write(&path, format!("{broken}bad line\n")).unwrap();
        assert!(b.account("bob").is_err());
        assert!(b.account("alice").unwrap().is_some());
        // A missing file: nobody is known.
        std::fs::remove_file(&path).unwrap();
        assert!(b.account("alice").is_err());
        assert!(b.authenticate("alice", "pw").is_err());
        // Fixed: logins work again, with the new table.
        std::fs::write(&path, line("alice", "admins")).unwrap();
        assert_eq!(
            b.authenticate("alice", "pw").unwrap(),
            Some(vec!["admins".into()])
        );
        assert_eq!(b.authenticate("bob", "pw").unwrap(), None);
    }

    #[test]
    fn a_duplicated_name_makes_both_lines_unusable() {
        let h = hash_password("x");
        let p = parse_lines(&format!("a:{h}:\na:{h}:\na:{h}:\nb:{h}:\n"));
        assert_eq!(p.users.keys().collect::<Vec<_>>(), vec!["b"]);
        assert_eq!(p.errors.len(), 2);
        assert!(p.errors.iter().all(|e| e.user.as_deref() == Some("a")));
    }
}
