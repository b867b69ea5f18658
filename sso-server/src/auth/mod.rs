//! Authentication backends behind one trait: a users file with argon2
//! hashes and groups, PAM, and LDAP. Besides checking passwords, each one
//! answers whether an account still exists and what its groups are now:
//! the silent ticket path asks on every ticket (see [`current_account`]).

pub mod account_cache;
pub mod ldap;
pub mod ldap_config;
pub mod pam;
pub mod users_file;

use std::sync::Arc;

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

/// What a backend knows about an existing account, without its password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    pub groups: Vec<String>,
    /// A display name, where the backend knows one (LDAP:
    /// `name_attributes`); the OpenID Connect `name` claim.
    pub name: Option<String>,
    /// An e-mail address, where the backend knows one (LDAP:
    /// `email_attribute`); the OpenID Connect `email` claim.
    pub email: Option<String>,
}

impl Account {
    /// An account of a backend that knows only groups (the users file,
    /// PAM).
    pub fn with_groups(groups: Vec<String>) -> Account {
        Account {
            groups,
            ..Account::default()
        }
    }
}

/// Checks a user's password and tells the user's groups.
///
/// Implementations are called on a blocking thread and may take long (a
/// password hash, a network round trip). A wrong user and a wrong password
/// must give the same answer, `Ok(None)`, in similar time.
pub trait Backend: Send + Sync {
    /// `Ok(Some(account))` when the password is right (the whole account
    /// the backend read, so that a cache remembers it), `Ok(None)` when
    /// the user is unknown or the password wrong.
    fn authenticate_account(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Account>, BackendError>;

    /// [`Backend::authenticate_account`]'s groups: what a login needs.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Vec<String>>, BackendError> {
        Ok(self
            .authenticate_account(user, password)?
            .map(|account| account.groups))
    }

    /// The account as the backend sees it now: `Ok(None)` when it no
    /// longer exists (or may no longer log in). May block like
    /// `authenticate`.
    fn account(&self, user: &str) -> Result<Option<Account>, BackendError>;

    /// The answer of [`Backend::account`] when it can be given at once,
    /// without blocking on the network: a local table, or a cached lookup.
    /// `None` sends the lookup to a blocking thread.
    fn account_now(&self, _user: &str) -> Option<Result<Option<Account>, BackendError>> {
        None
    }

    /// A short name for logs ("users_file", "pam", "ldap").
    fn name(&self) -> &'static str;
}

/// The account of a logged-in `user`, for a silent ticket: at once when
/// the backend can answer without blocking, otherwise on a blocking thread
/// holding one of `slots` (the same bound as password checks, so a slow
/// directory cannot take every thread).
pub async fn current_account(
    backend: &Arc<dyn Backend>,
    slots: &tokio::sync::Semaphore,
    user: &str,
) -> Result<Option<Account>, BackendError> {
    if let Some(answer) = backend.account_now(user) {
        return answer;
    }
    let Ok(_slot) = slots.acquire().await else {
        return Err(BackendError("shutting down".into()));
    };
    let backend = backend.clone();
    let user = user.to_owned();
    tokio::task::spawn_blocking(move || backend.account(&user))
        .await
        .unwrap_or_else(|_| Err(BackendError("backend panicked".into())))
}
