//! The server's configuration: one TOML file, validated as a whole at
//! startup. Every error names the file and the key that is wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use sso_core::file_trust;

use crate::secret;

/// Where the server looks for its configuration without `--config`.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/sso/sso-server.toml";

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

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawLdap {
    pub url: String,
    /// `uid={user},ou=people,dc=example,dc=org`: bind directly as this DN.
    pub user_dn_template: Option<String>,
    /// Otherwise: search `search_base` for `search_filter` (`{user}` is
    /// replaced, filter-escaped), bound as `bind_dn` if given.
    pub search_base: Option<String>,
    #[serde(default = "default_search_filter")]
    pub search_filter: String,
    pub bind_dn: Option<String>,
    pub bind_password: Option<String>,
    pub group_base: Option<String>,
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    #[serde(default = "default_group_attribute")]
    pub group_attribute: String,
    #[serde(default = "default_ldap_timeout")]
    pub timeout_seconds: u64,
    /// The attribute that holds the login name. After the bind it is read
    /// from the user's entry and must equal the typed name exactly: LDAP
    /// matches names ignoring case and spaces, and `ALICE` or `alice ` must
    /// not become a second identity beside `alice`.
    #[serde(default = "default_user_attribute")]
    pub user_attribute: String,
    /// TLS: an `ldaps://` URL, or StartTLS on an `ldap://` one.
    #[serde(default)]
    pub starttls: bool,
    /// PEM CA certificates the server's certificate must chain to
    /// (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// Allows plain `ldap://` to a host that is not loopback.
    #[serde(default)]
    pub allow_cleartext: bool,
}

fn default_user_attribute() -> String {
    "uid".to_owned()
}

fn default_search_filter() -> String {
    "(uid={user})".to_owned()
}

fn default_group_filter() -> String {
    "(&(objectClass=groupOfNames)(member={dn}))".to_owned()
}

fn default_group_attribute() -> String {
    "cn".to_owned()
}

fn default_ldap_timeout() -> u64 {
    5
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
            store: "memory".to_owned(),
        }
    }
}

/// Which backend checks passwords.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    UsersFile(PathBuf),
    Pam(String),
    Ldap(Box<crate::auth::ldap::LdapConfig>),
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

