//! The OpenID Connect token request on arbitrary bytes: the first line is
//! the Authorization header, the rest the form body. Never panics; a
//! parsed request names a client, and a public client's credentials carry
//! no secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_oidc::token::{self, Grant, Method};

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    if let Ok((credentials, grant)) = token::parse(&params, header) {
        assert_eq!(credentials.method == Method::None, credentials.secret.is_none());
        assert!(!credentials.client_id.is_empty() || credentials.method == Method::Basic);
        match grant {
            Grant::AuthorizationCode { code, .. } => assert!(!code.is_empty()),
            Grant::RefreshToken { refresh_token, .. } => assert!(!refresh_token.is_empty()),
        }
    }
});
