//! The OpenID Connect provider of the login server, as decisions: what a
//! client is, whether an authorization or token request may go on, what a
//! code grants, what the tokens say and which keys sign them. The server
//! (sso-server) owns the transport, the session and the login page; every
//! rule of the protocol lives here, as pure functions with unit tests, the
//! way `sso_core::flow` holds the rules of the ticket protocol.
//!
//! - [`config`]: `[oidc]` and its `[[oidc.client]]` tables, checked, each
//!   error naming its key;
//! - [`access`]: access tokens (JWT, `typ: at+jwt`) and the userinfo check;
//! - [`authorize`]: the authorization request (code flow only, PKCE);
//! - [`token`]: the token request and client authentication;
//! - [`pkce`]: RFC 7636 `S256`;
//! - [`codes`]: authorization codes, single use, stored by hash;
//! - [`refresh`]: refresh tokens, rotated, reuse revoking their family;
//! - [`logout`]: RP-initiated logout and back-channel logout tokens;
//! - [`keys`]: signing keys, `kid`s and the JWKS;
//! - [`claims`]: the id_token and userinfo claims by scope;
//! - [`discovery`]: the endpoints and `/.well-known/openid-configuration`;
//! - [`error`]: RFC 6749 error codes and their JSON.

pub mod access;
pub mod authorize;
pub mod claims;
pub mod codes;
pub mod config;
pub mod discovery;
pub mod error;
pub mod keys;
pub mod logout;
mod params;
pub mod pkce;
pub mod refresh;
pub mod token;

pub use config::{Client, OidcConfig, RawClient, RawOidc};
pub use error::OAuthError;
