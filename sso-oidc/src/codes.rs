//! Authorization codes: 256 random bits given to the browser once, kept by
//! the provider only as their SHA-256 (a store that leaks gives no usable
//! code), redeemed at most once, within the configured lifetime (at most
//! 60 s), by the client they were issued to, with the same redirect URI
//! and the PKCE verifier of their challenge.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, OAuthError};
use crate::pkce;

/// What a code grants, as recorded when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user: String,
    pub groups: Vec<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// When the user last typed a password (Unix seconds).
    pub auth_time: u64,
    /// How: `pwd`, `otp`, `hwk` (RFC 8176).
    pub amr: Vec<String>,
    /// The login session, for logout.
    pub sid: String,
    pub expires: u64,
}

/// A new random secret (a code, a refresh token): 43 URL-safe characters.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a secret is stored under: its SHA-256, never the secret.
pub fn storage_key(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Whether `grant` may be redeemed by `client_id` with these parameters
/// at `now` (RFC 6749 4.1.3, RFC 7636 4.6). The caller has already taken
/// the grant out of its store, so a refused code is spent too.
pub fn check_redemption(
    grant: &Grant,
    client_id: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: u64,
) -> Result<(), OAuthError> {
    if now >= grant.expires {
        return Err(invalid_grant("the code has expired"));
    }
    if grant.client_id != client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&grant.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is missing")),
        // A verifier without a challenge: a downgrade, refused.
        (None, Some(_)) => Err(invalid_grant("code_verifier without a code_challenge")),
        (None, None) => Ok(()),
    }
}

/// The codes of one process (without a shared store): bounded, expired
/// ones dropped as new ones come.
pub struct MemoryCodes {
    grants: Mutex<HashMap<String, Grant>>,
    capacity: usize,
}

/// The store is full of live codes: refuse rather than evict one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many outstanding authorization codes")]
pub struct Full;

impl MemoryCodes {
    pub fn new(capacity: usize) -> MemoryCodes {
        MemoryCodes {
            grants: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Grant>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `grant` and returns the code that redeems it.
    pub fn issue(&self, grant: Grant, now: u64) -> Result<String, Full> {
        let mut grants = self.lock();
        if grants.len() >= self.capacity {
            grants.retain(|_, g| g.expires > now);
            if grants.len() >= self.capacity {
                return Err(Full);
            }
        }
        let code = new_secret();
        grants.insert(storage_key(&code), grant);
        Ok(code)
    }

    /// Takes the grant of `code` out: a second take finds nothing.
    pub fn take(&self, code: &str) -> Option<Grant> {
        self.lock().remove(&storage_key(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn grant(challenge: Option<&str>) -> Grant {
        Grant {
            client_id: "app".into(),
            redirect_uri: "https://app.example.org/cb".into(),
            user: "alice".into(),
            groups: vec!["staff".into()],
            scopes: vec!["openid".into()],
            nonce: Some("n".into()),
            code_challenge: challenge.map(str::to_owned),
            auth_time: 100,
            amr: vec!["pwd".into()],
            sid: "s".into(),
            expires: 160,
        }
    }

    #[test]
    fn a_code_is_redeemed_once() {
        let codes = MemoryCodes::new(10);
        let code = codes.issue(grant(None), 100).unwrap();
        assert_eq!(code.len(), 43);
        assert!(codes.take("not the code").is_none());
        assert_eq!(codes.take(&code), Some(grant(None)));
        assert!(codes.take(&code).is_none(), "replayed");
        // The store never holds the code itself.
        let code = codes.issue(grant(None), 100).unwrap();
        assert!(!codes.lock().contains_key(&code));
    }

    #[test]
    fn a_full_store_drops_expired_codes_then_refuses() {
        let codes = MemoryCodes::new(2);
        codes.issue(grant(None), 100).unwrap();
        codes.issue(grant(None), 100).unwrap();
        assert_eq!(codes.issue(grant(None), 100), Err(Full));
        assert!(
            codes.issue(grant(None), 160).is_ok(),
            "the expired two made room"
        );
    }

    #[test]
    fn redemption_rules() {
        let uri = Some("https://app.example.org/cb");
        let challenge = pkce::challenge_of(VERIFIER);
        let g = grant(Some(&challenge));
        assert_eq!(
            check_redemption(&g, "app", uri, Some(VERIFIER), 159),
            Ok(())
        );
        let refused = |g: &Grant, client, uri, verifier, now| {
            check_redemption(g, client, uri, verifier, now)
                .unwrap_err()
                .code
        };
        assert_eq!(
            refused(&g, "app", uri, Some(VERIFIER), 160),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            refused(&g, "other", uri, Some(VERIFIER), 150),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            refused(&g, "app", None, Some(VERIFIER), 150),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            refused(
                &g,
                "app",
                Some("https://app.example.org/cb/"),
                Some(VERIFIER),
                150
            ),
            ErrorCode::InvalidGrant
        );
        assert_eq!(refused(&g, "app", uri, None, 150), ErrorCode::InvalidGrant);
        let wrong = VERIFIER.replace('d', "f");
        assert_eq!(
            refused(&g, "app", uri, Some(&wrong), 150),
            ErrorCode::InvalidGrant
        );
        let plain = grant(None);
        assert_eq!(check_redemption(&plain, "app", uri, None, 150), Ok(()));
        assert_eq!(
            refused(&plain, "app", uri, Some(VERIFIER), 150),
            ErrorCode::InvalidGrant
        );
    }
}
