//! The configuration file (docs/sso-gate.md): TOML, unknown keys refused,
//! the file and every key file trust-checked (`sso_core::file_trust`).
//! Each route's verifier and flow settings are built through the one
//! verifier configuration of the core (`sso_core::spec::VerifierSpec`), so
//! keys, pins, service, domain, groups and cookies follow the rules every
//! other verifier follows. Every error names its key (`route[2].service`).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sso_core::file_trust;
use sso_core::flow::{CookieSecure, Mode, Settings};
use sso_core::proxy::TrustedProxy;
use sso_core::spec::{self, Field, KeySource, KeySpec, VerifierSpec};
use sso_core::{PublicKey, ServicePattern};

/// Where the package installs the configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/sso-gate/sso-gate.toml";

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: String,
    login_server: String,
    domain: String,
    public_key_files: Vec<KeyEntry>,
    #[serde(default)]
    cookie_secure: Option<String>,
    #[serde(default)]
    cookie_prefix: Option<String>,
    #[serde(default)]
    clock_skew: u64,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    binding_store: Option<String>,
    #[serde(default)]
    log_level: Option<String>,
    #[serde(default)]
    workers: Option<crate::runtime::FileWorkers>,
    #[serde(default)]
    tls: Option<FileTls>,
    #[serde(default, rename = "route")]
    routes: Vec<FileRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// `"/etc/sso/public.key"`, or `{ file = "...", services = "REGEX" }` for a
/// key pinned to services.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyEntry {
    Path(PathBuf),
    Pinned(PinnedKey),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinnedKey {
    file: PathBuf,
    services: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    mode: RouteMode,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default = "yes")]
    preserve_host: bool,
}

fn yes() -> bool {
    true
}

/// `mode` of a route.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    Browser,
    Api,
    Public,
}

/// Where the gate listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Where a reverse-proxy route sends its requests (and the key of its
/// connections in the upstream pool).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Upstream {
    /// `http://HOST:PORT`: the authority connected to.
    Http {
        authority: String,
    },
    Unix(PathBuf),
}

impl Upstream {
    /// The `Host` the upstream gets unless `preserve_host` (a unix socket
    /// has no name of its own).
    pub fn host(&self) -> &str {
        match self {
            Upstream::Http { authority } => authority,
            Upstream::Unix(_) => "localhost",
        }
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::Http { authority } => write!(f, "http://{authority}"),
            Upstream::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Who may pass a route.
#[derive(Debug, Clone)]
pub enum Access {
    /// Everyone (`mode = "public"`); identity headers are still stripped.
    Public,
    /// A ticket, as the flow decides under these settings.
    Protected(Box<Settings>),
}

/// One checked route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Lower-case host without port; `None`: any host.
    pub host: Option<String>,
    /// Path prefix, starting and ending with `/`.
    pub path: String,
    pub access: Access,
    pub upstream: Option<Upstream>,
    pub preserve_host: bool,
}

/// `binding_store`.
#[derive(Clone, PartialEq, Eq)]
pub enum BindingStoreKind {
    Memory,
    /// `redis://...`, the URL as written.
    Redis(String),
}

/// Without the URL, which may hold Redis's password.
impl std::fmt::Debug for BindingStoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindingStoreKind::Memory => f.write_str("Memory"),
            BindingStoreKind::Redis(_) => f.write_str("Redis(..)"),
        }
    }
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub listen: Listen,
    pub binding_store: BindingStoreKind,
    /// `workers`: threads serving requests (read at start only).
    pub workers: crate::runtime::Workers,
    /// `log_level = "debug": the flow's debug lines too (which ticket, by
    /// fingerprint, failed which check).
    pub debug_log: bool,
    /// `[tls]`: https on the listener.
    pub tls: Option<crate::tls::Tls>,
    pub routes: Vec<Route>,
    pub trusted_proxies: Vec<TrustedProxy>,
}

/// Why a configuration was refused; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Untrusted(file_trust::Untrusted),
    #[error("{file}: cannot read: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: `{key}`: {message}")]
    Key {
        file: String,
        key: String,
        message: String,
    },
}

