//! What the tokens and userinfo say about a person: `sub` (the login name,
//! which is how every verifier of this system already names a person),
//! and by scope `profile` (`preferred_username`, `name`), `email` (where
//! the directory or users file knows one) and `groups`. The id_token adds
//! the authentication: `auth_time`, `nonce`, `amr` (RFC 8176) and `acr`
//! (`1` a password, `2` a password and a second factor).

use serde_json::{json, Map, Value};

/// A person as the login server knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    /// A display name, where known.
    pub name: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
}

/// How and when the person authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub auth_time: u64,
    /// `pwd`, then `otp` or `hwk` for a second factor.
    pub amr: Vec<String>,
    pub sid: String,
}

impl Authentication {
    /// `2` when a second factor was proven, else `1`.
    pub fn acr(&self) -> &'static str {
        if self.amr.iter().any(|m| m == "otp" || m == "hwk") {
            "2"
        } else {
            "1"
        }
    }
}

fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// The claims of `identity` that `scopes` release (always `sub`).
pub fn userinfo(identity: &Identity, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(identity.user));
    if has(scopes, "profile") {
        claims.insert("preferred_username".into(), json!(identity.user));
        claims.insert(
            "name".into(),
            json!(identity
                .name
                .clone()
                .unwrap_or_else(|| identity.user.clone())),
        );
    }
    if has(scopes, "email") {
        if let Some(email) = &identity.email {
            // The administrator's directory vouches for it.
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(true));
        }
    }
    if has(scopes, "groups") {
        claims.insert("groups".into(), json!(identity.groups));
    }
    claims
}

/// The id_token's claims for `client_id`, issued at `now`.
#[allow(clippy::too_many_arguments)]
pub fn id_token(
    issuer: &str,
    client_id: &str,
    identity: &Identity,
    scopes: &[String],
    authentication: &Authentication,
    nonce: Option<&str>,
    now: u64,
    lifetime: u64,
) -> Value {
    let mut claims = userinfo(identity, scopes);
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("azp".into(), json!(client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + lifetime));
    claims.insert("auth_time".into(), json!(authentication.auth_time));
    claims.insert("amr".into(), json!(authentication.amr));
    claims.insert("acr".into(), json!(authentication.acr()));
    claims.insert("sid".into(), json!(authentication.sid));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity {
            user: "alice".into(),
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.org".into()),
            groups: vec!["staff".into(), "admins".into()],
        }
    }

    fn scopes(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn each_scope_releases_its_claims_only() {
        let openid = userinfo(&alice(), &scopes("openid"));
        assert_eq!(Value::Object(openid), json!({ "sub": "alice" }));
        let all = userinfo(&alice(), &scopes("openid profile email groups"));
        assert_eq!(all["preferred_username"], "alice");
        assert_eq!(all["name"], "Alice Liddell");
        assert_eq!(all["email"], "alice@example.org");
        assert_eq!(all["groups"], json!(["staff", "admins"]));
        let unknown = Identity {
            email: None,
            name: None,
            ..alice()
        };
        let c = userinfo(&unknown, &scopes("openid profile email"));
        assert!(!c.contains_key("email"));
        assert_eq!(c["name"], "alice");
    }

    #[test]
    fn the_id_token_says_how_and_when() {
        let auth = Authentication {
            auth_time: 90,
            amr: vec!["pwd".into(), "otp".into()],
            sid: "s1".into(),
        };
        let t = id_token(
            "https://i",
            "app",
            &alice(),
            &scopes("openid groups"),
            &auth,
            Some("n1"),
            100,
            600,
        );
        assert_eq!(t["iss"], "https://i");
        assert_eq!(t["aud"], "app");
        assert_eq!(t["exp"], 700);
        assert_eq!(t["auth_time"], 90);
        assert_eq!(t["nonce"], "n1");
        assert_eq!(t["acr"], "2");
        assert_eq!(t["amr"], json!(["pwd", "otp"]));
        assert_eq!(t["groups"], json!(["staff", "admins"]));
        assert!(t.get("email").is_none());
        let pwd = Authentication {
            amr: vec!["pwd".into()],
            ..auth
        };
        let t = id_token(
            "https://i",
            "app",
            &alice(),
            &scopes("openid"),
            &pwd,
            None,
            100,
            600,
        );
        assert_eq!(t["acr"], "1");
        assert!(t.get("nonce").is_none());
    }
}
