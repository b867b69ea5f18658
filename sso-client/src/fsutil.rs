//! Small file helpers: atomic rewrites with the final owner and mode,
//! directories with a fixed owner and mode, and the effective user id that
//! owner checks compare with.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Owner (uid, gid) of a file to create; `None` keeps the creating user.
pub type Owner = Option<(u32, u32)>;

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory is created with `mode`, given its owner, synced and renamed
/// over `path`. A reader sees the old or the new content, never a mix, and
/// never the content with a wrong owner or mode.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, owner: Owner) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        if let Some((uid, gid)) = owner {
            fchown(&file, Some(uid), Some(gid))?;
        }
        // The umask may have narrowed the mode at creation; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` (not its parents) if missing, then sets its owner and mode
/// and checks it is a real directory, not a symlink.
pub fn ensure_dir(path: &Path, mode: u32, owner: Owner) -> io::Result<()> {
    match fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", path.display()),
        ));
    }
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// [`ensure_dir`] of `path`, after creating each missing parent the same
/// way. Unlike `fs::create_dir_all`, what it creates gets exactly `mode`
/// and `owner`, whatever the umask; parents that exist already (or are
/// symlinks) are left as they are.
pub fn ensure_dir_all(path: &Path, mode: u32, owner: Owner) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        match fs::symlink_metadata(parent) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => ensure_dir_all(parent, mode, owner)?,
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    ensure_dir(path, mode, owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one", 0o600, None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
        write_atomic(&p, b"two", 0o644, None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o644);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn ensure_dir_fixes_mode_and_refuses_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        ensure_dir(&d, 0o700, None).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        ensure_dir(&d, 0o755, None).unwrap();
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, 0o755);
        let f = dir.path().join("f");
        fs::write(&f, b"").unwrap();
        assert!(ensure_dir(&f, 0o755, None).is_err());
    }

    #[test]
    fn ensure_dir_all_sets_the_mode_of_what_it_creates_only() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("existing");
        fs::create_dir(&existing).unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o700)).unwrap();
        let leaf = existing.join("a/b/c");
        // 0775 is wider than the usual umask lets through: set, not masked.
        ensure_dir_all(&leaf, 0o775, None).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            let mode = fs::metadata(existing.join(d)).unwrap().mode() & 0o7777;
            assert_eq!(mode, 0o775, "{d}");
        }
        assert_eq!(fs::metadata(&existing).unwrap().mode() & 0o7777, 0o700);
        // The leaf is fixed when it exists already.
        fs::set_permissions(&leaf, fs::Permissions::from_mode(0o700)).unwrap();
        ensure_dir_all(&leaf, 0o755, None).unwrap();
        assert_eq!(fs::metadata(&leaf).unwrap().mode() & 0o7777, 0o755);
    }
}
