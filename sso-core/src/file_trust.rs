//! Which files a process may trust, in the manner of OpenSSH's StrictModes.
//!
//! Whoever can write a public key file can mint tickets for any user;
//! whoever can write the login server's configuration or secret key can
//! seal sessions; whoever can rename an entry in a directory above such a
//! file can swap it. So a trusted file, and every directory above it up to
//! `/`, must be owned by root or by the user the process runs as (who could
//! change the process anyway), and writable by no one else. A directory
//! that others may write passes only with the sticky bit and a trusted
//! owner (as `/tmp`): there no one else can rename or remove the trusted
//! entry below it.
//!
//! One rule set for every consumer: mod_sso (`SSOPublicKeyFile`), pam_sso
//! (`key=`), the login server (its configuration, keys and TLS files) and
//! the ssh token realms (the directories above `realm.conf`, `users` and
//! the secret key).

use std::fmt;
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
/// In a sticky directory only an entry's owner (or the directory's owner,
/// or root) may rename or remove the entry.
const STICKY: u32 = 0o1000;

/// The rule a file or directory breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Owned by someone who is neither root nor the trusted user.
    Owner { uid: u32, trusted_uid: u32 },
    /// Writable by its group.
    GroupWritable { mode: u32 },
    /// Writable by others.
    OtherWritable { mode: u32 },
    /// It could not be examined (missing, unreadable directory): the
    /// caller's read then reports it as such.
    Unreadable(String),
}

/// A file that is refused, with the path that broke a rule: the file
/// itself or one of the directories above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The file as it was named.
    pub file: PathBuf,
    /// The path that breaks the rule (resolved when it is a directory).
    pub culprit: PathBuf,
    pub is_directory: bool,
    pub rule: Rule,
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: refused: ", self.file.display())?;
        if self.is_directory {
            write!(f, "its directory {} ", self.culprit.display())?;
        }
        let mode = |m: &u32| m & 0o7777;
        match &self.rule {
            Rule::Owner {
                uid,
                trusted_uid: 0,
            } => {
                write!(f, "is owned by uid {uid}, not by root")
            }
            Rule::Owner { uid, trusted_uid } => write!(
                f,
                "is owned by uid {uid}, not by root or the user the process runs as \
                 (uid {trusted_uid})"
            ),
            Rule::GroupWritable { mode: m } => write!(
                f,
                "is writable by its group (mode {:04o}); run chmod go-w on it",
                mode(m)
            ),
            Rule::OtherWritable { mode: m } => write!(
                f,
                "is writable by others (mode {:04o}); run chmod go-w on it",
                mode(m)
            ),
            Rule::Unreadable(e) => write!(f, "cannot be examined: {e}"),
        }
    }
}

impl std::error::Error for Untrusted {}

/// Judges one path's owner and mode for a process trusting root and
/// `trusted_uid`.
pub fn judge(uid: u32, mode: u32, is_directory: bool, trusted_uid: u32) -> Option<Rule> {
    if uid != 0 && uid != trusted_uid {
        return Some(Rule::Owner { uid, trusted_uid });
    }
    if is_directory && mode & STICKY != 0 {
        return None;
    }
    if mode & GROUP_WRITE != 0 {
        return Some(Rule::GroupWritable { mode });
    }
    if mode & OTHER_WRITE != 0 {
        return Some(Rule::OtherWritable { mode });
    }
    None
}

/// Resolves `file` (symbolic links included, so that what is checked is
/// what the kernel opens) and checks it and every directory above it.
/// Returns the resolved path: read that one, not `file`, so a link swapped
/// after the check changes nothing.
pub fn check_file(file: &Path, trusted_uid: u32) -> Result<PathBuf, Untrusted> {
    let unreadable = |e: std::io::Error| Untrusted {
        file: file.to_owned(),
        culprit: file.to_owned(),
        is_directory: false,
        rule: Rule::Unreadable(e.to_string()),
    };
    let resolved = file.canonicalize().map_err(unreadable)?;
    let meta = std::fs::metadata(&resolved).map_err(unreadable)?;
    if let Some(rule) = judge(meta.uid(), meta.mode(), meta.is_dir(), trusted_uid) {
        return Err(Untrusted {
            file: file.to_owned(),
            culprit: file.to_owned(),
            is_directory: false,
            rule,
        });
    }
    if let Some(parent) = resolved.parent() {
        check_directories(file, parent, trusted_uid)?;
    }
    Ok(resolved)
}

