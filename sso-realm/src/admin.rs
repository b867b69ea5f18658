//! Token realms: a system account whose `authorized_keys` forces every key
//! to run `ssotool realm issue`, plus the realm's own Ed25519 key pair and
//! settings.
//!
//! Layout under a root directory (`/` in production; tests use a private
//! one, see `SSO_REALM_ROOT`):
//!
//! ```text
//! ROOT/etc/sso/realms/                 root 0755
//! ROOT/etc/sso/realms/NAME/            root 0755
//!     realm.conf                        root 0644  settings
//!     users                             root 0644  user, groups, key per line
//!     public.key                        root 0644  raw 32-byte ai-sso public key
//!     .lock                             root 0600  serialises administration
//! ROOT/var/lib/sso-realm/              root 0755
//! ROOT/var/lib/sso-realm/NAME/          root 0755  the account's home
//!     secret.key                        NAME 0400  raw 64-byte secret key
//!     .ssh/                             root 0755
//!     .ssh/authorized_keys              root 0644  generated, never edited
//! ```
//!
//! Everything the account can reach is owned by root except its secret key,
//! so the account can neither change its keys nor its settings.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sso_core::SecretKey;

use sso_client::fsutil::{ensure_dir, write_atomic};
use sso_client::names::{check_command_path, check_group_name, check_realm_name, check_user_name};

use crate::account::{self, Account};
use crate::authorized_keys::{authorized_line, forced_command, PublicKeyLine};
use crate::error::io_err;
pub use crate::error::RealmError;
pub use crate::layout::{RealmAdmin, ROOT_ENV};
use crate::settings::RealmSettings;
use crate::trust::{read_limited, read_trusted, root_s_directories_above, Expected};
use crate::users::{parse_users, users_text, RealmUser};

/// Default ticket lifetime of a realm, in seconds.
pub const DEFAULT_TTL: u64 = 3600;
/// Largest public key file `add` reads.
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;
/// Largest settings or users file read.
const MAX_STATE_FILE_LEN: u64 = 4 * 1024 * 1024;