impl Config {
    /// Reads the file through its trust check, then checks everything it
    /// names.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut opened = file_trust::open_file(path, file_trust::effective_uid())
            .map_err(ConfigError::Untrusted)?;
        let mut text = String::new();
        opened
            .file
            .read_to_string(&mut text)
            .map_err(|error| ConfigError::Read {
                file: path.display().to_string(),
                error,
            })?;
        Config::parse(&text, path)
    }

    /// Checks a configuration's text (`path` names it in errors and is
    /// the base of nothing: every path in it must be absolute).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.clone(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let err = |key: &str, message: String| ConfigError::Key {
            file: file.clone(),
            key: key.to_owned(),
            message,
        };
        let listen = parse_listen(&raw.listen).map_err(|e| err("listen", e.to_string()))?;
        let login_server = spec::login_server(&raw.login_server)
            .map_err(|e| err("login_server", e.to_string()))?;
        let domain = spec::domain(&raw.domain).map_err(|e| err("domain", e.to_string()))?;
        let clock_skew =
            spec::clock_skew(raw.clock_skew).map_err(|e| err("clock_skew", e.to_string()))?;
        if let Some(p) = &raw.cookie_prefix {
            spec::cookie_prefix(p).map_err(|e| err("cookie_prefix", e.to_string()))?;
        }
        let cookie_secure = match raw.cookie_secure.as_deref() {
            None | Some("auto") => CookieSecure::Auto,
            Some("on") => CookieSecure::On,
            Some("off") => CookieSecure::Off,
            Some(other) => {
                return Err(err(
                    "cookie_secure",
                    format!("{other:?}: expected \"auto\", \"on\" or \"off\""),
                ))
            }
        };
        let binding_store = match raw.binding_store.as_deref() {
            None | Some("memory") => BindingStoreKind::Memory,
            Some(url) if url.starts_with("redis://") => {
                // The URL may hold Redis's password: never echoed.
                crate::bindings::RedisBindings::new(url)
                    .map_err(|_| err("binding_store", "not a valid redis:// URL".to_owned()))?;
                BindingStoreKind::Redis(url.to_owned())
            }
            Some(_) => {
                return Err(err(
                    "binding_store",
                    "expected \"memory\" or redis://HOST:PORT/".to_owned(),
                ))
            }
        };
        let trusted_proxies = raw
            .trusted_proxies
            .iter()
            .map(|t| TrustedProxy::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| err("trusted_proxies", m))?;
        let keys = load_keys(&raw.public_key_files).map_err(|(key, m)| err(&key, m))?;
        let base = VerifierSpec {
            keys,
            domain: Some(domain),
            clock_skew,
            login_server: Some(login_server),
            cookie_prefix: raw.cookie_prefix.clone(),
            cookie_secure,
            ..VerifierSpec::default()
        };
        if raw.routes.is_empty() {
            return Err(err(
                "route",
                "at least one [[route]] is required".to_owned(),
            ));
        }
        let mut routes = Vec::with_capacity(raw.routes.len());
        for (i, r) in raw.routes.iter().enumerate() {
            let route =
                check_route(r, &base).map_err(|(key, m)| err(&format!("route[{i}].{key}"), m))?;
            if let Some(j) = routes
                .iter()
                .position(|o: &Route| o.host == route.host && o.path == route.path)
            {
                return Err(err(
                    &format!("route[{i}].path"),
                    format!("route[{j}] has the same host and path already"),
                ));
            }
            routes.push(route);
        }
        let debug_log = match raw.log_level.as_deref() {
            None | Some("info") => false,
            Some("debug") => true,
            Some(other) => {
                return Err(err(
                    "log_level",
                    format!("{other:?}: expected \"info\" or \"debug\""),
                ))
            }
        };
        let workers =
            crate::runtime::Workers::parse(raw.workers.as_ref()).map_err(|m| err("workers", m))?;
        let tls = match &raw.tls {
            Some(t) => {
                Some(crate::tls::load(&t.cert_file, &t.key_file).map_err(|(k, m)| err(k, m))?)
            }
            None => None,
        };
        Ok(Config {
            path: path.to_path_buf(),
            listen,
            binding_store,
            workers,
            debug_log,
            tls,
            routes,
            trusted_proxies,
        })
    }
}

/// What is wrong with a `listen` or `upstream` address.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?}: a unix socket path must be absolute")]
    RelativeSocket(String),
    #[error("{0:?}: expected ADDRESS:PORT or unix:/PATH")]
    Listen(String),
    #[error("{0:?}: expected http://HOST:PORT or unix:/PATH")]
    UpstreamScheme(String),
    #[error("{0:?}: expected http://HOST:PORT with no path, user or query")]
    UpstreamAuthority(String),
}

/// `unix:/ABSOLUTE/PATH`, or None when `value` names no unix socket.
fn unix_socket(value: &str) -> Option<Result<PathBuf, AddressError>> {
    let p = Path::new(value.strip_prefix("unix:")?);
    Some(if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Err(AddressError::RelativeSocket(value.to_owned()))
    })
}