/// A trusted file (or directory), opened: read it through `file`, the very
/// file whose owner and mode were judged, so nothing swapped in after the
/// check is read.
#[derive(Debug)]
pub struct Opened {
    /// The resolved path that was checked.
    pub path: PathBuf,
    pub file: File,
}

/// Resolves `file`, opens the result (refusing a symbolic link put there
/// since), judges the open file itself (`fstat`), then checks every
/// directory above it and that the resolved path still names the opened
/// file. What the caller reads through [`Opened::file`] is then exactly
/// what was checked. A directory may be opened too (to be listed through
/// its resolved path, whose directories are trusted).
pub fn open_file(file: &Path, trusted_uid: u32) -> Result<Opened, Untrusted> {
    let refuse = |rule| Untrusted {
        file: file.to_owned(),
        culprit: file.to_owned(),
        is_directory: false,
        rule,
    };
    let unreadable = |e: std::io::Error| refuse(Rule::Unreadable(e.to_string()));
    let resolved = file.canonicalize().map_err(unreadable)?;
    // O_NONBLOCK: a FIFO put there must not hang the open.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&resolved)
        .map_err(unreadable)?;
    let meta = opened.metadata().map_err(unreadable)?;
    if let Some(rule) = judge(meta.uid(), meta.mode(), meta.is_dir(), trusted_uid) {
        return Err(refuse(rule));
    }
    if let Some(parent) = resolved.parent() {
        check_directories(file, parent, trusted_uid)?;
    }
    let now = std::fs::symlink_metadata(&resolved).map_err(unreadable)?;
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        return Err(refuse(Rule::Unreadable(format!(
            "{} was replaced while it was checked",
            resolved.display()
        ))));
    }
    Ok(Opened {
        path: resolved,
        file: opened,
    })
}

/// Checks every directory above `file` up to `/` (resolved as the kernel
/// resolves them when the file is opened), for a file that is itself
/// checked otherwise (opened without following links, say).
pub fn check_ancestors(file: &Path, trusted_uid: u32) -> Result<(), Untrusted> {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let resolved = parent.canonicalize().map_err(|e| Untrusted {
        file: file.to_owned(),
        culprit: parent.to_owned(),
        is_directory: true,
        rule: Rule::Unreadable(e.to_string()),
    })?;
    check_directories(file, &resolved, trusted_uid)
}

