//! Logout for relying parties: RP-initiated logout (OpenID Connect
//! RP-Initiated Logout 1.0) at the end-session endpoint, and the logout
//! token a back-channel logout sends each client (OpenID Connect
//! Back-Channel Logout 1.0). A post-logout redirect goes only to a URI
//! registered for the client the request proves (by its id_token_hint or
//! client_id), exactly; anything else gets the logged-out page, never a
//! redirect.

use serde_json::{json, Value};

use crate::access;
use crate::authorize::with_query;
use crate::codes::new_secret;
use crate::config::OidcConfig;
use crate::keys::SigningKeys;
use crate::params::single;

/// The `events` member of a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// An end-session request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSession {
    pub client_id: Option<String>,
    /// The hint's login session, to check it is the browser's own.
    pub sid: Option<String>,
    /// Where to send the browser afterwards (with `state`), if anywhere.
    pub redirect: Option<String>,
}

/// Checks an end-session request; `Err` is the page's message.
pub fn end_session(
    params: &[(String, String)],
    config: &OidcConfig,
    keys: &SigningKeys,
) -> Result<EndSession, String> {
    let mut client_id = single(params, "client_id")?.map(str::to_owned);
    let mut sid = None;
    if let Some(hint) = single(params, "id_token_hint")? {
        let header =
            jsonwebtoken::decode_header(hint).map_err(|_| "malformed id_token_hint".to_owned())?;
        if header.typ.as_deref() == Some(access::TYPE) {
            return Err("id_token_hint is an access token".into());
        }
        let claims = keys
            .verify_own(hint, &config.issuer)
            .map_err(|e| format!("id_token_hint: {e}"))?;
        let aud = match &claims["aud"] {
            Value::String(a) => a.clone(),
            Value::Array(a) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_owned(),
            _ => return Err("id_token_hint: one audience expected".into()),
        };
        if client_id.as_ref().is_some_and(|c| *c != aud) {
            return Err("client_id differs from the id_token_hint's audience".into());
        }
        client_id = Some(aud);
        sid = claims["sid"].as_str().map(str::to_owned);
    }
    let client = match &client_id {
        Some(id) => Some(config.client(id).ok_or("unknown client_id")?),
        None => None,
    };
    let redirect = match single(params, "post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            let client =
                client.ok_or("post_logout_redirect_uri needs id_token_hint or client_id")?;
            if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err("post_logout_redirect_uri is not registered for this client".into());
            }
            Some(match single(params, "state")? {
                Some(state) => with_query(uri, &[("state", state)]),
                None => uri.to_owned(),
            })
        }
    };
    Ok(EndSession {
        client_id,
        sid,
        redirect,
    })
}

/// The claims of a logout token for `client_id`: the session `sid` of
/// `user` ended at `now`.
pub fn logout_token(issuer: &str, client_id: &str, user: &str, sid: &str, now: u64) -> Value {
    json!({
        "iss": issuer,
        "aud": client_id,
        "sub": user,
        "sid": sid,
        "iat": now,
        "exp": now + 120,
        "jti": new_secret(),
        "events": { EVENT: {} },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawOidc;
    use crate::keys::tests::generate;

    const ISSUER: &str = "https://login.example.org";

    fn setup() -> (OidcConfig, SigningKeys) {
        let text = r#"
issuer = "https://login.example.org"
signing_key_file = "/k"
[[client]]
id = "app"
public = true
redirect_uris = ["https://app.example.org/cb"]
post_logout_redirect_uris = ["https://app.example.org/bye"]
[[client]]
id = "other"
public = true
redirect_uris = ["https://other.example.org/cb"]
"#;
        let config = toml::from_str::<RawOidc>(text).unwrap().check().unwrap();
        (
            config,
            SigningKeys::new(&generate("rsa"), &[], None).unwrap(),
        )
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        crate::params::owned(pairs)
    }

    fn hint(keys: &SigningKeys, aud: &str) -> String {
        keys.sign(
            "RS256",
            &json!({ "iss": ISSUER, "sub": "alice", "aud": aud, "sid": "s1", "exp": 1 }),
        )
        .unwrap()
    }

    #[test]
    fn a_proven_client_gets_its_registered_redirect() {
        let (c, keys) = setup();
        let h = hint(&keys, "app");
        let e = end_session(
            &params(&[
                ("id_token_hint", &h),
                ("post_logout_redirect_uri", "https://app.example.org/bye"),
                ("state", "x y"),
            ]),
            &c,
            &keys,
        )
        .unwrap();
        assert_eq!(
            e.redirect.as_deref(),
            Some("https://app.example.org/bye?state=x+y")
        );
        assert_eq!(e.sid.as_deref(), Some("s1"));
        let e = end_session(
            &params(&[
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://app.example.org/bye"),
            ]),
            &c,
            &keys,
        )
        .unwrap();
        assert!(e.redirect.is_some());
        // Nothing asked: the logged-out page.
        assert_eq!(end_session(&[], &c, &keys).unwrap().redirect, None);
    }

    #[test]
    fn never_a_redirect_elsewhere() {
        let (c, keys) = setup();
        let bye = ("post_logout_redirect_uri", "https://app.example.org/bye");
        // No client proven.
        assert!(end_session(&params(&[bye]), &c, &keys).is_err());
        // Not registered for the client, or registered for another one.
        assert!(end_session(
            &params(&[
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://evil.example/")
            ]),
            &c,
            &keys
        )
        .is_err());
        assert!(end_session(&params(&[("client_id", "other"), bye]), &c, &keys).is_err());
        let h = hint(&keys, "other");
        assert!(end_session(&params(&[("id_token_hint", &h), bye]), &c, &keys).is_err());
        // A hint and a client_id that disagree; a hint of another provider.
        let h = hint(&keys, "app");
        assert!(end_session(
            &params(&[("id_token_hint", &h), ("client_id", "other"), bye]),
            &c,
            &keys
        )
        .is_err());
        let foreign = SigningKeys::new(&generate("rsa"), &[], None).unwrap();
        assert!(end_session(
            &params(&[("id_token_hint", &hint(&foreign, "app")), bye]),
            &c,
            &keys
        )
        .is_err());
        // An access token is no id_token_hint.
        let at = keys
            .sign_typed(
                "RS256",
                access::TYPE,
                &json!({ "iss": ISSUER, "sub": "alice", "aud": "app" }),
            )
            .unwrap();
        assert!(end_session(&params(&[("id_token_hint", &at), bye]), &c, &keys).is_err());
    }

    #[test]
    fn logout_tokens_carry_the_event_and_no_nonce() {
        let t = logout_token(ISSUER, "app", "alice", "s1", 100);
        assert_eq!(t["events"][EVENT], json!({}));
        assert_eq!(t["sid"], "s1");
        assert!(t.get("nonce").is_none());
        assert_ne!(
            t["jti"],
            logout_token(ISSUER, "app", "alice", "s1", 100)["jti"]
        );
    }
}