/// Compiles a service pattern so that it must match the whole name: an
/// unanchored `example\.org/` would otherwise allow `evil.com/example.org/`.
pub fn whole_match(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

/// Builds errors that name the file and the key.
struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError(format!("{}: `{key}`: {}", self.file, msg.into()))
    }

    fn regex(&self, key: &str, pattern: &str) -> Result<Regex, ConfigError> {
        whole_match(pattern)
            .map_err(|e| self.err(key, format!("bad regular expression {pattern:?}: {e}")))
    }

    fn positive<T: Default + PartialEq>(&self, key: &str, v: T) -> Result<T, ConfigError> {
        if v == T::default() {
            Err(self.err(key, "must be positive"))
        } else {
            Ok(v)
        }
    }

    /// `domain`, `listen` and the key files.
    fn top_level(&self, raw: &RawConfig) -> Result<SocketAddr, ConfigError> {
        if raw.domain.is_empty() || raw.domain.contains('|') {
            return Err(self.err("domain", "must be non-empty and must not contain `|`"));
        }
        if raw.public_key_files.is_empty() {
            return Err(self.err("public_key_files", "at least one public key file is needed"));
        }
        raw.listen.parse().map_err(|e| {
            self.err(
                "listen",
                format!("{:?} is not an address:port ({e})", raw.listen),
            )
        })
    }

    /// `allowed_services` / `allow_any_service`.
    fn services(&self, raw: &RawConfig) -> Result<Option<Vec<Regex>>, ConfigError> {
        match (&raw.allowed_services, raw.allow_any_service) {
            (Some(_), true) => Err(self.err(
                "allow_any_service",
                "cannot be combined with `allowed_services`; remove one",
            )),
            (Some(list), false) if list.is_empty() => Err(self.err(
                "allowed_services",
                "is empty: no service could get a ticket",
            )),
            (Some(list), false) => list
                .iter()
                .map(|p| self.regex("allowed_services", p))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            (None, true) => Ok(None),
            (None, false) => Err(self.err(
                "allowed_services",
                "is missing: list the services (regular expressions) that may get tickets, \
                 or set `allow_any_service = true` to issue tickets for any service",
            )),
        }
    }

    fn trusted_proxies(&self, list: &[String]) -> Result<Vec<IpAddr>, ConfigError> {
        list.iter()
            .map(|a| {
                a.parse::<IpAddr>().map_err(|e| {
                    self.err(
                        "trusted_proxies",
                        format!("{a:?} is not an IP address ({e})"),
                    )
                })
            })
            .collect()
    }

    /// `[tickets]`: the default lifetime and the per-service rules.
    fn tickets(&self, t: &RawTickets) -> Result<(u64, Vec<(Regex, u64)>), ConfigError> {
        let default = self.positive("tickets.default_lifetime", t.default_lifetime)?;
        let rules = t
            .lifetimes
            .iter()
            .map(|l| {
                Ok((
                    self.regex("tickets.lifetimes.service", &l.service)?,
                    self.positive("tickets.lifetimes.seconds", l.seconds)?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((default, rules))
    }

    /// `[session]`: every secret must be a real one (see [`crate::secret`]).
    fn session(&self, s: &RawSession) -> Result<SessionConfig, ConfigError> {
        let lifetime = self.positive("session.lifetime", s.lifetime)?;
        if s.secrets.is_empty() {
            return Err(self.err(
                "session.secrets",
                format!(
                    "at least one secret is needed (the first one encrypts, all decrypt); {}",
                    secret::HOW_TO_MAKE_ONE
                ),
            ));
        }
        for (i, value) in s.secrets.iter().enumerate() {
            secret::check(value).map_err(|e| {
                self.err(
                    "session.secrets",
                    format!("secret #{} {e}; {}", i + 1, secret::HOW_TO_MAKE_ONE),
                )
            })?;
        }
        let name = &s.cookie_name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(self.err(
                "session.cookie_name",
                "must be non-empty, letters, digits, `_` or `-`",
            ));
        }
        Ok(SessionConfig {
            lifetime,
            secrets: s.secrets.clone(),
            cookie_name: name.clone(),
        })
    }

    /// `[auth]`: the backend and its settings.
    fn auth(&self, a: &RawAuth) -> Result<AuthConfig, ConfigError> {
        Ok(match a.backend.as_str() {
            "users_file" => AuthConfig::UsersFile(a.users_file.clone().ok_or_else(|| {
                self.err(
                    "auth.users_file",
                    "is required with backend = \"users_file\"",
                )
            })?),
            "pam" => {
                let s = a.pam_service.clone().ok_or_else(|| {
                    self.err("auth.pam_service", "is required with backend = \"pam\"")
                })?;
                if s.is_empty() || s.contains('/') || s.contains('\0') {
                    return Err(self.err("auth.pam_service", "must be a PAM service name"));
                }
                AuthConfig::Pam(s)
            }
            "ldap" => AuthConfig::Ldap(Box::new(self.ldap(a.ldap.as_ref())?)),
            other => {
                return Err(self.err(
                    "auth.backend",
                    format!("unknown backend {other:?} (users_file, pam or ldap)"),
                ))
            }
        })
    }

    /// `[auth.ldap]`.
    fn ldap(&self, l: Option<&RawLdap>) -> Result<crate::auth::ldap::LdapConfig, ConfigError> {
        let l = l.cloned().ok_or_else(|| {
            self.err(
                "auth.ldap",
                "an [auth.ldap] table is required with backend = \"ldap\"",
            )
        })?;
        crate::auth::ldap::LdapConfig::from_raw(l).map_err(|(key, msg)| self.err(key, msg))
    }

    /// `[[exchange]]` rules.
    fn exchange(&self, rules: &[RawExchange]) -> Result<Vec<(Regex, Regex)>, ConfigError> {
        rules
            .iter()
            .map(|r| {
                Ok((
                    self.regex("exchange.from", &r.from)?,
                    self.regex("exchange.to", &r.to)?,
                ))
            })
            .collect()
    }

    /// `[throttle]`: every limit positive, and the brakes no tighter than
    /// the locks they stand behind.
    fn throttle(&self, t: &RawThrottle) -> Result<ThrottleConfig, ConfigError> {
        let c = ThrottleConfig {
            window: self.positive("throttle.window_seconds", t.window_seconds)?,
            max_per_user_address: self.positive(
                "throttle.max_failures_per_user_address",
                t.max_failures_per_user_address,
            )?,
            max_per_address: self.positive(
                "throttle.max_failures_per_address",
                t.max_failures_per_address,
            )?,
            max_per_ipv6_48: self.positive(
                "throttle.max_failures_per_ipv6_48",
                t.max_failures_per_ipv6_48,
            )?,
            user_window: self.positive("throttle.user_window_seconds", t.user_window_seconds)?,
            max_per_user: self
                .positive("throttle.max_failures_per_user", t.max_failures_per_user)?,
            max_tracked: self.positive("throttle.max_tracked", t.max_tracked)?,
            store: self.store(&t.store)?,
        };
        if c.max_per_user < c.max_per_user_address {
            return Err(self.err(
                "throttle.max_failures_per_user",
                "is the global brake behind `max_failures_per_user_address` and must not be \
                 lower than it (a stranger could then lock the user out everywhere)",
            ));
        }
        Ok(c)
    }

    /// `[ui]`: the logo is an `https://` URL (the pages' CSP allows images
    /// from `'self'` and `https:` only); the templates directory is read
    /// and checked when the server state is built (`crate::ui`).
    fn ui(&self, u: &RawUi) -> Result<crate::ui::UiConfig, ConfigError> {
        if let Some(logo) = &u.logo {
            let ok = url::Url::parse(logo).is_ok_and(|url| url.scheme() == "https");
            if !ok {
                return Err(self.err("ui.logo", "must be an https:// URL"));
            }
        }
        Ok(crate::ui::UiConfig {
            templates: u.templates.clone(),
            logo: u.logo.clone(),
        })
    }

    /// `throttle.store`: `"memory"` or a URL the Redis client accepts
    /// (checked here, connected to at the first login). The URL is never
    /// repeated in the message: it may hold a password.
    fn store(&self, s: &str) -> Result<StoreConfig, ConfigError> {
        if s == "memory" {
            return Ok(StoreConfig::Memory);
        }
        if !(s.starts_with("redis://") || s.starts_with("rediss://")) {
            return Err(self.err("throttle.store", "must be \"memory\" or a redis:// URL"));
        }
        if s.starts_with("rediss://") {
            return Err(self.err(
                "throttle.store",
                "rediss:// (TLS) is not supported; use redis:// on a trusted network or a \
                 local TLS tunnel",
            ));
        }
        match redis::Client::open(s) {
            Ok(_) => Ok(StoreConfig::Redis(s.to_owned())),
            Err(e) => Err(self.err(
                "throttle.store",
                format!("is not a valid Redis URL ({:?})", e.kind()),
            )),
        }
    }
}

impl Checker<'_> {
    /// `[[second_factor]]`, and a second factor to ask for when there is a
    /// table.
    fn second_factor(&self, raw: &RawConfig) -> Result<crate::second_factor::Policy, ConfigError> {
        let policy = crate::second_factor::Policy::from_raw(&raw.second_factor)
            .map_err(|(key, msg)| self.err(key, msg))?;
        if !policy.is_empty() && raw.auth.totp_file.is_none() && raw.webauthn.is_none() {
            return Err(self.err(
                "auth.totp_file",
                "or a [webauthn] table is required with [[second_factor]] tables: the \
                 second factor is checked against the TOTP secrets or the security keys",
            ));
        }
        Ok(policy)
    }
}

/// A TOML error as `FILE:LINE: message`, without the excerpt of the line
/// that toml's own Display shows: the line may hold a session secret or an
/// LDAP password, and this message goes to the log.
fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            ConfigError(format!("{file}:{line}: {}", e.message()))
        }
        None => ConfigError(format!("{file}: {}", e.message())),
    }
}

