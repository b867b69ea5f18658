//! StrictModes-style checks of the files a realm trusts (`realm.conf`, the
//! `users` file, the secret key): whoever can write one of them decides who
//! gets tickets. As sshd checks `authorized_keys`, a file must be a regular
//! file (not a symlink) owned by its expected owner and not writable by
//! group or others. The directories above it follow the rule set every
//! part shares, [`sso_core::file_trust`], with root as the trusted user.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{io_err, RealmError};

const GROUP_OTHER_WRITE: u32 = 0o022;
const GROUP_OTHER_ANY: u32 = 0o077;

/// Who must own a trusted file, and whether others may read it.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub uid: u32,
    /// The owner's name, for the message.
    pub owner: &'a str,
    /// A secret: no access at all for group and others.
    pub private: bool,
}

impl Expected<'_> {
    /// root, readable by everyone, writable by root only.
    pub const ROOT_PUBLIC: Expected<'static> = Expected {
        uid: 0,
        owner: "root",
        private: false,
    };
}

/// Opens `path` without following a symlink in its last component, so the
/// checked metadata is the opened file's own.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// A realm file that fails the ownership and mode rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} must be a regular file owned by {owner}, {rule} (it is {}owned by uid {uid}, mode \
     {mode:04o})",
    path.display(),
    if *not_a_file { "not a file, " } else { "" }
)]
pub struct UntrustedFile {
    pub path: PathBuf,
    pub owner: String,
    pub rule: &'static str,
    pub not_a_file: bool,
    pub uid: u32,
    pub mode: u32,
}

/// Checks a trusted file's own metadata (from [`open_no_follow`] and
/// `File::metadata`, or `symlink_metadata`). The message names the rule.
pub fn check_file(
    path: &Path,
    meta: &Metadata,
    expected: Expected<'_>,
) -> Result<(), UntrustedFile> {
    let forbidden = if expected.private {
        GROUP_OTHER_ANY
    } else {
        GROUP_OTHER_WRITE
    };
    if !meta.is_file() || meta.uid() != expected.uid || meta.mode() & forbidden != 0 {
        let rule = if expected.private {
            "no access for group or others"
        } else {
            "not writable by group or others"
        };
        return Err(UntrustedFile {
            path: path.to_owned(),
            owner: expected.owner.to_owned(),
            rule,
            not_a_file: !meta.is_file(),
            uid: meta.uid(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// Every directory above a realm's file must be root's and writable by no
/// one else (sticky ones pass), whoever runs the command: the one rule set
/// of [`sso_core::file_trust`] with root as the only trusted user.
pub(crate) fn root_s_directories_above(path: &Path) -> Result<(), RealmError> {
    sso_core::file_trust::check_ancestors(path, 0).map_err(|e| RealmError::Damaged(e.to_string()))
}

/// Reads a small trusted file (see [`crate::trust`]): opened without
/// following a symlink, checked for its owner and mode and for the
/// directories above it, refused if larger than `limit`.
pub(crate) fn read_trusted(
    path: &Path,
    expected: Expected<'_>,
    limit: u64,
) -> Result<String, RealmError> {
    let file = open_no_follow(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            RealmError::Damaged(format!(
                "{} is a symlink; it must be a file",
                path.display()
            ))
        } else {
            io_err("read", path)(e)
        }
    })?;
    let meta = file.metadata().map_err(io_err("read", path))?;
    check_file(path, &meta, expected).map_err(|e| RealmError::Damaged(e.to_string()))?;
    root_s_directories_above(path)?;
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(io_err("read", path))?;
    if text.len() as u64 > limit {
        return Err(RealmError::Damaged(format!(
            "{} is too large",
            path.display()
        )));
    }
    Ok(text)
}

/// Reads a public key file given to `add`, refusing one larger than `limit`.
pub(crate) fn read_limited(path: &Path, limit: u64) -> io::Result<String> {
    let file = File::open(path)?;
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "file is too large",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn files_need_their_owner_and_no_foreign_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("realm.conf");
        fs::write(&file, "x").unwrap();
        let me = sso_client::fsutil::effective_uid();
        let expected = Expected {
            uid: me,
            owner: "me",
            private: false,
        };
        for (m, ok) in [(0o644, true), (0o600, true), (0o664, false), (0o646, false)] {
            mode(&file, m);
            let meta = open_no_follow(&file).unwrap().metadata().unwrap();
            let result = check_file(&file, &meta, expected);
            assert_eq!(result.is_ok(), ok, "{m:o}: {result:?}");
            if let Err(e) = result {
                assert!(
                    e.to_string().contains("not writable by group or others"),
                    "{e}"
                );
            }
        }
        let private = Expected {
            private: true,
            ..expected
        };
        mode(&file, 0o440);
        let meta = fs::metadata(&file).unwrap();
        let err = check_file(&file, &meta, private).unwrap_err().to_string();
        assert!(err.contains("no access for group or others"), "{err}");
        mode(&file, 0o400);
        check_file(&file, &fs::metadata(&file).unwrap(), private).unwrap();
        let other_owner = Expected {
            uid: me + 1,
            owner: "someone",
            private: false,
        };
        let err = check_file(&file, &fs::metadata(&file).unwrap(), other_owner)
            .unwrap_err()
            .to_string();
        assert!(err.contains("owned by someone"), "{err}");
    }

    #[test]
    fn symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("target"), "x").unwrap();
        std::os::unix::fs::symlink("target", dir.path().join("link")).unwrap();
        assert!(open_no_follow(&dir.path().join("link")).is_err());
    }
}
