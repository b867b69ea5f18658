//! The server's configuration: one TOML file, validated as a whole at
//! startup. Every error names the file and the key that is wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

/// Where the server looks for its configuration without `--config`.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/sso/sso-server.toml";

/// Session secrets shorter than this are refused: they key the session
/// cookies and the CSRF tokens.
pub const MIN_SESSION_SECRET_LEN: usize = 32;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    #[serde(default = "default_throttle_window")]
    pub window_seconds: u64,
    #[serde(default = "default_max_failures_per_user")]
    pub max_failures_per_user: u32,
    #[serde(default = "default_max_failures_per_address")]
    pub max_failures_per_address: u32,
}

impl Default for RawThrottle {
    fn default() -> Self {
        RawThrottle {
            window_seconds: default_throttle_window(),
            max_failures_per_user: default_max_failures_per_user(),
            max_failures_per_address: default_max_failures_per_address(),
        }
    }
}

fn default_throttle_window() -> u64 {
    300
}
fn default_max_failures_per_user() -> u32 {
    5
}
fn default_max_failures_per_address() -> u32 {
    20
}

/// Which backend checks passwords.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    UsersFile(PathBuf),
    Pam(String),
    Ldap(Box<crate::auth::ldap::LdapConfig>),
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
    pub session_lifetime: u64,
    pub session_secrets: Vec<String>,
    pub cookie_name: String,
    pub auth: AuthConfig,
    pub account_cache_seconds: u64,
    pub exchange: Vec<(Regex, Regex)>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub throttle_window: u64,
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    pub title: String,
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

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError(format!("{file}: {e}")))?;
        let err = |key: &str, msg: String| ConfigError(format!("{file}: `{key}`: {msg}"));

        if raw.domain.is_empty() || raw.domain.contains('|') {
            return Err(err(
                "domain",
                "must be non-empty and must not contain `|`".into(),
            ));
        }
        let listen: SocketAddr = raw.listen.parse().map_err(|e| {
            err(
                "listen",
                format!("{:?} is not an address:port ({e})", raw.listen),
            )
        })?;
        if raw.public_key_files.is_empty() {
            return Err(err(
                "public_key_files",
                "at least one public key file is needed".into(),
            ));
        }
        let compile = |key: &str, p: &str| {
            whole_match(p).map_err(|e| err(key, format!("bad regular expression {p:?}: {e}")))
        };
        let allowed_services =
            match (&raw.allowed_services, raw.allow_any_service) {
                (Some(_), true) => {
                    return Err(err(
                        "allow_any_service",
                        "cannot be combined with `allowed_services`; remove one".into(),
                    ))
                }
                (Some(list), false) => {
                    if list.is_empty() {
                        return Err(err(
                            "allowed_services",
                            "is empty: no service could get a ticket".into(),
                        ));
                    }
                    Some(
                        list.iter()
                            .map(|p| compile("allowed_services", p))
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
                (None, true) => None,
                (None, false) => return Err(err(
                    "allowed_services",
                    "is missing: list the services (regular expressions) that may get tickets, \
                     or set `allow_any_service = true` to issue tickets for any service"
                        .into(),
                )),
            };
        let trusted_proxies = raw
            .trusted_proxies
            .iter()
            .map(|a| {
                a.parse::<IpAddr>().map_err(|e| {
                    err(
                        "trusted_proxies",
                        format!("{a:?} is not an IP address ({e})"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if raw.tickets.default_lifetime == 0 {
            return Err(err(
                "tickets.default_lifetime",
                "must be positive (seconds)".into(),
            ));
        }
        let ticket_lifetimes = raw
            .tickets
            .lifetimes
            .iter()
            .map(|l| {
                if l.seconds == 0 {
                    return Err(err("tickets.lifetimes.seconds", "must be positive".into()));
                }
                Ok((compile("tickets.lifetimes.service", &l.service)?, l.seconds))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if raw.session.lifetime == 0 {
            return Err(err("session.lifetime", "must be positive (seconds)".into()));
        }
        if raw.session.secrets.is_empty() {
            return Err(err(
                "session.secrets",
                "at least one secret is needed (the first one encrypts, all decrypt)".into(),
            ));
        }
        for (i, s) in raw.session.secrets.iter().enumerate() {
            if s.len() < MIN_SESSION_SECRET_LEN {
                return Err(err(
                    "session.secrets",
                    format!(
                        "secret #{} is shorter than {MIN_SESSION_SECRET_LEN} characters",
                        i + 1
                    ),
                ));
            }
        }
        let cookie_name = raw.session.cookie_name.clone();
        if cookie_name.is_empty()
            || !cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(
                "session.cookie_name",
                "must be non-empty, letters, digits, `_` or `-`".into(),
            ));
        }
        let auth = match raw.auth.backend.as_str() {
            "users_file" => {
                AuthConfig::UsersFile(raw.auth.users_file.clone().ok_or_else(|| {
                    err(
                        "auth.users_file",
                        "is required with backend = \"users_file\"".into(),
                    )
                })?)
            }
            "pam" => {
                let s = raw.auth.pam_service.clone().ok_or_else(|| {
                    err(
                        "auth.pam_service",
                        "is required with backend = \"pam\"".into(),
                    )
                })?;
                if s.is_empty() || s.contains('/') || s.contains('\0') {
                    return Err(err("auth.pam_service", "must be a PAM service name".into()));
                }
                AuthConfig::Pam(s)
            }
            "ldap" => {
                let l = raw.auth.ldap.clone().ok_or_else(|| {
                    err(
                        "auth.ldap",
                        "an [auth.ldap] table is required with backend = \"ldap\"".into(),
                    )
                })?;
                let l = crate::auth::ldap::LdapConfig::from_raw(l)
                    .map_err(|(key, msg)| err(key, msg))?;
                AuthConfig::Ldap(Box::new(l))
            }
            other => {
                return Err(err(
                    "auth.backend",
                    format!("unknown backend {other:?} (users_file, pam or ldap)"),
                ))
            }
        };
        let exchange = raw
            .exchange
            .iter()
            .map(|r| {
                Ok((
                    compile("exchange.from", &r.from)?,
                    compile("exchange.to", &r.to)?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max = |key: &str, v: u32| {
            if v == 0 {
                Err(err(key, "must be positive".into()))
            } else {
                Ok(v)
            }
        };
        Ok(Config {
            path: path.to_path_buf(),
            domain: raw.domain,
            listen,
            secret_key_file: raw.secret_key_file,
            public_key_files: raw.public_key_files,
            allowed_services,
            trusted_proxies,
            default_ticket_lifetime: raw.tickets.default_lifetime,
            ticket_lifetimes,
            session_lifetime: raw.session.lifetime,
            session_secrets: raw.session.secrets,
            cookie_name,
            auth,
            account_cache_seconds: raw.auth.account_cache_seconds,
            exchange,
            tls: raw.tls.map(|t| (t.cert_file, t.key_file)),
            throttle_window: raw.throttle.window_seconds.max(1),
            max_failures_per_user: max(
                "throttle.max_failures_per_user",
                raw.throttle.max_failures_per_user,
            )?,
            max_failures_per_address: max(
                "throttle.max_failures_per_address",
                raw.throttle.max_failures_per_address,
            )?,
            title: raw.title,
        })
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
secrets = ["0123456789abcdef0123456789abcdef"]
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
        assert_eq!(c.session_lifetime, 12 * 3600);
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
    fn the_example_config_parses() {
        let text = include_str!("../examples/sso-server.toml");
        let c = parse(text).unwrap();
        assert_eq!(c.domain, "example.org");
        assert!(c.service_allowed("wiki.example.org/"));
        assert_eq!(c.ticket_lifetime("imap.example.org/"), 300);
        assert!(c.exchange_allowed("webmail.example.org/", "imap.example.org/"));
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse(&BASE.replace("0123456789abcdef0123456789abcdef", "short"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("session.secrets"), "{e}");
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
