//! The SSO login server: authenticates people, mints tickets for allowed
//! services, keeps a stateless session in a sealed cookie, and logs out of
//! every service the session logged into. See `docs/sso-server.md`.

pub mod app;
pub mod auth;
pub mod config;
pub mod endpoints;
pub mod enrolment;
pub mod enrolment_codes;
pub mod escape;
pub mod html;
pub mod layout;
pub mod listener;
pub mod login_flow;
pub mod metrics;
pub mod net;
pub mod oidc;
pub mod oidc_backchannel;
pub mod oidc_store;
pub mod params;
pub mod private_file;
pub mod reload;
pub mod second_factor;
pub mod secret;
pub mod service_pattern;
pub mod session;
pub mod target;
pub mod throttle;
pub mod throttle_redis;
pub mod throttle_store;
pub mod throttle_table;
pub mod tls;
pub mod totp;
pub mod ui;
pub mod warnings;
pub mod webauthn;
pub mod webauthn_ceremonies;

use std::sync::Arc;
use std::time::Duration;

use auth::account_cache::CachedAccounts;
use auth::Backend;
use config::{AuthConfig, Config};

/// Builds the configured authentication backend.
/// The users file is read on every lookup; PAM and LDAP accounts are
/// cached for `[auth] account_cache_seconds`.
pub fn backend(config: &Config) -> Result<Arc<dyn Backend>, app::StartupError> {
    use app::StartupError;
    let cache_time = Duration::from_secs(config.account_cache_seconds);
    Ok(match &config.auth {
        AuthConfig::UsersFile(p) => Arc::new(
            auth::users_file::UsersFile::open(p).map_err(StartupError::key("auth.users_file"))?,
        ),
        AuthConfig::Pam(s) => Arc::new(CachedAccounts::new(
            auth::pam::Pam::new(s).map_err(StartupError::key("auth.pam_service"))?,
            cache_time,
        )),
        AuthConfig::Ldap(l) => Arc::new(CachedAccounts::new(
            auth::ldap::Ldap::new((**l).clone()),
            cache_time,
        )),
    })
}
