//! Account lookups of a remote backend (LDAP, PAM), kept for a configured
//! time (`[auth] account_cache_seconds`): the silent path re-checks the
//! account on every ticket, and a directory round trip per ticket would
//! be too slow. A deleted user or a removed group therefore shows at most
//! that long after the change. Errors are never kept: the next ticket asks
//! again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Account, Backend, BackendError};

/// Most accounts kept. When full, expired ones go first; if none has
/// expired the table starts afresh (a lookup too many, never a stale one).
pub const MAX_CACHED_ACCOUNTS: usize = 10_000;

/// A backend whose account lookups are cached for `max_age`.
pub struct CachedAccounts<B> {
    inner: B,
    max_age: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<Account>)>>,
}

impl<B: Backend> CachedAccounts<B> {
    pub fn new(inner: B, max_age: Duration) -> CachedAccounts<B> {
        CachedAccounts {
            inner,
            max_age,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn remember(&self, user: &str, account: Option<Account>) {
        if self.max_age.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_ACCOUNTS && !entries.contains_key(user) {
            let max_age = self.max_age;
            entries.retain(|_, (at, _)| at.elapsed() < max_age);
            if entries.len() >= MAX_CACHED_ACCOUNTS {
                entries.clear();
            }
        }
        entries.insert(user.to_owned(), (Instant::now(), account));
    }
}

impl<B: Backend> Backend for CachedAccounts<B> {
    /// A successful login also refreshes the cached account: the backend
    /// has just said that it exists, with these groups.
    fn authenticate_account(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Account>, BackendError> {
        let answer = self.inner.authenticate_account(user, password)?;
        if answer.is_some() {
            self.remember(user, answer.clone());
        }
        Ok(answer)
    }

    fn account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        let account = self.inner.account(user)?;
        self.remember(user, account.clone());
        Ok(account)
    }

    fn account_now(&self, user: &str) -> Option<Result<Option<Account>, BackendError>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(user) {
            Some((at, account)) if at.elapsed() < self.max_age => Some(Ok(account.clone())),
            _ => None,
        }
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend whose one account's groups are whatever was set last.
    struct Counting {
        groups: Mutex<Option<Vec<String>>>,
        lookups: AtomicUsize,
    }

    impl Backend for Counting {
        fn authenticate_account(&self, _: &str, _: &str) -> Result<Option<Account>, BackendError> {
            Ok(self
                .groups
                .lock()
                .unwrap()
                .clone()
                .map(Account::with_groups))
        }
        fn account(&self, _: &str) -> Result<Option<Account>, BackendError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let groups = self.groups.lock().unwrap().clone();
            Ok(groups.map(Account::with_groups))
        }
        fn name(&self) -> &'static str {
            "counting"
        }
    }

    fn counting(groups: &[&str]) -> Counting {
        Counting {
            groups: Mutex::new(Some(groups.iter().map(|g| g.to_string()).collect())),
            lookups: AtomicUsize::new(0),
        }
    }

    #[test]
    fn a_login_fills_the_cache_and_a_change_shows_only_after_a_lookup() {
        let cache = CachedAccounts::new(counting(&["staff"]), Duration::from_secs(3600));
        assert!(cache.account_now("alice").is_none());
        cache.authenticate("alice", "pw").unwrap();
        *cache.inner.groups.lock().unwrap() = None;
        // Within the cache time the old answer stands, without a lookup.
        let old = cache.account_now("alice").unwrap().unwrap();
        assert_eq!(old.unwrap().groups, vec!["staff".to_string()]);
        assert_eq!(cache.inner.lookups.load(Ordering::SeqCst), 0);
        // A lookup replaces it: the account is gone.
        assert_eq!(cache.account("alice").unwrap(), None);
        assert_eq!(cache.account_now("alice").unwrap().unwrap(), None);
    }

    #[test]
    fn a_zero_cache_time_keeps_nothing() {
        let cache = CachedAccounts::new(counting(&["staff"]), Duration::ZERO);
        cache.authenticate("alice", "pw").unwrap();
        cache.account("alice").unwrap();
        assert!(cache.account_now("alice").is_none());
    }

    #[test]
    fn a_full_table_never_serves_past_the_limit() {
        let cache = CachedAccounts::new(counting(&[]), Duration::from_secs(3600));
        for i in 0..MAX_CACHED_ACCOUNTS + 5 {
            cache.account(&format!("u{i}")).unwrap();
        }
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= MAX_CACHED_ACCOUNTS, "{len}");
        assert!(cache
            .account_now(&format!("u{}", MAX_CACHED_ACCOUNTS + 4))
            .is_some());
    }
}
