//! The provider's endpoints and its discovery document (OpenID Connect
//! Discovery 1.0), served at `ISSUER/.well-known/openid-configuration`.
//! The endpoints live under `ISSUER/oidc/`, beside the login server's own
//! pages.

use serde_json::{json, Value};

use crate::config::SCOPES;

/// Paths below the issuer.
pub const AUTHORIZE: &str = "/oidc/authorize";
pub const TOKEN: &str = "/oidc/token";
pub const USERINFO: &str = "/oidc/userinfo";
pub const JWKS: &str = "/oidc/jwks";
pub const END_SESSION: &str = "/oidc/logout";
pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The discovery document of `issuer`, whose tokens are signed with
/// `algorithms`.
pub fn document(issuer: &str, algorithms: &[&str]) -> Value {
    let at = |path: &str| format!("{issuer}{path}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": at(AUTHORIZE),
        "token_endpoint": at(TOKEN),
        "userinfo_endpoint": at(USERINFO),
        "jwks_uri": at(JWKS),
        "end_session_endpoint": at(END_SESSION),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "azp", "sid",
            "preferred_username", "name", "email", "email_verified", "groups"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": ["1", "2"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_sit_under_the_issuer() {
        let d = document("https://login.example.org/sso", &["RS256"]);
        assert_eq!(d["issuer"], "https://login.example.org/sso");
        assert_eq!(
            d["token_endpoint"],
            "https://login.example.org/sso/oidc/token"
        );
        assert_eq!(d["jwks_uri"], "https://login.example.org/sso/oidc/jwks");
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert!(!d["response_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("token")));
    }
}
