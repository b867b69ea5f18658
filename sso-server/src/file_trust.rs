//! StrictModes-style checks on the files the server trusts (its
//! configuration, its keys, its TLS files), as OpenSSH checks
//! `authorized_keys`: whoever can write one of them can mint tickets or
//! seal sessions, so each file and every directory above it must be owned
//! by root or by the user the server runs as, and writable by no one else.
//!
//! A world-writable directory with the sticky bit (`/tmp`) is accepted as
//! a parent: there, no one but an entry's owner may rename or remove it,
//! so the entries below it that pass these checks cannot be swapped.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const GROUP_OR_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;

/// A file or directory that breaks a rule; Display names it and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The file the server was asked to trust.
    pub file: PathBuf,
    /// The path that breaks the rule: the file or one of its parents.
    pub culprit: PathBuf,
    pub rule: Rule,
}

/// The rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Owned by someone who is neither root nor the service user.
    Owner { uid: u32, service_uid: u32 },
    /// Group or others may write it.
    Writable { mode: u32 },
    /// It could not be examined at all.
    Unreadable(String),
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: refused: ", self.file.display())?;
        if self.culprit != self.file {
            write!(f, "its directory {} ", self.culprit.display())?;
        }
        match &self.rule {
            Rule::Owner { uid, service_uid } => write!(
                f,
                "is owned by uid {uid}, not by root or the user the server runs as \
                 (uid {service_uid})"
            ),
            Rule::Writable { mode } => write!(
                f,
                "is writable by group or others (mode {:04o}); run chmod go-w on it",
                mode & 0o7777
            ),
            Rule::Unreadable(e) => write!(f, "cannot be examined: {e}"),
        }
    }
}

impl std::error::Error for Untrusted {}

/// Checks `file` and each directory above it against the rules, for a
/// server running as the current effective user.
pub fn check_trusted(file: &Path) -> Result<(), Untrusted> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    check_trusted_for(file, euid)
}

/// [`check_trusted`] for a service running as `service_uid`.
pub fn check_trusted_for(file: &Path, service_uid: u32) -> Result<(), Untrusted> {
    let refuse = |culprit: &Path, rule: Rule| Untrusted {
        file: file.to_path_buf(),
        culprit: culprit.to_path_buf(),
        rule,
    };
    // The real path: a symlink's own owner and mode mean nothing, the
    // target and its directories are what gets read.
    let real = file
        .canonicalize()
        .map_err(|e| refuse(file, Rule::Unreadable(e.to_string())))?;
    for (depth, path) in real.ancestors().enumerate() {
        let shown = if depth == 0 { file } else { path };
        let meta =
            std::fs::metadata(path).map_err(|e| refuse(shown, Rule::Unreadable(e.to_string())))?;
        let uid = meta.uid();
        if uid != 0 && uid != service_uid {
            return Err(refuse(shown, Rule::Owner { uid, service_uid }));
        }
        let mode = meta.mode();
        let sticky_dir = depth > 0 && mode & STICKY != 0;
        if mode & GROUP_OR_OTHER_WRITE != 0 && !sticky_dir {
            return Err(refuse(shown, Rule::Writable { mode }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn set_mode(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn euid() -> u32 {
        unsafe { libc::geteuid() }
    }

    #[test]
    fn a_private_file_passes_and_a_writable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sso-server.toml");
        std::fs::write(&f, "x").unwrap();
        set_mode(&f, 0o644);
        assert_eq!(check_trusted(&f), Ok(()));
        set_mode(&f, 0o664);
        let e = check_trusted(&f).unwrap_err();
        assert_eq!(e.rule, Rule::Writable { mode: 0o100664 });
        let text = e.to_string();
        assert!(text.contains("sso-server.toml"), "{text}");
        assert!(text.contains("writable by group or others"), "{text}");
    }

    #[test]
    fn a_writable_parent_is_refused_unless_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("etc");
        std::fs::create_dir(&sub).unwrap();
        let f = sub.join("secret.key");
        std::fs::write(&f, "x").unwrap();
        set_mode(&f, 0o600);
        set_mode(&sub, 0o777);
        let e = check_trusted(&f).unwrap_err();
        assert_eq!(e.culprit, sub.canonicalize().unwrap());
        assert!(e.to_string().contains("its directory"), "{e}");
        set_mode(&sub, 0o1777);
        assert_eq!(check_trusted(&f), Ok(()));
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("public.key");
        std::fs::write(&f, "x").unwrap();
        // As seen by a service running under some other uid.
        let other = euid().wrapping_add(4242).max(1);
        if euid() != 0 {
            let e = check_trusted_for(&f, other).unwrap_err();
            assert!(matches!(e.rule, Rule::Owner { .. }), "{e}");
        }
        // Root-owned files pass for any service user.
        if euid() == 0 {
            assert_eq!(check_trusted_for(&f, other), Ok(()));
            std::os::unix::fs::chown(&f, Some(other), None).unwrap();
            let e = check_trusted(&f).unwrap_err();
            assert_eq!(
                e.rule,
                Rule::Owner {
                    uid: other,
                    service_uid: 0
                }
            );
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = check_trusted(Path::new("/nonexistent/sso.toml")).unwrap_err();
        assert!(matches!(e.rule, Rule::Unreadable(_)));
        assert!(e.to_string().starts_with("/nonexistent/sso.toml: refused"));
    }
}
