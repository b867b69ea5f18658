//! The OpenID Connect provider's refusals and their answers, which are
//! the protocol's own rather than the login pages': an error sent back to
//! a genuine client's redirect URI, RFC 6749's JSON at the token endpoint
//! (`invalid_client` with 401 and `WWW-Authenticate`), RFC 6750's bearer
//! challenge at userinfo; and a page, never a redirect, for a client or
//! redirect URI that is not genuine. [`App::refuse`] calls
//! [`App::oidc_answer`] for them: still one place per refusal.

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use sso_oidc::authorize::Refused;
use sso_oidc::error::ErrorCode;
use sso_oidc::OAuthError;

use crate::app::{App, Resp};

/// Why the provider refused. Display is the message of a page.
#[derive(Debug, thiserror::Error)]
pub enum OidcRefusal {
    /// The client or its redirect URI is not genuine (unknown client,
    /// unregistered redirect URI): a page, never a redirect.
    #[error("This login request is not valid: {0}.")]
    BadClient(String),
    /// An authorization error for a genuine client: back to its
    /// redirect URI (which carries the error, `state` and `iss`).
    #[error("{error}")]
    Redirect { location: String, error: OAuthError },
    /// A refused token request (JSON).
    #[error("{0}")]
    Token(OAuthError),
    /// A refused access token at userinfo.
    #[error("{0}")]
    InvalidToken(String),
    /// A refused end-session request (a page).
    #[error("This logout request is not valid: {0}.")]
    EndSession(String),
}

/// An authorization request refused by `sso_oidc::authorize::parse`.
pub(crate) fn from_authorize(refused: Refused) -> OidcRefusal {
    match refused {
        Refused::Page(message) => OidcRefusal::BadClient(message),
        Refused::Redirect { location, error } => OidcRefusal::Redirect { location, error },
    }
}

/// A token endpoint refusal.
pub(crate) fn token_error(code: ErrorCode, description: &str) -> OidcRefusal {
    OidcRefusal::Token(OAuthError::new(code, description))
}

impl OidcRefusal {
    pub fn status(&self) -> StatusCode {
        match self {
            OidcRefusal::BadClient(_) | OidcRefusal::EndSession(_) => StatusCode::BAD_REQUEST,
            OidcRefusal::Redirect { .. } => StatusCode::FOUND,
            OidcRefusal::Token(error) => {
                StatusCode::from_u16(error.token_status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            OidcRefusal::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn heading(&self) -> &'static str {
        match self {
            OidcRefusal::BadClient(_) => "Invalid login request",
            OidcRefusal::EndSession(_) => "Invalid logout request",
            _ => "Refused",
        }
    }

    /// The `check` of the log line.
    pub fn check(&self) -> String {
        match self {
            OidcRefusal::BadClient(m) | OidcRefusal::EndSession(m) => m.clone(),
            OidcRefusal::Redirect { error, .. } | OidcRefusal::Token(error) => error.to_string(),
            OidcRefusal::InvalidToken(m) => format!("invalid_token: {m}"),
        }
    }
}

impl App {
    /// The answer of a refusal that is no page: `None` for the pages.
    pub(crate) fn oidc_answer(&self, refusal: &OidcRefusal) -> Option<Resp> {
        match refusal {
            OidcRefusal::BadClient(_) | OidcRefusal::EndSession(_) => None,
            OidcRefusal::Redirect { location, .. } => Some(self.redirect(location.clone())),
            OidcRefusal::Token(error) => {
                let mut resp = self.json_answer(refusal.status(), error.body());
                if error.code == ErrorCode::InvalidClient {
                    // RFC 6749 5.2: the scheme the client may authenticate with.
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"oidc\""),
                    );
                }
                Some(resp)
            }
            OidcRefusal::InvalidToken(message) => {
                let body = serde_json::json!({
                    "error": "invalid_token",
                    "error_description": message,
                })
                .to_string();
                let mut resp = self.json_answer(StatusCode::UNAUTHORIZED, body);
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                Some(resp)
            }
        }
    }

    /// A JSON answer of the provider: never cached (RFC 6749 5.1), and
    /// readable by a browser application of any origin (its tokens, not
    /// cookies, are what it proves itself with).
    pub(crate) fn json_answer(&self, status: StatusCode, body: String) -> Resp {
        let mut resp = self.respond(status, "application/json", body);
        let h = resp.headers_mut();
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        resp
    }
}
