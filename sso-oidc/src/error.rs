//! RFC 6749 (section 4.1.2.1, 5.2) and OpenID Connect Core (3.1.2.6)
//! error codes: one type, its HTTP status at the token endpoint and its
//! JSON body, so every endpoint answers the same way.

use serde_json::json;

/// An error the protocol names, with a description for the client's
/// developer (never a code, token or secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

/// The error codes the provider answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    LoginRequired,
    /// `prompt=none`, and the login needs the user (a second factor).
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }

    /// The status of this error at the token endpoint (RFC 6749 5.2):
    /// 401 for a client that failed to authenticate, 500/503 for the
    /// server's own trouble, 400 otherwise.
    pub fn token_status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub fn body(&self) -> String {
        json!({ "error": self.code.as_str(), "error_description": self.description }).to_string()
    }
}

/// Shorthand for the many `invalid_request` answers.
pub(crate) fn invalid_request(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let e = OAuthError::new(ErrorCode::InvalidClient, "unknown client");
        assert_eq!(e.token_status(), 401);
        let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], "unknown client");
        assert_eq!(invalid_request("x").token_status(), 400);
        assert_eq!(
            OAuthError::new(ErrorCode::TemporarilyUnavailable, "store").token_status(),
            503
        );
    }
}
