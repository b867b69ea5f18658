//! The server's configuration: one TOML file, validated as a whole at
//! startup. Every error names the file and the key that is wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use regex::Regex;
use sso_core::file_trust;

use crate::secret;

/// Where the server looks for its configuration without `--config`.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/sso/sso-server.toml";

mod check;
mod raw;
#[cfg(test)]
mod tests;

pub use raw::*;

use check::{syntax_error, Checker};

/// Which backend checks passwords.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    UsersFile(PathBuf),
    Pam(String),
    Ldap(Box<crate::auth::ldap_config::LdapConfig>),
}

/// The validated `[session]` table.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Seconds a login session lives; a sealed session that claims to
    /// live longer than this from now is refused.
    pub lifetime: u64,
    pub secrets: Vec<String>,
    pub cookie_name: String,
}

/// The validated `[throttle]` table (see [`crate::throttle`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    pub window: u64,
    pub max_per_user_address: u32,
    pub max_per_address: u32,
    pub max_per_ipv6_48: u32,
    pub user_window: u64,
    pub max_per_user: u32,
    pub max_tracked: usize,
    /// The window of the per-user second-factor failure count.
    pub second_factor_window: u64,
    /// Wrong second-factor codes per user per window.
    pub max_second_factor_failures: u32,
    pub store: StoreConfig,
}

/// Where the failure counts live (`throttle.store`).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In this process (the default): each replica counts on its own.
    Memory,
    /// In Redis, shared by every replica that names the same server.
    Redis(String),
}

/// Without the URL, which may hold a password.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Memory => f.write_str("Memory"),
            StoreConfig::Redis(_) => f.write_str("Redis(..)"),
        }
    }
}

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub domain: String,
    pub listen: SocketAddr,
    pub secret_key_file: PathBuf,
    pub public_key_files: Vec<PathBuf>,
    /// `None`: any service (only with `allow_any_service = true`).
    pub allowed_services: Option<Vec<Regex>>,
    pub trusted_proxies: Vec<IpAddr>,
    pub default_ticket_lifetime: u64,
    pub ticket_lifetimes: Vec<(Regex, u64)>,
    pub session: SessionConfig,
    pub auth: AuthConfig,
    pub account_cache_seconds: u64,
    pub exchange: Vec<(Regex, Regex)>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub throttle: ThrottleConfig,
    pub title: String,
    /// `[metrics] enabled`: serve `GET /metrics` to loopback clients.
    pub metrics_enabled: bool,
    pub ui: crate::ui::UiConfig,
    /// `[auth] totp_file`.
    pub totp_file: Option<PathBuf>,
    /// The `[[second_factor]]` tables.
    pub second_factor: crate::second_factor::Policy,
    /// `[webauthn]`.
    pub webauthn: Option<crate::webauthn::WebauthnConfig>,
    /// `[oidc]`: the OpenID Connect provider (off without the table).
    pub oidc: Option<sso_oidc::OidcConfig>,
}

/// A configuration error; Display names the file and the key.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub use crate::service_pattern::whole_match;

impl Config {
    /// Reads and validates the file, after checking that no one but root
    /// or the service's own user could have written it. The text is read
    /// through the descriptor that was checked, so a link or file swapped
    /// in after the check is not what is read.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut opened = file_trust::open_file(path, file_trust::effective_uid())
            .map_err(|e| ConfigError(e.to_string()))?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut opened.file, &mut text)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Config::parse(&text, path)
    }

    /// Validates the text, one section at a time.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(&file, text, &e))?;
        let check = Checker { file: &file };
        let listen = check.top_level(&raw)?;
        let allowed_services = check.services(&raw)?;
        let trusted_proxies = check.trusted_proxies(&raw.trusted_proxies)?;
        let (default_ticket_lifetime, ticket_lifetimes) = check.tickets(&raw.tickets)?;
        let session = check.session(&raw.session)?;
        let auth = check.auth(&raw.auth)?;
        let exchange = check.exchange(&raw.exchange)?;
        let throttle = check.throttle(&raw.throttle)?;
        let ui = check.ui(&raw.ui)?;
        let second_factor = check.second_factor(&raw)?;
        let webauthn = match &raw.webauthn {
            Some(w) => Some(
                w.check(!second_factor.is_empty())
                    .map_err(|(key, msg)| check.err(key, msg))?,
            ),
            None => None,
        };
        let oidc = check.oidc(raw.oidc.as_ref())?;
        Ok(Config {
            path: path.to_path_buf(),
            domain: raw.domain,
            listen,
            secret_key_file: raw.secret_key_file,
            public_key_files: raw.public_key_files,
            allowed_services,
            trusted_proxies,
            default_ticket_lifetime,
            ticket_lifetimes,
            session,
            auth,
            account_cache_seconds: raw.auth.account_cache_seconds,
            exchange,
            tls: raw.tls.map(|t| (t.cert_file, t.key_file)),
            throttle,
            title: raw.title,
            metrics_enabled: raw.metrics.enabled,
            ui,
            totp_file: raw.auth.totp_file,
            second_factor,
            webauthn,
            oidc,
        })
    }

    /// Every file whose content the server trusts: the configuration, the
    /// keys and the TLS files (see [`sso_core::file_trust`]).
    pub fn trusted_files(&self) -> Vec<(&'static str, &Path)> {
        let mut files = vec![("secret_key_file", self.secret_key_file.as_path())];
        for p in &self.public_key_files {
            files.push(("public_key_files", p.as_path()));
        }
        if let Some((cert, key)) = &self.tls {
            files.push(("tls.cert_file", cert.as_path()));
            files.push(("tls.key_file", key.as_path()));
        }
        if let Some(totp) = &self.totp_file {
            files.push(("auth.totp_file", totp.as_path()));
        }
        if let Some(w) = &self.webauthn {
            // It must exist (a missing one is refused, not read as empty).
            files.push(("webauthn.credentials_file", w.credentials_file.as_path()));
            if let Some(codes) = w.enrolment_codes_file.as_deref().filter(|p| p.exists()) {
                files.push(("webauthn.enrolment_codes_file", codes));
            }
        }
        if let Some(o) = &self.oidc {
            files.push(("oidc.signing_key_file", o.signing_key_file.as_path()));
            for p in &o.previous_key_files {
                files.push(("oidc.previous_key_files", p.as_path()));
            }
            if let Some(p) = &o.eddsa_key_file {
                files.push(("oidc.eddsa_key_file", p.as_path()));
            }
        }
        files
    }

    /// True when tickets may be issued for `service`.
    pub fn service_allowed(&self, service: &str) -> bool {
        match &self.allowed_services {
            None => true,
            Some(list) => list.iter().any(|r| r.is_match(service)),
        }
    }

    /// Ticket lifetime for `service`: the first matching rule, else the default.
    pub fn ticket_lifetime(&self, service: &str) -> u64 {
        self.ticket_lifetimes
            .iter()
            .find(|(r, _)| r.is_match(service))
            .map(|(_, s)| *s)
            .unwrap_or(self.default_ticket_lifetime)
    }

    /// True when a ticket for `from` may be exchanged for one for `to`.
    pub fn exchange_allowed(&self, from: &str, to: &str) -> bool {
        self.exchange
            .iter()
            .any(|(f, t)| f.is_match(from) && t.is_match(to))
    }
}
