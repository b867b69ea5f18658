//! The configuration file as written: the serde structures and their
//! defaults. Nothing here is validated; [`super::check`] does that.

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::auth::ldap_config::RawLdap;

/// The configuration file as written (see `docs/sso-server.md`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub domain: String,
    #[serde(default = "default_listen")]
    pub listen: String,
    pub secret_key_file: PathBuf,
    pub public_key_files: Vec<PathBuf>,
    pub allowed_services: Option<Vec<String>>,
    #[serde(default)]
    pub allow_any_service: bool,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub tickets: RawTickets,
    pub session: RawSession,
    pub auth: RawAuth,
    #[serde(default)]
    pub exchange: Vec<RawExchange>,
    pub tls: Option<RawTls>,
    #[serde(default)]
    pub throttle: RawThrottle,
    /// Shown as the title of the login page.
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default)]
    pub metrics: RawMetrics,
    /// `[[second_factor]]` tables (see [`crate::second_factor`]).
    #[serde(default)]
    pub second_factor: Vec<crate::second_factor::RawRule>,
    /// `[webauthn]` (see [`crate::webauthn`]).
    pub webauthn: Option<crate::webauthn::RawWebauthn>,
    #[serde(default)]
    pub ui: RawUi,
    /// `[oidc]` and its `[[oidc.client]]` tables: the OpenID Connect
    /// provider, checked by `sso_oidc::config`.
    pub oidc: Option<sso_oidc::RawOidc>,
}

/// The `[ui]` table: the pages' design (see [`crate::ui`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub templates: Option<PathBuf>,
    pub logo: Option<String>,
}

/// The `[metrics]` table: `GET /metrics`, off unless enabled, and then
/// for loopback clients only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    #[serde(default)]
    pub enabled: bool,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

fn default_title() -> String {
    "Single sign-on".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTickets {
    #[serde(default = "default_ticket_lifetime")]
    pub default_lifetime: u64,
    #[serde(default)]
    pub lifetimes: Vec<RawLifetime>,
}

impl Default for RawTickets {
    fn default() -> Self {
        RawTickets {
            default_lifetime: default_ticket_lifetime(),
            lifetimes: Vec::new(),
        }
    }
}

fn default_ticket_lifetime() -> u64 {
    3600
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLifetime {
    pub service: String,
    pub seconds: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    #[serde(default = "default_session_lifetime")]
    pub lifetime: u64,
    /// Missing is refused by the validator, with a message that says how
    /// to make one (the example ships none).
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default = "default_cookie_name")]
    pub cookie_name: String,
}

fn default_session_lifetime() -> u64 {
    12 * 3600
}

/// `__Host-` so that no sibling host can plant a session (see CSRF_COOKIE).
fn default_cookie_name() -> String {
    "__Host-sso_session".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub backend: String,
    pub users_file: Option<PathBuf>,
    pub pam_service: Option<String>,
    pub ldap: Option<RawLdap>,
    /// How long an LDAP or PAM account lookup of the silent ticket path
    /// is kept (see `auth::account_cache`).
    #[serde(default = "default_account_cache_seconds")]
    pub account_cache_seconds: u64,
    /// The TOTP secrets (see [`crate::totp`]).
    pub totp_file: Option<PathBuf>,
}

fn default_account_cache_seconds() -> u64 {
    300
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExchange {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The `[throttle]` table; see `docs/sso-server.md` for the trade-offs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawThrottle {
    pub window_seconds: u64,
    pub max_failures_per_user_address: u32,
    pub max_failures_per_address: u32,
    pub max_failures_per_ipv6_48: u32,
    pub user_window_seconds: u64,
    pub max_failures_per_user: u32,
    pub max_tracked: usize,
    /// The second-factor count: its window and its limit (per user).
    pub second_factor_window_seconds: u64,
    pub max_second_factor_failures: u32,
    /// `"memory"`, or a `redis://` / `rediss://` URL.
    pub store: String,
}

impl Default for RawThrottle {
    fn default() -> Self {
        RawThrottle {
            window_seconds: 300,
            max_failures_per_user_address: 5,
            max_failures_per_address: 20,
            max_failures_per_ipv6_48: 100,
            user_window_seconds: 3600,
            max_failures_per_user: 50,
            max_tracked: crate::throttle::MAX_TRACKED,
            second_factor_window_seconds: 900,
            max_second_factor_failures: 5,
            store: "memory".to_owned(),
        }
    }
}