/// A held administration lock (released on drop, when the file closes).
struct AdminLock(#[allow(dead_code)] File);

impl RealmAdmin {
    /// The root as the forced command's `--root` spells it (`/` too: see
    /// [`forced_command`]).
    fn root_for_command(&self) -> Result<String, RealmError> {
        let root = self
            .root()
            .to_str()
            .ok_or_else(|| RealmError::Invalid("the realm root is not UTF-8".into()))?;
        let trimmed = root.trim_end_matches('/');
        let root = if trimmed.is_empty() && !root.is_empty() {
            "/"
        } else {
            trimmed
        };
        check_command_path(root).map_err(RealmError::Invalid)?;
        Ok(root.to_owned())
    }

    fn require_root() -> Result<(), RealmError> {
        if sso_client::fsutil::effective_uid() != 0 {
            return Err(RealmError::NotRoot);
        }
        Ok(())
    }

    fn lock(&self, realm: &str) -> Result<AdminLock, RealmError> {
        let path = self.config_dir(realm).join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err("open lock file", &path))?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
        if rc != 0 {
            return Err(io_err("lock", &path)(io::Error::last_os_error()));
        }
        Ok(AdminLock(file))
    }

    /// Reads a realm's settings; `UnknownRealm` if there are none.
    pub fn load_settings(&self, realm: &str) -> Result<RealmSettings, RealmError> {
        let (text, path) = self.settings_text(realm)?;
        let settings = RealmSettings::parse(&text)
            .map_err(|e| RealmError::Damaged(format!("{}: {e}", path.display())))?;
        Self::check_settings_name(&settings, realm, &path)?;
        Ok(settings)
    }

    /// The text of `realm.conf` (a trusted file) and its path.
    fn settings_text(&self, realm: &str) -> Result<(String, PathBuf), RealmError> {
        check_realm_name(realm).map_err(RealmError::Invalid)?;
        let path = self.settings_path(realm);
        if let Err(e) = fs::symlink_metadata(&path) {
            if e.kind() == io::ErrorKind::NotFound {
                return Err(RealmError::UnknownRealm {
                    realm: realm.to_owned(),
                    path,
                });
            }
        }
        let text = read_trusted(&path, Expected::ROOT_PUBLIC, MAX_STATE_FILE_LEN)?;
        Ok((text, path))
    }

    fn check_settings_name(
        settings: &RealmSettings,
        realm: &str,
        path: &Path,
    ) -> Result<(), RealmError> {
        if settings.name != realm {
            return Err(RealmError::Damaged(format!(
                "{}: names realm {}, not {realm}",
                path.display(),
                settings.name
            )));
        }
        Ok(())
    }

    /// [`RealmAdmin::load_settings`] that also reads the old `key = value`
    /// format; `true` if it did (the caller rewrites the file as TOML).
    fn load_settings_for_migration(
        &self,
        realm: &str,
    ) -> Result<(RealmSettings, bool), RealmError> {
        let (text, path) = self.settings_text(realm)?;
        let (settings, legacy) = RealmSettings::parse_or_migrate(&text)
            .map_err(|e| RealmError::Damaged(format!("{}: {e}", path.display())))?;
        Self::check_settings_name(&settings, realm, &path)?;
        Ok((settings, legacy))
    }

    fn write_settings(&self, settings: &RealmSettings) -> Result<(), RealmError> {
        let path = self.settings_path(&settings.name);
        write_atomic(&path, settings.to_toml().as_bytes(), 0o644, Some((0, 0)))
            .map_err(io_err("write", &path))
    }

    /// Reads a realm's users (a trusted file, like `realm.conf`).
    pub fn load_users(&self, realm: &str) -> Result<Vec<RealmUser>, RealmError> {
        let path = self.users_path(realm);
        let text = read_trusted(&path, Expected::ROOT_PUBLIC, MAX_STATE_FILE_LEN)?;
        parse_users(&text).map_err(|e| RealmError::Damaged(format!("{}: {e}", path.display())))
    }

    /// The realm's account, checked to really be this realm's: its home
    /// must be the realm's state directory.
    pub fn realm_account(&self, realm: &str) -> Result<Account, RealmError> {
        let acct = account::lookup(realm)
            .map_err(RealmError::Account)?
            .ok_or_else(|| {
                RealmError::Damaged(format!(
                    "the system account of realm {realm} is missing; delete and re-create the realm"
                ))
            })?;
        if acct.home != self.state_dir(realm) {
            return Err(RealmError::AccountTaken(realm.to_owned()));
        }
        Ok(acct)
    }

    /// Creates a realm: the system account, its home, key pair, settings
    /// and an empty managed `authorized_keys`. Returns the settings; the
    /// public key is at [`RealmAdmin::public_key_path`].
    pub fn init(
        &self,
        realm: &str,
        domain: &str,
        services: &[String],
        ttl: u64,
        issuer: &Path,
    ) -> Result<RealmSettings, RealmError> {
        let settings = RealmSettings {
            name: realm.to_owned(),
            domain: domain.to_owned(),
            services: services.to_vec(),
            ttl,
            issuer: issuer
                .to_str()
                .ok_or_else(|| RealmError::Invalid("the ssotool path is not UTF-8".into()))?
                .to_owned(),
        };
        settings
            .validate()
            .map_err(|e| RealmError::Invalid(e.to_string()))?;
        Self::require_root()?;
        self.root_for_command()?;
        if account::lookup(realm)
            .map_err(RealmError::Account)?
            .is_some()
        {
            return Err(if self.settings_path(realm).exists() {
                RealmError::RealmExists(realm.to_owned())
            } else {
                RealmError::AccountTaken(realm.to_owned())
            });
        }
        let config = self.config_dir(realm);
        let state = self.state_dir(realm);
        for dir in [&config, &state] {
            if fs::symlink_metadata(dir).is_ok() {
                return Err(RealmError::RealmExists(format!(
                    "{realm} (left-over {}; remove it or run `ssotool realm delete {realm}`)",
                    dir.display()
                )));
            }
        }
        self.ensure_parents()?;
        fs::create_dir(&config).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                RealmError::RealmExists(realm.to_owned())
            } else {
                io_err("create", &config)(e)
            }
        })?;
        let result = self.init_inner(&settings);
        if result.is_err() {
            // Undo a half-made realm, but never an account we did not make.
            if let Ok(Some(acct)) = account::lookup(realm) {
                if acct.home == state {
                    let _ = account::delete_account(realm);
                }
            }
            let _ = fs::remove_dir_all(&state);
            let _ = fs::remove_dir_all(&config);
        }
        result.map(|()| settings)
    }

    fn init_inner(&self, settings: &RealmSettings) -> Result<(), RealmError> {
        let realm = settings.name.as_str();
        let config = self.config_dir(realm);
        let state = self.state_dir(realm);
        ensure_dir(&config, 0o755, Some((0, 0))).map_err(io_err("set up", &config))?;
        let _lock = self.lock(realm)?;
        let acct = account::create_system_account(realm, &state, &settings.issuer)
            .map_err(RealmError::Account)?;

        ensure_dir(&state, 0o755, Some((0, 0))).map_err(io_err("create", &state))?;
        let ssh_dir = state.join(".ssh");
        ensure_dir(&ssh_dir, 0o755, Some((0, 0))).map_err(io_err("create", &ssh_dir))?;

        let secret = SecretKey::generate();
        let mut raw = secret.to_raw();
        let secret_path = self.secret_key_path(realm);
        let written = write_atomic(&secret_path, &raw, 0o400, Some((acct.uid, acct.gid)));
        raw.fill(0);
        written.map_err(io_err("write", &secret_path))?;
        let public_path = self.public_key_path(realm);
        write_atomic(
            &public_path,
            &secret.public_key().to_raw(),
            0o644,
            Some((0, 0)),
        )
        .map_err(io_err("write", &public_path))?;

        self.write_settings(settings)?;
        self.write_users(realm, &[])?;
        self.write_authorized_keys(settings, &[])?;
        Ok(())
    }

    fn write_users(&self, realm: &str, users: &[RealmUser]) -> Result<(), RealmError> {
        let path = self.users_path(realm);
        write_atomic(&path, users_text(users).as_bytes(), 0o644, Some((0, 0)))
            .map_err(io_err("write", &path))
    }

    /// The managed `authorized_keys` content for these users.
    pub fn authorized_keys_text(
        &self,
        settings: &RealmSettings,
        users: &[RealmUser],
    ) -> Result<String, RealmError> {
        let root = self.root_for_command()?;
        let mut out = format!(
            "# Managed by `ssotool realm` for realm {}; edits are overwritten.\n",
            settings.name
        );
        for u in users {
            let command = forced_command(&settings.issuer, &root, &settings.name, &u.user)
                .map_err(|e| RealmError::Invalid(e.to_string()))?;
            out.push_str(&authorized_line(&command, &u.key));
            out.push('\n');
        }
        Ok(out)
    }

    fn write_authorized_keys(
        &self,
        settings: &RealmSettings,
        users: &[RealmUser],
    ) -> Result<(), RealmError> {
        let text = self.authorized_keys_text(settings, users)?;
        let path = self.authorized_keys_path(&settings.name);
        write_atomic(&path, text.as_bytes(), 0o644, Some((0, 0))).map_err(io_err("write", &path))
    }

    /// Registers the keys in `key_text` (a public key file's content) for
    /// `user` with `groups`.
    pub fn add(
        &self,
        realm: &str,
        key_text: &str,
        user: &str,
        groups: &[String],
    ) -> Result<Vec<RealmUser>, RealmError> {
        check_user_name(user).map_err(RealmError::Invalid)?;
        for g in groups {
            check_group_name(g).map_err(RealmError::Invalid)?;
        }
        let keys = PublicKeyLine::parse_file(key_text)
            .map_err(|e| RealmError::MalformedKey(e.to_string()))?;
        Self::require_root()?;
        let settings = self.load_settings(realm)?;
        let _lock = self.lock(realm)?;
        self.realm_account(realm)?;
        let mut users = self.load_users(realm)?;
        if users.iter().any(|u| u.user == user) {
            return Err(RealmError::UserPresent {
                realm: realm.to_owned(),
                user: user.to_owned(),
            });
        }
        let mut added = Vec::new();
        for key in keys {
            let holder = users
                .iter()
                .chain(added.iter())
                .find(|u: &&RealmUser| u.key.blob == key.blob);
            if let Some(holder) = holder {
                return Err(RealmError::KeyInUse {
                    realm: realm.to_owned(),
                    user: holder.user.clone(),
                    fingerprint: key.fingerprint(),
                });
            }
            added.push(RealmUser {
                user: user.to_owned(),
                groups: groups.to_vec(),
                key,
            });
        }
        users.extend(added.iter().cloned());
        // The users file first: a user there without an authorized_keys
        // line cannot log in, and `issue` refuses a line without a user.
        self.write_users(realm, &users)?;
        self.write_authorized_keys(&settings, &users)?;
        Ok(added)
    }

    /// Reads a public key file for [`RealmAdmin::add`], with a size limit.
    pub fn read_key_file(path: &Path) -> Result<String, RealmError> {
        let meta = fs::metadata(path).map_err(io_err("read", path))?;
        if !meta.is_file() {
            return Err(RealmError::MalformedKey(format!(
                "malformed key: {} is not a regular file",
                path.display()
            )));
        }
        read_limited(path, MAX_KEY_FILE_LEN).map_err(|e| {
            RealmError::MalformedKey(format!(
                "malformed key: cannot read {}: {e}",
                path.display()
            ))
        })
    }

    /// Removes every key of `user`.
    pub fn remove(&self, realm: &str, user: &str) -> Result<usize, RealmError> {
        check_user_name(user).map_err(RealmError::Invalid)?;
        Self::require_root()?;
        let settings = self.load_settings(realm)?;
        let _lock = self.lock(realm)?;
        let mut users = self.load_users(realm)?;
        let before = users.len();
        users.retain(|u| u.user != user);
        let removed = before - users.len();
        if removed == 0 {
            return Err(RealmError::UnknownUser {
                realm: realm.to_owned(),
                user: user.to_owned(),
            });
        }
        // authorized_keys first: from then on sshd refuses the key.
        self.write_authorized_keys(&settings, &users)?;
        self.write_users(realm, &users)?;
        Ok(removed)
    }

    /// The realm's settings and users (needs no root: both files are public).
    pub fn list(&self, realm: &str) -> Result<(RealmSettings, Vec<RealmUser>), RealmError> {
        let settings = self.load_settings(realm)?;
        let users = self.load_users(realm)?;
        Ok((settings, users))
    }

    /// Rewrites `authorized_keys` from the users file and restores owners
    /// and modes; `issuer`, if given, replaces the ssotool path of the
    /// forced command.
    pub fn sync(&self, realm: &str, issuer: Option<&Path>) -> Result<RealmSettings, RealmError> {
        Self::require_root()?;
        let (mut settings, legacy) = self.load_settings_for_migration(realm)?;
        let _lock = self.lock(realm)?;
        let acct = self.realm_account(realm)?;
        if let Some(issuer) = issuer {
            settings.issuer = issuer
                .to_str()
                .ok_or_else(|| RealmError::Invalid("the ssotool path is not UTF-8".into()))?
                .to_owned();
            settings
                .validate()
                .map_err(|e| RealmError::Invalid(e.to_string()))?;
        }
        if legacy || issuer.is_some() {
            self.write_settings(&settings)?;
        }
        if acct.shell != Path::new(&settings.issuer) {
            account::set_shell(realm, &settings.issuer).map_err(RealmError::Account)?;
        }
        let users = self.load_users(realm)?;
        self.ensure_parents()?;
        let config = self.config_dir(realm);
        ensure_dir(&config, 0o755, Some((0, 0))).map_err(io_err("fix", &config))?;
        let state = self.state_dir(realm);
        ensure_dir(&state, 0o755, Some((0, 0))).map_err(io_err("fix", &state))?;
        let ssh_dir = state.join(".ssh");
        ensure_dir(&ssh_dir, 0o755, Some((0, 0))).map_err(io_err("fix", &ssh_dir))?;
        let secret = self.secret_key_path(realm);
        std::os::unix::fs::lchown(&secret, Some(acct.uid), Some(acct.gid))
            .map_err(io_err("fix owner of", &secret))?;
        fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o400))
            .map_err(io_err("fix mode of", &secret))?;
        self.write_authorized_keys(&settings, &users)?;
        Ok(settings)
    }

    /// Deletes the realm: its account, home, key pair and settings.
    pub fn delete(&self, realm: &str) -> Result<(), RealmError> {
        Self::require_root()?;
        self.load_settings_for_migration(realm)?;
        match account::lookup(realm).map_err(RealmError::Account)? {
            Some(acct) if acct.home != self.state_dir(realm) => {
                return Err(RealmError::AccountTaken(realm.to_owned()))
            }
            Some(_) => account::delete_account(realm).map_err(RealmError::Account)?,
            None => {}
        }
        let state = self.state_dir(realm);
        if fs::symlink_metadata(&state).is_ok() {
            fs::remove_dir_all(&state).map_err(io_err("remove", &state))?;
        }
        let config = self.config_dir(realm);
        fs::remove_dir_all(&config).map_err(io_err("remove", &config))
    }

    /// Checks the secret key file belongs to the realm account and is not
    /// readable by anyone else, and that only root can change the
    /// directories above it (see [`crate::trust`]).
    pub fn check_secret_key_file(&self, realm: &str, acct: &Account) -> Result<(), RealmError> {
        let path = self.secret_key_path(realm);
        let meta = fs::symlink_metadata(&path).map_err(io_err("read", &path))?;
        if !meta.is_file() || meta.uid() != acct.uid || meta.mode() & 0o077 != 0 {
            return Err(RealmError::Damaged(format!(
                "{} must be a file owned by {realm} with mode 0400; run `ssotool realm sync {realm}`",
                path.display()
            )));
        }
        root_s_directories_above(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::example_settings;

    #[test]
    fn layout_and_forced_commands() {
        let admin = RealmAdmin::new("/tmp/realmroot");
        assert_eq!(
            admin.authorized_keys_path("api"),
            Path::new("/tmp/realmroot/var/lib/sso-realm/api/.ssh/authorized_keys")
        );
        let key = PublicKeyLine::parse(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBERERERERERERERERERERERERERERERERERERERERER c",
        )
        .unwrap();
        let users = vec![RealmUser {
            user: "alice".into(),
            groups: vec![],
            key,
        }];
        let text = admin
            .authorized_keys_text(&example_settings(), &users)
            .unwrap();
        let line = text.lines().nth(1).unwrap();
        assert!(line.starts_with(
            "restrict,command=\"/usr/bin/ssotool realm issue --root /tmp/realmroot api alice\" \
             ssh-ed25519 "
        ));
        // The root is always explicit, `/` too, and spelled without a
        // trailing slash.
        for (root, spelled) in [
            ("/", "/"),
            ("//", "/"),
            ("/tmp/realmroot/", "/tmp/realmroot"),
        ] {
            let text = RealmAdmin::new(root)
                .authorized_keys_text(&example_settings(), &users)
                .unwrap();
            let expected =
                format!("command=\"/usr/bin/ssotool realm issue --root {spelled} api alice\"");
            assert!(text.contains(&expected), "{root}: {text}");
        }
        assert!(RealmAdmin::new("rel")
            .authorized_keys_text(&example_settings(), &users)
            .is_err());
    }

    #[test]
    fn unknown_realm_is_reported_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let admin = RealmAdmin::new(dir.path());
        let err = admin.load_settings("nope").unwrap_err();
        assert!(matches!(err, RealmError::UnknownRealm { .. }));
        assert!(err.to_string().starts_with("unknown realm nope"), "{err}");
        assert!(matches!(
            admin.load_settings("No;pe"),
            Err(RealmError::Invalid(_))
        ));
    }
}
