//! Where a realm's files live under the root directory (the layout in
//! [`crate::admin`]), and the parents every realm shares.

use std::path::{Path, PathBuf};

use sso_client::fsutil::ensure_dir_all;

use crate::error::{io_err, RealmError};

/// Environment variable that overrides the root directory of realm files.
pub const ROOT_ENV: &str = "SSO_REALM_ROOT";

/// Administration of the realms under one root directory.
#[derive(Debug, Clone)]
pub struct RealmAdmin {
    root: PathBuf,
}

impl RealmAdmin {
    /// Realms under `root` (`/` in production).
    pub fn new(root: impl Into<PathBuf>) -> RealmAdmin {
        RealmAdmin { root: root.into() }
    }

    /// The root from `--root`, else `$SSO_REALM_ROOT`, else `/`: for the
    /// administration commands only, never for the forced command (whose
    /// environment is partly the ssh client's).
    pub fn from_flag_or_env(flag: Option<PathBuf>) -> RealmAdmin {
        let root = flag
            .or_else(|| std::env::var_os(ROOT_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"));
        RealmAdmin::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of every realm's [`RealmAdmin::config_dir`].
    fn config_parent(&self) -> PathBuf {
        self.root.join("etc/sso/realms")
    }

    /// The directory of every realm's [`RealmAdmin::state_dir`].
    fn state_parent(&self) -> PathBuf {
        self.root.join("var/lib/sso-realm")
    }

    /// Directory of a realm's settings, users and public key.
    pub fn config_dir(&self, realm: &str) -> PathBuf {
        self.config_parent().join(realm)
    }

    /// The realm account's home: its secret key and `.ssh/authorized_keys`.
    pub fn state_dir(&self, realm: &str) -> PathBuf {
        self.state_parent().join(realm)
    }

    /// Creates or fixes the parents of the realm directories as root 0755,
    /// whatever root's umask is: the realm account (running the forced
    /// command) and sshd (reading `authorized_keys` as the account) must
    /// pass through them, and sshd's `StrictModes` wants them owned by root
    /// and not writable by others. Missing directories above them
    /// (`etc/sso`, `var/lib` under a fresh root) are created the same way;
    /// existing ones there are shared with the rest of the system and left
    /// as they are.
    pub(crate) fn ensure_parents(&self) -> Result<(), RealmError> {
        for dir in [self.config_parent(), self.state_parent()] {
            ensure_dir_all(&dir, 0o755, Some((0, 0))).map_err(io_err("set up", &dir))?;
        }
        Ok(())
    }

    pub fn settings_path(&self, realm: &str) -> PathBuf {
        self.config_dir(realm).join("realm.conf")
    }

    pub fn users_path(&self, realm: &str) -> PathBuf {
        self.config_dir(realm).join("users")
    }

    /// The public key file services add as one more `SSOPublicKeyFile`.
    pub fn public_key_path(&self, realm: &str) -> PathBuf {
        self.config_dir(realm).join("public.key")
    }

    pub fn secret_key_path(&self, realm: &str) -> PathBuf {
        self.state_dir(realm).join("secret.key")
    }

    pub fn authorized_keys_path(&self, realm: &str) -> PathBuf {
        self.state_dir(realm).join(".ssh/authorized_keys")
    }
}
