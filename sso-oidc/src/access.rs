//! Access tokens (RFC 9068 JWT profile): signed by the provider's active
//! key with header `typ: at+jwt`, so that no id_token (`typ: JWT`) is ever
//! taken as an access token at the userinfo endpoint, and checked there
//! without any store, by whichever replica answers.

use serde_json::{json, Value};

use crate::codes::new_secret;
use crate::keys::{SigningKeys, VerifyError};

/// The header type that marks an access token.
pub const TYPE: &str = "at+jwt";

/// What an access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub user: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub sid: String,
}

/// The claims of a new access token.
pub fn claims(issuer: &str, access: &Access, now: u64, lifetime: u64) -> Value {
    json!({
        "iss": issuer,
        "sub": access.user,
        // The provider's own userinfo endpoint is the resource.
        "aud": issuer,
        "client_id": access.client_id,
        "scope": access.scopes.join(" "),
        "sid": access.sid,
        "iat": now,
        "exp": now + lifetime,
        "jti": new_secret(),
    })
}

/// The token of `Authorization: Bearer TOKEN` (RFC 6750 2.1).
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Why an access token is refused (RFC 6750 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    Signature(#[from] VerifyError),
    #[error("not an access token")]
    NotAccessToken,
    #[error("expired")]
    Expired,
    #[error("malformed claims")]
    Malformed,
}

/// Checks an access token this provider issued, as of `now`.
pub fn verify(
    keys: &SigningKeys,
    issuer: &str,
    token: &str,
    now: u64,
) -> Result<Access, AccessError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
    if header.typ.as_deref() != Some(TYPE) {
        return Err(AccessError::NotAccessToken);
    }
    let claims = keys.verify_own(token, issuer)?;
    if claims["aud"] != issuer {
        return Err(AccessError::NotAccessToken);
    }
    let exp = claims["exp"].as_u64().ok_or(AccessError::Malformed)?;
    if now >= exp {
        return Err(AccessError::Expired);
    }
    let text = |k: &str| {
        claims[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(AccessError::Malformed)
    };
    Ok(Access {
        user: text("sub")?,
        client_id: text("client_id")?,
        scopes: text("scope")?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        sid: text("sid")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::generate;

    const ISSUER: &str = "https://login.example.org";

    fn access() -> Access {
        Access {
            user: "alice".into(),
            client_id: "app".into(),
            scopes: vec!["openid".into(), "groups".into()],
            sid: "s1".into(),
        }
    }

    #[test]
    fn an_access_token_grants_what_it_says_until_it_expires() {
        let keys = SigningKeys::new(&generate("rsa"), &[], None).unwrap();
        let token = keys
            .sign_typed("RS256", TYPE, &claims(ISSUER, &access(), 100, 600))
            .unwrap();
        assert_eq!(verify(&keys, ISSUER, &token, 699), Ok(access()));
        assert_eq!(
            verify(&keys, ISSUER, &token, 700),
            Err(AccessError::Expired)
        );
        assert_eq!(
            verify(&keys, "https://other.example", &token, 100),
            Err(AccessError::Signature(VerifyError::WrongIssuer))
        );
    }

    #[test]
    fn an_id_token_is_no_access_token() {
        let keys = SigningKeys::new(&generate("rsa"), &[], None).unwrap();
        // Same claims, signed as an id_token (typ JWT).
        let id_token = keys
            .sign("RS256", &claims(ISSUER, &access(), 100, 600))
            .unwrap();
        assert_eq!(
            verify(&keys, ISSUER, &id_token, 100),
            Err(AccessError::NotAccessToken)
        );
        // An at+jwt whose audience is a client (not this provider).
        let mut c = claims(ISSUER, &access(), 100, 600);
        c["aud"] = json!("app");
        let token = keys.sign_typed("RS256", TYPE, &c).unwrap();
        assert_eq!(
            verify(&keys, ISSUER, &token, 100),
            Err(AccessError::NotAccessToken)
        );
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer("Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer a b"), None);
    }
}