/// `HOST:PORT` or `unix:/ABSOLUTE/PATH`.
fn parse_listen(value: &str) -> Result<Listen, AddressError> {
    if let Some(p) = unix_socket(value) {
        return p.map(Listen::Unix);
    }
    value
        .parse()
        .map(Listen::Tcp)
        .map_err(|_| AddressError::Listen(value.to_owned()))
}

/// Every key file read once through its trust check, with its pin; the
/// error names the entry (`public_key_files[1]`).
fn load_keys(entries: &[KeyEntry]) -> Result<Vec<KeySpec>, (String, String)> {
    if entries.is_empty() {
        return Err((
            "public_key_files".into(),
            "name at least one key file".into(),
        ));
    }
    let uid = file_trust::effective_uid();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let (file, services) = match entry {
            KeyEntry::Path(p) => (p, None),
            KeyEntry::Pinned(k) => (&k.file, Some(&k.services)),
        };
        let key: PublicKey = spec::load_key_file(file, uid)
            .map_err(|e| (format!("public_key_files[{i}]"), e.to_string()))?;
        if let Some(s) = services {
            let _: ServicePattern = spec::key_services(s)
                .map_err(|e| (format!("public_key_files[{i}].services"), e.to_string()))?;
        }
        out.push(KeySpec {
            source: KeySource::Loaded(key),
            services: services.cloned(),
        });
    }
    Ok(out)
}

/// One route; the error is (key within the route, message).
fn check_route(r: &FileRoute, base: &VerifierSpec) -> Result<Route, (String, String)> {
    let bad = |key: &str, m: String| (key.to_owned(), m);
    let host = match &r.host {
        Some(h) => {
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !ok {
                return Err(bad("host", format!("{h:?}: expected a host name")));
            }
            Some(h.to_ascii_lowercase())
        }
        None => None,
    };
    let upstream = r
        .upstream
        .as_deref()
        .map(parse_upstream)
        .transpose()
        .map_err(|e| bad("upstream", e.to_string()))?;
    let (access, service_path) = if r.mode == RouteMode::Public {
        if r.service.is_some() || !r.groups.is_empty() {
            return Err(bad(
                if r.service.is_some() {
                    "service"
                } else {
                    "groups"
                },
                "a public route authenticates nobody: remove it".to_owned(),
            ));
        }
        (Access::Public, None)
    } else {
        let spec = VerifierSpec {
            service: r.service.clone(),
            groups: r.groups.clone(),
            mode: if r.mode == RouteMode::Api {
                Mode::Api
            } else {
                Mode::Browser
            },
            ..base.clone()
        };
        let settings = spec.settings().map_err(|errors| {
            let first = errors.0.first();
            let key = match first.map(|e| e.field) {
                Some(Field::Service) => "service",
                Some(Field::Groups) => "groups",
                Some(f) => f.name(),
                None => "service",
            };
            bad(key, errors.to_string())
        })?;
        let p = settings.service.path().to_owned();
        (Access::Protected(Box::new(settings)), Some(p))
    };
    let path = match (&r.path, service_path) {
        (Some(p), Some(s)) if !p.starts_with(&s) => {
            return Err(bad(
                "path",
                format!(
                    "{p:?} is not under the service's path {s:?}: a ticket for the service \
                     covers its path only"
                ),
            ))
        }
        (Some(p), _) => p.clone(),
        (None, Some(s)) => s,
        (None, None) => return Err(bad("path", "is required for a public route".to_owned())),
    };
    if !path.starts_with('/')
        || !path.ends_with('/')
        || path.bytes().any(|b| b <= b' ' || b >= 0x7f)
    {
        return Err(bad(
            "path",
            format!("{path:?}: a path prefix starts and ends with '/' and holds no space"),
        ));
    }
    Ok(Route {
        host,
        path,
        access,
        upstream,
        preserve_host: r.preserve_host,
    })
}

/// `http://HOST:PORT` (no path) or `unix:/ABSOLUTE/PATH`.
fn parse_upstream(value: &str) -> Result<Upstream, AddressError> {
    if let Some(p) = unix_socket(value) {
        return p.map(Upstream::Unix);
    }
    let Some(rest) = value.strip_prefix("http://") else {
        return Err(AddressError::UpstreamScheme(value.to_owned()));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !ok {
        return Err(AddressError::UpstreamAuthority(value.to_owned()));
    }
    let authority = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty())
        && !authority.ends_with(']')
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok(Upstream::Http { authority })
}

#[cfg(test)]
mod tests;
