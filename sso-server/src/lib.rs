//! The SSO login server: authenticates people, mints tickets for allowed
//! services, keeps a stateless session in a sealed cookie, and logs out of
//! every service the session logged into. See `docs/sso-server.md`.

pub mod app;
pub mod auth;
pub mod config;
pub mod endpoints;
pub mod file_trust;
pub mod html;
pub mod listener;
pub mod params;
pub mod secret;
pub mod session;
pub mod throttle;

use std::sync::Arc;

use auth::Backend;
use config::{AuthConfig, Config};

/// Builds the configured authentication backend.
pub fn backend(config: &Config) -> Result<Arc<dyn Backend>, String> {
    Ok(match &config.auth {
        AuthConfig::UsersFile(p) => Arc::new(
            auth::users_file::UsersFile::open(p).map_err(|e| format!("auth.users_file: {e}"))?,
        ),
        AuthConfig::Pam(s) => {
            Arc::new(auth::pam::Pam::new(s).map_err(|e| format!("auth.pam_service: {e}"))?)
        }
        AuthConfig::Ldap(l) => Arc::new(auth::ldap::Ldap::new((**l).clone())),
    })
}
