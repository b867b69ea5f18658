//! The authorization request (OpenID Connect Core 3.1.2.1, RFC 6749 4.1.1,
//! RFC 7636): code flow only. Two kinds of refusal: before the client and
//! its redirect URI are known to be genuine, a page (never a redirect, or
//! the provider becomes an open redirector); after, an error sent back to
//! that redirect URI with `state` and `iss` (RFC 9207).

use url::Url;

use crate::config::{OidcConfig, SCOPES};
use crate::error::{invalid_request, ErrorCode, OAuthError};
use crate::params::single;
use crate::pkce;

/// What `prompt` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Silently if a session exists, else the login page.
    Default,
    /// Silently or not at all (`login_required`).
    None,
    /// Always the login page, even with a session.
    Login,
}

/// A request that may go on to the login (or the silent answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The scopes granted: those asked for that the provider knows and the
    /// client may have; always holds `openid`.
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// An `S256` challenge (required of public clients).
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// Seconds since the last password after which it must be typed again.
    pub max_age: Option<u64>,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Show this on a page: the client or redirect URI is not genuine.
    Page(String),
    /// Send the browser to this URL (the client's redirect URI with the
    /// error).
    Redirect { location: String, error: OAuthError },
}

/// `uri` with `params` added to its query (keeping what it has).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.into()
        }
        // Registered redirect URIs are URLs (config::check_url): not reached.
        Err(_) => uri.to_owned(),
    }
}

