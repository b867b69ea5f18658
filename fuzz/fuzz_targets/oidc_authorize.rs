//! The OpenID Connect authorization request on arbitrary query strings:
//! never panics; an accepted request, and every error sent back to a
//! client, goes only to a redirect URI registered for that client, exactly.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso_oidc::authorize::{self, Refused};
use sso_oidc::{OidcConfig, RawOidc};

fn config() -> &'static OidcConfig {
    static CONFIG: OnceLock<OidcConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = r#"
issuer = "https://login.example.org"
signing_key_file = "/k"
[[client]]
id = "spa"
public = true
redirect_uris = ["https://spa.example.org/cb?x=1", "http://127.0.0.1:8000/cb"]
[[client]]
id = "web"
secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ck3W3kuvDbXDkTwVrTUtyHnKIhP+JP7pYypzqkV+cRk"
redirect_uris = ["https://web.example.org/cb"]
scopes = ["openid", "profile"]
"#;
        toml::from_str::<RawOidc>(text).unwrap().check().unwrap()
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
