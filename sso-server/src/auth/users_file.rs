//! The users file: one line per user, `user:PHC-hash:group1,group2`, with
//! `#` comments. Hashes are argon2id (PHC strings, as `sso-server user add`
//! writes them). The file is re-read when its modification time changes,
//! so adding a user needs no restart.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;

use super::{Backend, BackendError};
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

/// Parses the file; errors name the line.
pub fn parse(text: &str, path: &Path) -> Result<HashMap<String, UserEntry>, BackendError> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| BackendError(format!("{}:{}: {what}", path.display(), i + 1));
        let mut parts = line.splitn(3, ':');
        let user = parts.next().unwrap_or_default();
        let hash = parts
            .next()
            .ok_or_else(|| bad("expected user:hash:groups"))?;
        let groups = parts.next().unwrap_or_default();
        if !valid_user_name(user) {
            return Err(bad("invalid user name"));
        }
        match PasswordHash::new(hash) {
            Err(_) => {
                return Err(bad(
                    "the hash is not a PHC string (use `sso-server user passwd`)",
                ))
            }
            // Anything else (a bcrypt `$2b$` line, say) would parse and
            // then never verify: refuse it here, where the admin sees it.
            Ok(h) if !h.algorithm.as_str().starts_with("argon2") => {
                return Err(bad(
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
            return Err(bad("invalid group name"));
        }
        if users
            .insert(
                user.to_owned(),
                UserEntry {
                    hash: hash.to_owned(),
                    groups,
                },
            )
            .is_some()
        {
            return Err(bad("duplicate user"));
        }
    }
    Ok(users)
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

struct Loaded {
    modified: Option<SystemTime>,
    users: HashMap<String, UserEntry>,
}

/// The users-file backend.
pub struct UsersFile {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    /// Checked when the user is unknown, so that a wrong user costs the
    /// same time as a wrong password.
    dummy_hash: String,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(path: &Path) -> Result<Loaded, BackendError> {
    let before = modified(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| BackendError(format!("{}: cannot read users file: {e}", path.display())))?;
    Ok(Loaded {
        modified: before,
        users: parse(&text, path)?,
    })
}

impl UsersFile {
    /// Reads the file now: a missing or malformed file stops the start.
    pub fn open(path: &Path) -> Result<UsersFile, BackendError> {
        let loaded = load(path)?;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o004 != 0 {
                eprintln!(
                    "sso-server: warning: {} is readable by everyone; the hashes in it should not be",
                    path.display()
                );
            }
        }
        Ok(UsersFile {
            path: path.to_path_buf(),
            loaded: RwLock::new(loaded),
            dummy_hash: hash_password("not a password of anyone"),
        })
    }

    fn lookup(&self, user: &str) -> Result<Option<UserEntry>, BackendError> {
        let now = modified(&self.path);
        {
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if l.modified == now {
                return Ok(l.users.get(user).cloned());
            }
        }
        // Changed on disk: reload. A broken edit keeps the old table (and
        // says so) rather than locking everyone out.
        let mut l = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        match load(&self.path) {
            Ok(new) => *l = new,
            Err(e) => {
                eprintln!("sso-server: keeping the previous users table: {e}");
                l.modified = now;
            }
        }
        Ok(l.users.get(user).cloned())
    }
}

impl Backend for UsersFile {
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, BackendError> {
        match self.lookup(user)? {
            Some(entry) => Ok(verify(&entry.hash, password).then_some(entry.groups)),
            None => {
                let _ = verify(&self.dummy_hash, password);
                Ok(None)
            }
        }
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
pub fn apply_edit(text: &str, user: &str, edit: &Edit) -> Result<String, String> {
    if !valid_user_name(user) {
        return Err(format!("invalid user name {user:?}"));
    }
    let line_for = |hash: &str, groups: &[String]| format!("{user}:{hash}:{}", groups.join(","));
    let mut out = Vec::new();
    let mut found = false;
    for line in text.lines() {
        let name = line.trim().split(':').next().unwrap_or_default();
        if !line.trim_start().starts_with('#') && name == user {
            found = true;
            match edit {
                Edit::Add { .. } => return Err(format!("user {user:?} already exists")),
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
        _ if !found => return Err(format!("no user {user:?} in the file")),
        _ => {}
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

/// Edits the users file in place (atomically: a private temporary file in
/// the same directory, then rename). A missing file is created by `add`.
pub fn edit_file(path: &Path, user: &str, edit: &Edit) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && matches!(edit, Edit::Add { .. }) => {
            String::new()
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let new = apply_edit(&text, user, edit)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let tmp = dir.unwrap_or(Path::new(".")).join(format!(
        ".{}.tmp{}",
        file_name(path),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(new.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "users".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_and_authenticate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
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
}
