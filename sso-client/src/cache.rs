//! The client's ticket cache: one file per realm destination and service in
//! `$XDG_CACHE_HOME/sso` (or `~/.cache/sso`), directory mode 0700, files
//! mode 0600. A file that someone else owns or could read is ignored.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sso_core::{decode_unverified, MAX_TICKET_LEN};

use crate::fsutil::{effective_uid, write_atomic};

/// A cached ticket is reused only while it has at least this many seconds
/// left, so it does not expire on its way to the server.
pub const MIN_REMAINING_SECS: u64 = 10;

#[derive(Debug, Clone)]
pub struct TicketCache {
    dir: PathBuf,
}

impl TicketCache {
    /// `$XDG_CACHE_HOME/sso` if that is an absolute path, else `$HOME/.cache/sso`.
    pub fn default_dir() -> Option<PathBuf> {
        let xdg = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let base = xdg.or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".cache"))
        })?;
        Some(base.join("sso"))
    }

    /// The cache in the user's default cache directory.
    pub fn open_default() -> Result<TicketCache, String> {
        TicketCache::default_dir()
            .map(TicketCache::new)
            .ok_or_else(|| "no cache directory: set XDG_CACHE_HOME or HOME".to_string())
    }

    pub fn new(dir: impl Into<PathBuf>) -> TicketCache {
        TicketCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of one destination and service (`None`: the realm default).
    pub fn entry_path(&self, destination: &str, service: Option<&str>) -> PathBuf {
        let mut h = Sha256::new();
        h.update(destination.as_bytes());
        h.update([0]);
        h.update(service.unwrap_or("").as_bytes());
        let hex: String = h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("ticket-{hex}"))
    }

    /// A cached ticket with at least [`MIN_REMAINING_SECS`] left at `now`
    /// (by its own, unverified, expiry), if any.
    pub fn load(&self, destination: &str, service: Option<&str>, now: u64) -> Option<String> {
        let path = self.entry_path(destination, service);
        let file = File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.uid() != effective_uid() || meta.mode() & 0o077 != 0 {
            return None;
        }
        let mut text = String::new();
        file.take(MAX_TICKET_LEN as u64 + 2)
            .read_to_string(&mut text)
            .ok()?;
        let ticket = text.trim();
        let decoded = decode_unverified(ticket).ok()?;
        if let Some(service) = service {
            if decoded.service != service {
                return None;
            }
        }
        (decoded.expires >= now.saturating_add(MIN_REMAINING_SECS)).then(|| ticket.to_owned())
    }

    /// Stores a ticket (mode 0600, the directory 0700).
    pub fn store(&self, destination: &str, service: Option<&str>, ticket: &str) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))?;
        let path = self.entry_path(destination, service);
        write_atomic(&path, format!("{ticket}\n").as_bytes(), 0o600, None)
    }

    /// Drops a cached ticket (missing is fine).
    pub fn forget(&self, destination: &str, service: Option<&str>) -> io::Result<()> {
        match fs::remove_file(self.entry_path(destination, service)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sso_core::{SecretKey, Signer, Ticket};

    fn ticket(service: &str, expires: u64) -> String {
        Signer::new(SecretKey::generate())
            .sign(&Ticket::new("alice", service, "example.org", expires))
            .unwrap()
    }

    #[test]
    fn stores_privately_and_reuses_until_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TicketCache::new(dir.path().join("sso"));
        let t = ticket("a.example.org/", 1000);
        assert_eq!(cache.load("api@h", Some("a.example.org/"), 0), None);
        cache.store("api@h", Some("a.example.org/"), &t).unwrap();
        let path = cache.entry_path("api@h", Some("a.example.org/"));
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(cache.dir()).unwrap().mode() & 0o777, 0o700);
        assert_eq!(
            cache.load("api@h", Some("a.example.org/"), 500).as_deref(),
            Some(t.as_str())
        );
        // Other destinations and services have their own entries.
        assert_eq!(cache.load("api@other", Some("a.example.org/"), 500), None);
        assert_eq!(cache.load("api@h", None, 500), None);
        // Near or past expiry it is not reused.
        assert_eq!(cache.load("api@h", Some("a.example.org/"), 995), None);
        assert_eq!(cache.load("api@h", Some("a.example.org/"), 2000), None);
        cache.forget("api@h", Some("a.example.org/")).unwrap();
        cache.forget("api@h", Some("a.example.org/")).unwrap();
        assert_eq!(cache.load("api@h", Some("a.example.org/"), 500), None);
    }

    #[test]
    fn ignores_readable_or_garbage_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TicketCache::new(dir.path());
        let t = ticket("a.example.org/", 1000);
        cache.store("api@h", None, &t).unwrap();
        let path = cache.entry_path("api@h", None);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(cache.load("api@h", None, 0), None);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(cache.load("api@h", None, 0).is_some());
        fs::write(&path, "garbage").unwrap();
        assert_eq!(cache.load("api@h", None, 0), None);
    }
}
