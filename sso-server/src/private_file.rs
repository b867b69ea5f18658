//! Rewrites one of the server's private files (the users file, the TOTP
//! secrets, the WebAuthn credentials) so that a reader sees either the old
//! content or the new one, never half of it, and a full disk leaves the
//! old file as it was: the new text goes to a temporary file of mode 0600
//! in the same directory, is synced, then renamed over the old one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A private file that could not be replaced; the old one is unchanged.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: cannot write: {error}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub error: Arc<std::io::Error>,
}

/// A private file of lines (the WebAuthn credentials, the enrolment codes)
/// that cannot be read, parsed or written; the message names the file, and
/// never holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FileError {
    /// `FILE:LINE: what`.
    #[error("{}:{line}: {problem}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        problem: &'static str,
    },
    #[error("{}: cannot {action}: {error}", path.display())]
    Io {
        path: PathBuf,
        /// `read`, `open`, `lock`.
        action: &'static str,
        error: Arc<std::io::Error>,
    },
    #[error("serialising: {0}")]
    Serialising(String),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The lines of a private file that hold data, numbered from 1, as they
/// are: blank lines and `#` comments are skipped.
pub fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !(l.trim().is_empty() || l.trim_start().starts_with('#')))
        .map(|(i, l)| (i + 1, l))
}

impl FileError {
    /// What is wrong with line `line` of `path`, for `Err`.
    pub fn at(path: &Path, line: usize) -> impl Fn(&'static str) -> FileError + '_ {
        move |problem| FileError::Line {
            path: path.to_owned(),
            line,
            problem,
        }
    }

    /// The error of `action` on `path`, for `map_err`.
    pub fn io<'a>(
        path: &'a Path,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> FileError + 'a {
        move |error| FileError::Io {
            path: path.to_owned(),
            action,
            error: Arc::new(error),
        }
    }
}

/// Replaces `path` with `contents`. The error names the file.
pub fn replace(path: &Path, contents: &str) -> Result<(), WriteError> {
    replace_owned(path, contents, None)
}

/// As [`replace`], the new file given to `owner` (uid, gid) before it is
/// renamed into place, so no reader ever sees it with another owner.
pub fn replace_owned(
    path: &Path,
    contents: &str,
    owner: Option<(u32, u32)>,
) -> Result<(), WriteError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        WriteError {
            path: path.to_owned(),
            error: Arc::new(e),
        }
    })
}

/// A fresh temporary directory and the path of `name` in it (not created),
/// for the tests of the files the server keeps. The directory goes when
/// the `TempDir` is dropped.
#[cfg(test)]
pub(crate) fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_new_text_replaces_the_old_privately_and_leaves_nothing_behind() {
        let (dir, path) = temp_path("users");
        std::fs::write(&path, "old\n").unwrap();
        replace(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary file was left: {left:?}");
    }

    #[test]
    fn a_failed_write_names_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("users");
        let e = replace(&path, "new\n").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: cannot write: ", path.display())),
            "{e}"
        );
    }
}
