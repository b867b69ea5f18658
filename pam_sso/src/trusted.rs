//! Which key files the module trusts. pam_sso runs inside su, sudo and
//! sshd: whoever can write a public key file it reads can mint tickets for
//! any user, root included. So a key file, and every directory above it,
//! must be writable by no one but root (or the user the host process runs
//! as, who could change the process anyway), in the manner of OpenSSH's
//! StrictModes. The manual page `docs/pam_sso.8` states the rules.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Group-writable and other-writable permission bits.
const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
/// The sticky bit: in such a directory only an entry's owner (or the
/// directory's owner, or root) may rename or remove the entry.
const STICKY: u32 = 0o1000;

/// The rule a file or directory breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Owned by someone other than root and the process's user.
    Owner(u32),
    /// Writable by its group.
    GroupWritable,
    /// Writable by others.
    OtherWritable,
}

/// A key file that the module refuses to read, with the path that broke a
/// rule (the file itself or one of its directories).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    pub key: PathBuf,
    pub culprit: PathBuf,
    pub is_directory: bool,
    pub rule: Rule,
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "untrusted key file {}: ", self.key.display())?;
        let what = if self.is_directory {
            "directory"
        } else {
            "the file"
        };
        if self.is_directory {
            write!(f, "{what} {} ", self.culprit.display())?;
        } else {
            write!(f, "{what} ")?;
        }
        match self.rule {
            Rule::Owner(uid) => write!(f, "is owned by uid {uid}, not root")?,
            Rule::GroupWritable => f.write_str("is writable by its group")?,
            Rule::OtherWritable => f.write_str("is writable by others")?,
        }
        f.write_str(
            " (a key file and its directories must be owned by root and writable by no one else)",
        )
    }
}

/// Judges one path's owner and mode. `trusted_uid` is the process's
/// effective user (root for su, sudo and sshd). A directory that others may
/// write is accepted only with the sticky bit and a trusted owner (as /tmp):
/// then no one else can rename or remove the trusted entry below it.
pub fn judge(uid: u32, mode: u32, is_directory: bool, trusted_uid: u32) -> Option<Rule> {
    if uid != 0 && uid != trusted_uid {
        return Some(Rule::Owner(uid));
    }
    if is_directory && mode & STICKY != 0 {
        return None;
    }
    if mode & GROUP_WRITE != 0 {
        return Some(Rule::GroupWritable);
    }
    if mode & OTHER_WRITE != 0 {
        return Some(Rule::OtherWritable);
    }
    None
}

/// Resolves `key` (symbolic links included) and checks it and every
/// directory above it. Returns the resolved path to read, so that what was
/// checked is what is read. `Ok(None)` when the path does not resolve (the
/// caller's read then reports the missing or unreadable file as such).
pub fn check_key_file(key: &Path, trusted_uid: u32) -> Result<Option<PathBuf>, Untrusted> {
    let Ok(resolved) = std::fs::canonicalize(key) else {
        return Ok(None);
    };
    // Directories from the root down, then the file itself.
    let mut chain: Vec<&Path> = resolved.ancestors().collect();
    chain.reverse();
    for path in chain {
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(None);
        };
        let is_directory = meta.is_dir();
        if let Some(rule) = judge(meta.uid(), meta.mode(), is_directory, trusted_uid) {
            return Err(Untrusted {
                key: key.to_owned(),
                culprit: path.to_owned(),
                is_directory,
                rule,
            });
        }
    }
    Ok(Some(resolved))
}

/// The process's effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_rules() {
        assert_eq!(judge(0, 0o100644, false, 0), None);
        assert_eq!(judge(0, 0o100600, false, 1000), None);
        assert_eq!(judge(1000, 0o100644, false, 1000), None);
        assert_eq!(judge(1000, 0o100644, false, 0), Some(Rule::Owner(1000)));
        assert_eq!(judge(0, 0o100664, false, 0), Some(Rule::GroupWritable));
        assert_eq!(judge(0, 0o100646, false, 0), Some(Rule::OtherWritable));
        assert_eq!(judge(0, 0o040755, true, 0), None);
        assert_eq!(judge(0, 0o040775, true, 0), Some(Rule::GroupWritable));
        assert_eq!(judge(0, 0o040757, true, 0), Some(Rule::OtherWritable));
        assert_eq!(judge(0, 0o040777, true, 0), Some(Rule::GroupWritable));
        // /tmp: sticky, owned by root.
        assert_eq!(judge(0, 0o041777, true, 0), None);
        assert_eq!(judge(1000, 0o041777, true, 0), Some(Rule::Owner(1000)));
        // A sticky bit on a file protects nothing.
        assert_eq!(judge(0, 0o101666, false, 0), Some(Rule::GroupWritable));
    }

    #[test]
    fn a_writable_file_or_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("public.key");
        std::fs::write(&key, [7u8; 32]).unwrap();
        let me = effective_uid();
        let resolved = check_key_file(&key, me).unwrap().unwrap();
        assert_eq!(resolved, std::fs::canonicalize(&key).unwrap());

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = check_key_file(&key, me).unwrap_err();
        assert_eq!((e.rule, e.is_directory), (Rule::GroupWritable, false));
        let text = e.to_string();
        assert!(text.contains(&key.display().to_string()), "{text}");
        assert!(text.contains("is writable by its group"), "{text}");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_key_file(&key, me).unwrap_err();
        assert_eq!(e.rule, Rule::GroupWritable);
        assert!(e.is_directory);
        assert_eq!(e.culprit, std::fs::canonicalize(dir.path()).unwrap());
        assert!(e.to_string().contains("directory "), "{e}");

        assert_eq!(check_key_file(&dir.path().join("missing"), me), Ok(None));
    }
}
