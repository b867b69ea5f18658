//! Why a realm operation failed, as one line for the administrator.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why a realm operation failed. Display is the one-line message for the
/// administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealmError {
    NotRoot,
    UnknownRealm {
        realm: String,
        path: PathBuf,
    },
    RealmExists(String),
    /// The account name exists but is not this realm's account.
    AccountTaken(String),
    UserPresent {
        realm: String,
        user: String,
    },
    UnknownUser {
        realm: String,
        user: String,
    },
    /// The key is already registered (for this or another user).
    KeyInUse {
        realm: String,
        user: String,
        fingerprint: String,
    },
    MalformedKey(String),
    /// A name or setting failed validation.
    Invalid(String),
    /// A realm file is damaged or has wrong ownership.
    Damaged(String),
    Io(String),
    Account(crate::account::AccountError),
}

impl fmt::Display for RealmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RealmError::NotRoot => write!(f, "not root: realm administration must run as root"),
            RealmError::UnknownRealm { realm, path } => {
                write!(f, "unknown realm {realm} (no {})", path.display())
            }
            RealmError::RealmExists(r) => write!(f, "realm {r} already exists"),
            RealmError::AccountTaken(r) => write!(
                f,
                "account name {r} is taken by an account that is not an SSO realm; choose \
                 another realm name"
            ),
            RealmError::UserPresent { realm, user } => write!(
                f,
                "user {user} is already present in realm {realm} (remove it first)"
            ),
            RealmError::UnknownUser { realm, user } => {
                write!(f, "user {user} is not in realm {realm}")
            }
            RealmError::KeyInUse {
                realm,
                user,
                fingerprint,
            } => write!(
                f,
                "key {fingerprint} is already registered in realm {realm} for user {user}"
            ),
            RealmError::MalformedKey(m) => write!(f, "{m}"),
            RealmError::Invalid(m) | RealmError::Damaged(m) => write!(f, "{m}"),
            RealmError::Io(m) => write!(f, "{m}"),
            RealmError::Account(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RealmError {}

/// A name, path or domain that a check of `sso_client::names` refused; the
/// message is that check's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidName(pub String);

pub(crate) fn io_err<'a>(
    what: &'a str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> RealmError + 'a {
    move |e| RealmError::Io(format!("cannot {what} {}: {e}", path.display()))
}