impl Config {
    /// Reads and validates the file, after checking that no one but root
    /// or the service's own user could have written it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        file_trust::check_file(path, file_trust::effective_uid())
            .map_err(|e| ConfigError(e.to_string()))?;
        let text = std::fs::read_to_string(path)
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
            Some(w) => Some(w.check().map_err(|(key, msg)| check.err(key, msg))?),
            None => None,
        };
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
            if w.credentials_file.exists() {
                files.push(("webauthn.credentials_file", w.credentials_file.as_path()));
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
domain = "example.org"
listen = "127.0.0.1:9000"
secret_key_file = "/k/secret.key"
public_key_files = ["/k/public.key"]
allowed_services = ['[a-z]+\.example\.org/']
[tickets]
default_lifetime = 600
lifetimes = [{ service = 'imap\.example\.org/', seconds = 60 }]
[session]
secrets = ["q3Jx8Zb0VvN2mY7tLc4hRk1sPw9eAg6uTn5dFo0iHyE="]
[auth]
backend = "users_file"
users_file = "/k/users"
[[exchange]]
from = 'webmail\.example\.org/'
to = 'imap\.example\.org/'
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/sso/test.toml"))
    }

    #[test]
    fn parses_and_applies_rules() {
        let c = parse(BASE).unwrap();
        assert!(c.service_allowed("wiki.example.org/"));
        // Patterns match whole names only.
        assert!(!c.service_allowed("evil.com/wiki.example.org/"));
        assert!(!c.service_allowed("wiki.example.org/x"));
        assert_eq!(c.ticket_lifetime("imap.example.org/"), 60);
        assert_eq!(c.ticket_lifetime("wiki.example.org/"), 600);
        assert!(c.exchange_allowed("webmail.example.org/", "imap.example.org/"));
        assert!(!c.exchange_allowed("imap.example.org/", "webmail.example.org/"));
        assert_eq!(c.session.lifetime, 12 * 3600);
    }

    #[test]
    fn every_key_and_tls_file_is_checked_for_trust() {
        let c = parse(&format!(
            "{BASE}\n[tls]\ncert_file = \"/k/cert.pem\"\nkey_file = \"/k/key.pem\"\n"
        ))
        .unwrap();
        let keys: Vec<(&str, &str)> = c
            .trusted_files()
            .into_iter()
            .map(|(k, p)| (k, p.to_str().unwrap()))
            .collect();
        assert_eq!(
            keys,
            [
                ("secret_key_file", "/k/secret.key"),
                ("public_key_files", "/k/public.key"),
                ("tls.cert_file", "/k/cert.pem"),
                ("tls.key_file", "/k/key.pem"),
            ]
        );
    }

    #[test]
    fn missing_allowed_services_is_refused_and_says_why() {
        let text = BASE.replace("allowed_services = ['[a-z]+\\.example\\.org/']\n", "");
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("allowed_services"), "{e}");
        assert!(e.contains("allow_any_service"), "{e}");
        assert!(e.contains("/etc/sso/test.toml"), "{e}");
        let any = text.replace("[tickets]", "allow_any_service = true\n[tickets]");
        assert!(parse(&any).unwrap().service_allowed("anything/"));
    }

    #[test]
    fn the_example_config_refuses_to_start_until_given_a_secret() {
        let text = include_str!("../examples/sso-server.toml");
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains("`session.secrets`"), "{e}");
        assert!(e.contains("sso-server gen-secret"), "{e}");
        // Uncommenting the line as it stands is no better.
        let pasted = text.replace("# secrets = [", "secrets = [");
        let e = parse(&pasted).unwrap_err().to_string();
        assert!(e.contains("`session.secrets`"), "{e}");
        let edited = text.replace(
            "# secrets = [\"PASTE THE OUTPUT OF sso-server gen-secret HERE\"]",
            &format!("secrets = [{:?}]", crate::secret::generate()),
        );
        let c = parse(&edited).unwrap();
        assert_eq!(c.domain, "example.org");
        assert!(c.service_allowed("wiki.example.org/"));
        assert_eq!(c.ticket_lifetime("imap.example.org/"), 300);
        assert!(c.exchange_allowed("webmail.example.org/", "imap.example.org/"));
    }

    #[test]
    fn the_throttle_store_is_memory_or_a_redis_url_never_echoed() {
        assert_eq!(parse(BASE).unwrap().throttle.store, StoreConfig::Memory);
        let c = parse(&format!(
            "{BASE}\n[throttle]\nstore = \"redis://:s3cret@127.0.0.1:6380/2\"\n"
        ))
        .unwrap();
        assert!(matches!(c.throttle.store, StoreConfig::Redis(_)));
        assert!(!format!("{c:?}").contains("s3cret"));
        for bad in [
            "memcache://127.0.0.1/",
            "redis://:s3cret@[::1/",
            "rediss://:s3cret@h/",
            "",
        ] {
            let e = parse(&format!("{BASE}\n[throttle]\nstore = {bad:?}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("`throttle.store`"), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn a_syntax_error_names_the_line_but_not_its_text() {
        // The excerpt toml would show holds the session secret.
        let broken = BASE.replace("E=\"]", "E=\"");
        let e = parse(&broken).unwrap_err().to_string();
        let line = BASE.lines().position(|l| l.starts_with("secrets")).unwrap();
        assert!(e.starts_with("/etc/sso/test.toml:"), "{e}");
        assert!(!e.contains("q3Jx8Zb0"), "the secret is in the error: {e}");
        let at: usize = e.split(':').nth(1).unwrap().parse().unwrap();
        assert!(at > line, "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        for weak in [
            "short",
            "CHANGE-ME-to-a-long-random-string-(openssl rand -base64 33)",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "this-is-a-long-but-not-encoded-session-secret!",
        ] {
            let e = parse(&BASE.replace("q3Jx8Zb0VvN2mY7tLc4hRk1sPw9eAg6uTn5dFo0iHyE=", weak))
                .unwrap_err()
                .to_string();
            assert!(e.contains("`session.secrets`: secret #1"), "{e}");
            assert!(e.contains("gen-secret"), "{e}");
        }
        let e = parse(&format!("{BASE}\n[throttle]\nmax_failures_per_user = 2\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("throttle.max_failures_per_user"), "{e}");
        let e = parse(&BASE.replace("users_file\"", "nosuch\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("auth.backend"), "{e}");
        let e = parse(&BASE.replace("127.0.0.1:9000", "nowhere"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen"), "{e}");
        let e = parse(&format!("{BASE}\nbogus = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = parse(&BASE.replace("'[a-z]+", "'[a-z"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("allowed_services"), "{e}");
    }
}