impl AuthorizeRequest {
    /// Where to send the browser with `error`.
    pub fn error_location(&self, error: &OAuthError, issuer: &str) -> String {
        let mut params = vec![
            ("error", error.code.as_str()),
            ("error_description", error.description.as_str()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        with_query(&self.redirect_uri, &params)
    }

    /// Where to send the browser with a fresh `code`.
    pub fn code_location(&self, code: &str, issuer: &str) -> String {
        let mut params = vec![("code", code)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        with_query(&self.redirect_uri, &params)
    }
}

/// Parses and checks an authorization request's parameters (query or
/// form) against the configured clients.
pub fn parse(
    params: &[(String, String)],
    config: &OidcConfig,
) -> Result<AuthorizeRequest, Refused> {
    let page = Refused::Page;
    let client_id = single(params, "client_id")
        .map_err(page)?
        .ok_or_else(|| Refused::Page("client_id is missing".into()))?;
    let client = config
        .client(client_id)
        .ok_or_else(|| Refused::Page("unknown client_id".into()))?;
    let redirect_uri = single(params, "redirect_uri")
        .map_err(Refused::Page)?
        .ok_or_else(|| Refused::Page("redirect_uri is missing".into()))?;
    if !client.redirect_uri_registered(redirect_uri) {
        return Err(Refused::Page(
            "redirect_uri is not registered for this client".into(),
        ));
    }
    // From here on errors go back to the client.
    let state = single(params, "state").ok().flatten().map(str::to_owned);
    let mut request = AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes: Vec::new(),
        state,
        nonce: None,
        code_challenge: None,
        prompt: Prompt::Default,
        max_age: None,
    };
    let refuse = |request: &AuthorizeRequest, error: OAuthError| Refused::Redirect {
        location: request.error_location(&error, &config.issuer),
        error,
    };
    match check(params, client, &mut request) {
        Ok(()) => Ok(request),
        Err(error) => Err(refuse(&request, error)),
    }
}

fn check(
    params: &[(String, String)],
    client: &crate::config::Client,
    request: &mut AuthorizeRequest,
) -> Result<(), OAuthError> {
    let one = |name: &str| single(params, name).map_err(invalid_request);
    one("state")?;
    if one("request")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if one("request_uri")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match one("response_type")? {
        Some("code") => {}
        None => return Err(invalid_request("response_type is missing")),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    match one("response_mode")? {
        None | Some("query") => {}
        Some(_) => return Err(invalid_request("only response_mode=query is supported")),
    }
    let asked: Vec<&str> = one("scope")?
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if !asked.contains(&"openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope must include openid",
        ));
    }
    // Unknown scopes are ignored (OpenID Connect Core 3.1.2.1); known ones
    // the client may not have are refused.
    for s in asked.iter().filter(|s| SCOPES.contains(s)) {
        if !client.scopes.iter().any(|c| c == s) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {s} is not allowed for this client"),
            ));
        }
        if !request.scopes.iter().any(|r| r == s) {
            request.scopes.push((*s).to_owned());
        }
    }
    request.nonce = one("nonce")?.map(str::to_owned);
    let method = one("code_challenge_method")?;
    match one("code_challenge")? {
        Some(challenge) => {
            pkce::check_challenge(challenge, method).map_err(invalid_request)?;
            request.code_challenge = Some(challenge.to_owned());
        }
        None if method.is_some() => {
            return Err(invalid_request(
                "code_challenge_method without code_challenge",
            ))
        }
        None if client.is_public() => {
            return Err(invalid_request(
                "a public client must use PKCE (code_challenge, S256)",
            ))
        }
        None => {}
    }
    let prompts: Vec<&str> = one("prompt")?
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    request.prompt = if prompts.contains(&"none") {
        if prompts.len() > 1 {
            return Err(invalid_request("prompt=none with another value"));
        }
        Prompt::None
    } else if prompts.contains(&"login") {
        Prompt::Login
    } else {
        // consent and select_account: one account per browser and no
        // consent screen for clients the administrator registered.
        Prompt::Default
    };
    request.max_age = match one("max_age")? {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| invalid_request("max_age is not a number of seconds"))?,
        ),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawOidc;

    fn config() -> OidcConfig {
        let text = r#"
issuer = "https://login.example.org"
signing_key_file = "/k.pem"
[[client]]
id = "app"
public = true
redirect_uris = ["https://app.example.org/cb?x=1"]
[[client]]
id = "web"
secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ck3W3kuvDbXDkTwVrTUtyHnKIhP+JP7pYypzqkV+cRk"
redirect_uris = ["https://web.example.org/cb"]
scopes = ["openid", "profile"]
"#;
        toml::from_str::<RawOidc>(text).unwrap().check().unwrap()
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("client_id", "web"),
            ("redirect_uri", "https://web.example.org/cb"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                p.push((k.to_string(), v.to_string()));
            }
        }
        p
    }

    fn redirect_error(r: Result<AuthorizeRequest, Refused>) -> (String, String) {
        match r {
            Err(Refused::Redirect { location, error }) => {
                (error.code.as_str().to_owned(), location)
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_is_taken() {
        let c = config();
        let r = parse(
            &params(&[("nonce", "n1"), ("prompt", "login"), ("max_age", "300")]),
            &c,
        )
        .unwrap();
        assert_eq!(r.scopes, vec!["openid", "profile"]);
        assert_eq!(r.nonce.as_deref(), Some("n1"));
        assert_eq!(r.prompt, Prompt::Login);
        assert_eq!(r.max_age, Some(300));
        assert_eq!(
            r.code_location("C0DE", &c.issuer),
            "https://web.example.org/cb?code=C0DE&state=s1&iss=https%3A%2F%2Flogin.example.org"
        );
        // Unknown scopes are ignored.
        let r = parse(&params(&[("scope", "openid something")]), &c).unwrap();
        assert_eq!(r.scopes, vec!["openid"]);
        // A public client with PKCE; the registered URI's own query stays.
        let r = parse(
            &params(&[
                ("client_id", "app"),
                ("redirect_uri", "https://app.example.org/cb?x=1"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]),
            &c,
        )
        .unwrap();
        assert!(r
            .code_location("c", &c.issuer)
            .starts_with("https://app.example.org/cb?x=1&code=c&state=s1"));
    }

    #[test]
    fn no_genuine_client_and_uri_no_redirect() {
        let c = config();
        for extra in [
            &[("client_id", "")][..],
            &[("client_id", "nobody")],
            &[("redirect_uri", "")],
            &[("redirect_uri", "https://web.example.org/cb/")],
            &[("redirect_uri", "https://web.example.org/cb?next=evil")],
            &[("redirect_uri", "https://evil.example/cb")],
        ] {
            match parse(&params(extra), &c) {
                Err(Refused::Page(_)) => {}
                other => panic!("{extra:?}: {other:?}"),
            }
        }
        let mut twice = params(&[]);
        twice.push(("redirect_uri".into(), "https://evil.example/cb".into()));
        assert!(matches!(parse(&twice, &c), Err(Refused::Page(_))));
    }

    #[test]
    fn other_errors_go_back_to_the_client() {
        let c = config();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("response_type", "token")], "unsupported_response_type"),
            (
                &[("response_type", "code id_token")],
                "unsupported_response_type",
            ),
            (&[("response_type", "")], "invalid_request"),
            (&[("response_mode", "fragment")], "invalid_request"),
            (&[("scope", "profile")], "invalid_scope"),
            (&[("scope", "openid email")], "invalid_scope"),
            (&[("code_challenge", CHALLENGE)], "invalid_request"),
            (
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
            ),
            (&[("code_challenge_method", "S256")], "invalid_request"),
            (&[("prompt", "none login")], "invalid_request"),
            (&[("max_age", "-1")], "invalid_request"),
            (&[("request", "eyJ")], "request_not_supported"),
            (&[("request_uri", "https://x")], "request_uri_not_supported"),
        ];
        for (extra, code) in cases {
            let (got, location) = redirect_error(parse(&params(extra), &c));
            assert_eq!(&got, code, "{extra:?}");
            assert!(
                location.starts_with("https://web.example.org/cb?error="),
                "{location}"
            );
            assert!(location.contains("&state=s1&iss="), "{location}");
        }
        // A public client without PKCE.
        let (got, _) = redirect_error(parse(
            &params(&[
                ("client_id", "app"),
                ("redirect_uri", "https://app.example.org/cb?x=1"),
            ]),
            &c,
        ));
        assert_eq!(got, "invalid_request");
        let mut twice = params(&[]);
        twice.push(("scope".into(), "openid".into()));
        assert_eq!(redirect_error(parse(&twice, &c)).0, "invalid_request");
        let long = "x".repeat(crate::params::MAX_PARAM_LEN + 1);
        assert_eq!(
            redirect_error(parse(&params(&[("nonce", &long)]), &c)).0,
            "invalid_request"
        );
    }
}
