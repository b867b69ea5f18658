//! Refresh tokens (for the `offline_access` scope): random, stored by hash
//! like codes, rotated on every use. A refresh token used a second time
//! means it leaked (the client has the newer one): its whole family is
//! revoked (OAuth 2.0 Security BCP 4.14.2). Logout revokes every token of
//! the login session. The account itself is checked again by the server
//! at each use, as for a silent ticket.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::codes::{new_secret, storage_key};
use crate::error::{ErrorCode, OAuthError};

/// What a refresh token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub sid: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub expires: u64,
    /// Every token rotated from the same first one shares it.
    pub family: String,
}

/// Whether a token response carries a refresh token: only when
/// `offline_access` was granted.
pub fn wanted(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "offline_access")
}

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Whether `grant` may be redeemed by `client_id` at `now`, asking for
/// `requested` scopes (none: the same): the scopes the new tokens get.
pub fn check(
    grant: &RefreshGrant,
    client_id: &str,
    requested: Option<&[String]>,
    now: u64,
) -> Result<Vec<String>, OAuthError> {
    if grant.client_id != client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if now >= grant.expires {
        return Err(invalid_grant("the refresh token has expired"));
    }
    match requested {
        None => Ok(grant.scopes.clone()),
        Some(asked) => {
            if let Some(extra) = asked.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope {extra} was not granted"),
                ));
            }
            Ok(asked.to_vec())
        }
    }
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// A live token, now spent: issue its successor.
    Live(RefreshGrant),
    /// A token already rotated: its family is now revoked.
    Reused,
    /// Never issued, expired, or revoked.
    Unknown,
}

#[derive(Default)]
struct Tables {
    live: HashMap<String, RefreshGrant>,
    /// Spent tokens' keys -> (family, when the family's tokens expire).
    spent: HashMap<String, (String, u64)>,
}

/// The refresh tokens of one process (without a shared store).
#[derive(Default)]
pub struct MemoryRefresh {
    tables: Mutex<Tables>,
}

impl MemoryRefresh {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `grant` (a new family if its `family` is empty) and returns
    /// the token that redeems it.
    pub fn issue(&self, mut grant: RefreshGrant, now: u64) -> String {
        if grant.family.is_empty() {
            grant.family = new_secret();
        }
        let token = new_secret();
        let mut t = self.lock();
        t.live.retain(|_, g| g.expires > now);
        t.spent.retain(|_, (_, expires)| *expires > now);
        t.live.insert(storage_key(&token), grant);
        token
    }

    /// Spends `token`.
    pub fn redeem(&self, token: &str) -> Redeemed {
        let key = storage_key(token);
        let mut t = self.lock();
        if let Some(grant) = t.live.remove(&key) {
            t.spent.insert(key, (grant.family.clone(), grant.expires));
            return Redeemed::Live(grant);
        }
        if let Some((family, _)) = t.spent.get(&key).cloned() {
            t.live.retain(|_, g| g.family != family);
            return Redeemed::Reused;
        }
        Redeemed::Unknown
    }

    /// Logout: every token of the login session `sid` stops working.
    pub fn revoke_session(&self, sid: &str) {
        self.lock().live.retain(|_, g| g.sid != sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(sid: &str) -> RefreshGrant {
        RefreshGrant {
            client_id: "app".into(),
            user: "alice".into(),
            scopes: vec!["openid".into(), "groups".into(), "offline_access".into()],
            sid: sid.into(),
            auth_time: 1,
            amr: vec!["pwd".into()],
            expires: 1000,
            family: String::new(),
        }
    }

    #[test]
    fn rotation_and_reuse_detection() {
        let store = MemoryRefresh::default();
        let first = store.issue(grant("s1"), 10);
        let Redeemed::Live(g) = store.redeem(&first) else {
            panic!()
        };
        let second = store.issue(g.clone(), 20);
        assert_eq!(store.redeem("made up"), Redeemed::Unknown);
        // The first token again: a leak; the second dies with it.
        assert_eq!(store.redeem(&first), Redeemed::Reused);
        assert_eq!(store.redeem(&second), Redeemed::Unknown);
        // Another family is untouched.
        let other = store.issue(grant("s1"), 20);
        assert!(matches!(store.redeem(&other), Redeemed::Live(_)));
    }

    #[test]
    fn logout_revokes_the_session_s_tokens() {
        let store = MemoryRefresh::default();
        let mine = store.issue(grant("s1"), 10);
        let theirs = store.issue(grant("s2"), 10);
        store.revoke_session("s1");
        assert_eq!(store.redeem(&mine), Redeemed::Unknown);
        assert!(matches!(store.redeem(&theirs), Redeemed::Live(_)));
    }

    #[test]
    fn redemption_rules() {
        let g = grant("s1");
        assert_eq!(check(&g, "app", None, 999).unwrap(), g.scopes);
        let narrower = vec!["openid".to_owned()];
        assert_eq!(check(&g, "app", Some(&narrower), 999).unwrap(), narrower);
        let wider = vec!["openid".to_owned(), "email".to_owned()];
        assert_eq!(
            check(&g, "app", Some(&wider), 999).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            check(&g, "other", None, 999).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            check(&g, "app", None, 1000).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert!(wanted(&g.scopes));
        assert!(!wanted(&narrower));
    }
}
