//! Authentication backends behind one trait: a users file with argon2
//! hashes and groups, PAM, and LDAP.

pub mod ldap;
pub mod pam;
pub mod users_file;

/// The backend itself failed (unreachable directory, unreadable file):
/// neither a yes nor a no. Display is for the log, never for the user.
#[derive(Debug, Clone)]
pub struct BackendError(pub String);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

/// Checks a user's password and tells the user's groups.
///
/// Implementations are called on a blocking thread and may take long (a
/// password hash, a network round trip). A wrong user and a wrong password
/// must give the same answer, `Ok(None)`, in similar time.
pub trait Backend: Send + Sync {
    /// `Ok(Some(groups))` when the password is right, `Ok(None)` when the
    /// user is unknown or the password wrong.
    fn authenticate(&self, user: &str, password: &str)
        -> Result<Option<Vec<String>>, BackendError>;

    /// A short name for logs ("users_file", "pam", "ldap").
    fn name(&self) -> &'static str;
}