/// Checks `first` (a resolved directory) and every directory above it.
fn check_directories(file: &Path, first: &Path, trusted_uid: u32) -> Result<(), Untrusted> {
    for dir in first.ancestors() {
        let refuse = |rule| Untrusted {
            file: file.to_owned(),
            culprit: dir.to_owned(),
            is_directory: true,
            rule,
        };
        let meta = std::fs::metadata(dir).map_err(|e| refuse(Rule::Unreadable(e.to_string())))?;
        if let Some(rule) = judge(meta.uid(), meta.mode(), true, trusted_uid) {
            return Err(refuse(rule));
        }
    }
    Ok(())
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

    fn set_mode(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_rules() {
        let group = |mode| Some(Rule::GroupWritable { mode });
        let other = |mode| Some(Rule::OtherWritable { mode });
        let owner = |uid, trusted_uid| Some(Rule::Owner { uid, trusted_uid });
        assert_eq!(judge(0, 0o100644, false, 0), None);
        assert_eq!(judge(0, 0o100600, false, 1000), None);
        assert_eq!(judge(1000, 0o100644, false, 1000), None);
        assert_eq!(judge(1000, 0o100644, false, 0), owner(1000, 0));
        assert_eq!(judge(0, 0o100664, false, 0), group(0o100664));
        assert_eq!(judge(0, 0o100646, false, 0), other(0o100646));
        assert_eq!(judge(0, 0o040755, true, 0), None);
        assert_eq!(judge(0, 0o040775, true, 0), group(0o040775));
        assert_eq!(judge(0, 0o040757, true, 0), other(0o040757));
        assert_eq!(judge(0, 0o040777, true, 0), group(0o040777));
        // /tmp: sticky, owned by root; a sticky directory of a stranger is not.
        assert_eq!(judge(0, 0o041777, true, 0), None);
        assert_eq!(judge(1000, 0o041777, true, 0), owner(1000, 0));
        // A sticky bit on a file protects nothing.
        assert_eq!(judge(0, 0o101666, false, 0), group(0o101666));
    }

    #[test]
    fn a_writable_file_or_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("etc");
        std::fs::create_dir(&sub).unwrap();
        set_mode(&sub, 0o755);
        let key = sub.join("public.key");
        std::fs::write(&key, [7u8; 32]).unwrap();
        set_mode(&key, 0o644);
        let me = effective_uid();
        assert_eq!(check_file(&key, me), Ok(key.canonicalize().unwrap()));
        assert_eq!(check_ancestors(&key, me), Ok(()));

        set_mode(&key, 0o664);
        let e = check_file(&key, me).unwrap_err();
        assert_eq!(e.rule, Rule::GroupWritable { mode: 0o100664 });
        assert!(!e.is_directory);
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{}: refused: is writable by its group (mode 0664)",
                key.display()
            )),
            "{text}"
        );
        // The file's own mode is not the business of check_ancestors.
        assert_eq!(check_ancestors(&key, me), Ok(()));
        set_mode(&key, 0o644);

        set_mode(&sub, 0o777);
        for e in [
            check_file(&key, me).unwrap_err(),
            check_ancestors(&key, me).unwrap_err(),
        ] {
            assert_eq!(e.rule, Rule::GroupWritable { mode: 0o040777 });
            assert_eq!(e.culprit, sub.canonicalize().unwrap());
            assert!(
                e.to_string().contains(&format!(
                    "its directory {} is writable",
                    e.culprit.display()
                )),
                "{e}"
            );
        }
        set_mode(&sub, 0o1777);
        assert!(check_file(&key, me).is_ok());
    }

    #[test]
    fn open_file_judges_what_it_opened_and_returns_it() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.conf");
        std::fs::write(&target, "checked").unwrap();
        set_mode(&target, 0o644);
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let me = effective_uid();
        let mut opened = open_file(&link, me).unwrap();
        assert_eq!(opened.path, target.canonicalize().unwrap());
        // Swapping the link after the check changes nothing: the open file is read.
        let other = dir.path().join("other.conf");
        std::fs::write(&other, "swapped").unwrap();
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let mut text = String::new();
        opened.file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "checked");

        set_mode(&target, 0o664);
        let e = open_file(&target, me).unwrap_err();
        assert_eq!(e.rule, Rule::GroupWritable { mode: 0o100664 });
        set_mode(&target, 0o644);
        set_mode(dir.path(), 0o777);
        let e = open_file(&target, me).unwrap_err();
        assert!(e.is_directory, "{e}");
        set_mode(dir.path(), 0o700);
        assert!(open_file(dir.path(), me).is_ok());
        let e = open_file(&dir.path().join("missing"), me).unwrap_err();
        assert!(matches!(e.rule, Rule::Unreadable(_)), "{e}");
    }

    #[test]
    fn a_link_is_judged_by_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.key");
        std::fs::write(&target, [7u8; 32]).unwrap();
        set_mode(&target, 0o666);
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = check_file(&link, effective_uid()).unwrap_err();
        assert_eq!(e.file, link);
        assert!(matches!(e.rule, Rule::GroupWritable { .. }), "{e}");
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("public.key");
        std::fs::write(&f, "x").unwrap();
        let me = effective_uid();
        let other = me.wrapping_add(4242).max(1);
        if me != 0 {
            // Seen by a process that runs as some other user.
            let e = check_file(&f, other).unwrap_err();
            assert_eq!(
                e.rule,
                Rule::Owner {
                    uid: me,
                    trusted_uid: other
                }
            );
        } else {
            std::os::unix::fs::chown(&f, Some(other), None).unwrap();
            let e = check_file(&f, 0).unwrap_err();
            assert_eq!(
                e.rule,
                Rule::Owner {
                    uid: other,
                    trusted_uid: 0
                }
            );
            assert!(e.to_string().ends_with("not by root"), "{e}");
            assert!(check_file(&f, other).is_ok());
        }
    }

    #[test]
    fn a_missing_file_is_unreadable_not_untrusted() {
        let e = check_file(Path::new("/nonexistent/sso.key"), 0).unwrap_err();
        assert!(matches!(e.rule, Rule::Unreadable(_)));
        assert!(e
            .to_string()
            .starts_with("/nonexistent/sso.key: refused: cannot be examined"));
    }
}
