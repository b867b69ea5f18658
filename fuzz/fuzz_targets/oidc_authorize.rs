//! The OpenID Connect authorization request on arbitrary query strings:
//! never panics; an accepted request, and every error sent back to a
//! client, goes only to a redirect URI registered for that client, exactly.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso_oidc::authorize::{self, Refused};
use sso_oidc::{OidcConfig, RawClient, RawOidc};

fn client(id: &str, public: bool, redirect_uris: &[&str], scopes: Option<&[&str]>) -> RawClient {
    RawClient {
        id: id.into(),
        name: None,
        // The check only parses it; the authorization request never reads it.
        secret_hash: (!public).then(|| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ck3W3kuvDbXDkTwVrTUtyHnKIhP+JP7pYypzqkV+cRk".into()
        }),
        public,
        redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        groups: None,
        scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
        id_token_signed_response_alg: None,
    }
}

/// A public client with two redirect URIs (one with a query of its own)
/// and a confidential one limited to two scopes.
fn config() -> &'static OidcConfig {
    static CONFIG: OnceLock<OidcConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        RawOidc {
            issuer: "https://login.example.org".into(),
            signing_key_file: "/k".into(),
            previous_key_files: vec![],
            eddsa_key_file: None,
            code_lifetime_seconds: 60,
            access_token_lifetime_seconds: 600,
            id_token_lifetime_seconds: 600,
            refresh_token_lifetime_seconds: 86400,
            clients: vec![
                client("spa", true, &["https://spa.example.org/cb?x=1", "http://127.0.0.1:8000/cb"], None),
                client("web", false, &["https://web.example.org/cb"], Some(&["openid", "profile"])),
            ],
        }
        .check()
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let c = config();
    let registered = |client: &str, uri: &str| c.client(client).is_some_and(|cl| cl.redirect_uri_registered(uri));
    match authorize::parse(&params, c) {
        Ok(req) => {
            assert!(registered(&req.client_id, &req.redirect_uri));
            assert!(req.scopes.iter().any(|s| s == "openid"));
            let client = c.client(&req.client_id).unwrap();
            assert!(!client.is_public() || req.code_challenge.is_some());
            let location = req.code_location("code", &c.issuer);
            assert!(location.starts_with(&req.redirect_uri), "{location}");
        }
        Err(Refused::Redirect { location, .. }) => {
            let ok = c.clients.iter().flat_map(|cl| cl.redirect_uris.iter()).any(|u| location.starts_with(u.as_str()));
            assert!(ok, "{location}");
        }
        Err(Refused::Page(_)) => {}
    }
});
