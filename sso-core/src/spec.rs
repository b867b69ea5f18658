//! One verifier configuration for every consumer: key files (trust-checked
//! by [`crate::file_trust`], each optionally pinned to services), service,
//! domain, clock skew, groups, and a web location's cookie, mode and
//! binding settings. Each rule exists here once; mod_sso's directives,
//! pam_sso's options, libsso's structs and the Python package only spell
//! the keys their own way.
//!
//! Two ways in, one set of rules: the field checks ([`service`],
//! [`domain`], [`clock_skew`], [`groups`], [`load_key_file`], ...) for a
//! consumer that reports each value where it reads it (httpd stops at the
//! directive's line), and [`VerifierSpec`], whose [`VerifierSpec::verifier`]
//! and [`VerifierSpec::settings`] check everything at once and answer with
//! the ready verifier or settings, or with every error, each naming its
//! [`Field`].

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::file_trust::{self, Rule, Untrusted};
use crate::flow::{CookiePolicy, CookieSecure, Mode, Settings};
use crate::keys::{KeyError, PublicKey, ServicePattern};
use crate::verifier::{ConfigError, KeySet, Verifier, MAX_CLOCK_SKEW};
use crate::web::ServiceName;

/// The configuration keys, by their meaning. Each consumer maps them to
/// its own spelling ([`Field::name`] is libsso's and Python's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// A public key file (`SSOPublicKeyFile`, `key=`).
    KeyFile,
    /// A key given as bytes (libsso's `public_keys`).
    KeyBytes,
    /// The services a key is pinned to (`services=`).
    KeyServices,
    Service,
    Domain,
    ClockSkew,
    Groups,
    LoginServer,
    CookiePrefix,
}

impl Field {
    /// The field's name in libsso's structs and the Python package.
    pub fn name(self) -> &'static str {
        match self {
            Field::KeyFile => "public_key_files",
            Field::KeyBytes => "public_keys",
            Field::KeyServices => "services",
            Field::Service => "service",
            Field::Domain => "domain",
            Field::ClockSkew => "clock_skew",
            Field::Groups => "groups",
            Field::LoginServer => "login_server",
            Field::CookiePrefix => "cookie_prefix",
        }
    }
}

/// What is wrong with a field's value.
#[derive(Debug)]
pub enum Problem {
    /// A required field is not given.
    Missing,
    /// The value breaks a rule (the message says which).
    Invalid(Cow<'static, str>),
    /// A key file someone besides root or the process's user could write.
    Untrusted(Untrusted),
    /// A key file that cannot be read or holds no usable key.
    Key(KeyError),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("is required"),
            Problem::Invalid(why) => f.write_str(why),
            Problem::Untrusted(e) => e.fmt(f),
            Problem::Key(e) => e.fmt(f),
        }
    }
}

/// One refused field. Display is the problem alone: the caller puts its
/// own name for [`SpecError::field`] in front.
#[derive(Debug)]
pub struct SpecError {
    pub field: Field,
    pub problem: Problem,
}

impl SpecError {
    fn invalid(field: Field, why: impl Into<Cow<'static, str>>) -> SpecError {
        SpecError {
            field,
            problem: Problem::Invalid(why.into()),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.problem.fmt(f)
    }
}

impl std::error::Error for SpecError {}

/// Every refused field of a [`VerifierSpec`], in field order.
#[derive(Debug)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field.name(), e.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Reads a public key file that only root or `trusted_uid` could have
/// written (the file and every directory above it, see
/// [`crate::file_trust`]); the key is read through the very file that was
/// judged. A file that cannot be examined is reported as the key read
/// reports it (missing, unreadable).
pub fn load_key_file(path: &Path, trusted_uid: u32) -> Result<PublicKey, SpecError> {
    let key_error = |e| SpecError {
        field: Field::KeyFile,
        problem: Problem::Key(e),
    };
    match file_trust::open_file(path, trusted_uid) {
        Ok(opened) => PublicKey::from_open_file(opened.file, path).map_err(key_error),
        Err(Untrusted {
            rule: Rule::Unreadable(_),
            ..
        }) => match PublicKey::from_file(path) {
            Err(e) => Err(key_error(e)),
            // Readable now but not a moment ago: not a file to trust.
            Ok(_) => Err(SpecError::invalid(
                Field::KeyFile,
                format!("{} changed while it was checked", path.display()),
            )),
        },
        Err(untrusted) => Err(SpecError {
            field: Field::KeyFile,
            problem: Problem::Untrusted(untrusted),
        }),
    }
}

/// A key given as bytes (raw 32 bytes or PEM).
pub fn key_bytes(data: &[u8]) -> Result<PublicKey, SpecError> {
    PublicKey::from_bytes(data).map_err(|why| SpecError::invalid(Field::KeyBytes, why))
}

/// `services=REGEX`: the services a key may sign for.
pub fn key_services(pattern: &str) -> Result<ServicePattern, SpecError> {
    ServicePattern::new(pattern).map_err(|why| SpecError::invalid(Field::KeyServices, why))
}

/// `HOST[:PORT]/PATH/`, see [`ServiceName::parse`].
pub fn service(value: &str) -> Result<ServiceName, SpecError> {
    ServiceName::parse(value).map_err(|why| SpecError::invalid(Field::Service, why))
}

/// Refuses a value holding what a ticket field or a log line cannot hold:
/// control characters, `|`, `"`.
fn plain_text(field: Field, value: &str) -> Result<(), SpecError> {
    if value
        .chars()
        .any(|c| c.is_control() || c == '|' || c == '"')
    {
        return Err(SpecError::invalid(
            field,
            "the value must not hold control characters, '|' or '\"'",
        ));
    }
    Ok(())
}

/// A ticket's domain field: not empty, and nothing a ticket field or a
/// log line cannot hold (control characters, `|`, `"`).
pub fn domain(value: &str) -> Result<String, SpecError> {
    if value.is_empty() {
        return Err(SpecError::invalid(
            Field::Domain,
            "the value must not be empty",
        ));
    }
    plain_text(Field::Domain, value)?;
    Ok(value.to_owned())
}

/// Seconds a ticket stays good after its expiry, at most
/// [`MAX_CLOCK_SKEW`].
pub fn clock_skew(seconds: u64) -> Result<u64, SpecError> {
    if seconds > MAX_CLOCK_SKEW {
        return Err(SpecError::invalid(
            Field::ClockSkew,
            "more than 3600 seconds of clock skew is refused",
        ));
    }
    Ok(seconds)
}

/// [`clock_skew`] written as decimal digits.
pub fn clock_skew_text(value: &str) -> Result<u64, SpecError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecError::invalid(
            Field::ClockSkew,
            "expected a number of seconds",
        ));
    }
    // All digits: only a number too large to hold fails to parse, and
    // that is over the cap too.
    clock_skew(value.parse().unwrap_or(u64::MAX))
}

/// One group name: what a ticket's group list can hold (no space,
/// control character, `,` or `|`).
pub fn group(name: &str) -> Result<&str, SpecError> {
    if name.is_empty() {
        return Err(SpecError::invalid(Field::Groups, "empty group name"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '|' || c == ',')
    {
        return Err(SpecError::invalid(
            Field::Groups,
            // Escaped: the name may hold control characters, and the
            // message goes to logs.
            format!(
                "group name '{}' holds a space, control character, ',' or '|'",
                name.escape_debug()
            ),
        ));
    }
    Ok(name)
}

/// A comma-separated list of group names, added to `into` without
/// duplicates. Space around a name is ignored; an empty item (`a,,b`, a
/// list naming none) is refused: it is more likely a typo than meant.
pub fn groups(list: &str, into: &mut Vec<String>) -> Result<(), SpecError> {
    for name in list.split(',').map(str::trim) {
        let name = group(name)?;
        if !into.iter().any(|g| g == name) {
            into.push(name.to_owned());
        }
    }
    Ok(())
}

/// The login server's URL, see [`crate::web::check_login_server_url`].
pub fn login_server(value: &str) -> Result<String, SpecError> {
    plain_text(Field::LoginServer, value)?;
    crate::web::check_login_server_url(value)
        .map_err(|why| SpecError::invalid(Field::LoginServer, why))?;
    Ok(value.to_owned())
}

/// The prefix of path-scoped cookie names.
pub fn cookie_prefix(value: &str) -> Result<String, SpecError> {
    let is_name_char = |b: u8| b.is_ascii_alphanumeric() || b"_-.".contains(&b);
    if value.is_empty() || !value.bytes().all(is_name_char) {
        return Err(SpecError::invalid(
            Field::CookiePrefix,
            "a cookie name prefix is made of letters, digits, '_', '-' and '.'",
        ));
    }
    Ok(value.to_owned())
}

/// Where a key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A file, trust-checked and read by [`load_key_file`].
    File(PathBuf),
    /// Raw or PEM bytes.
    Bytes(Vec<u8>),
    /// A key already loaded by the field check (mod_sso reads each
    /// `SSOPublicKeyFile` at its line).
    Loaded(PublicKey),
}

/// One key and the services it may sign for (`None`: any).
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub source: KeySource,
    pub services: Option<String>,
}

impl KeySpec {
    pub fn file(path: impl Into<PathBuf>) -> KeySpec {
        KeySpec {
            source: KeySource::File(path.into()),
            services: None,
        }
    }
}

/// A verifier's configuration, and a web location's, as given: checked
/// all at once by [`VerifierSpec::verifier`] or [`VerifierSpec::settings`].
#[derive(Debug, Clone)]
pub struct VerifierSpec {
    pub keys: Vec<KeySpec>,
    pub service: Option<String>,
    pub domain: Option<String>,
    /// Seconds; at most [`MAX_CLOCK_SKEW`].
    pub clock_skew: u64,
    /// Groups of which a ticket must hold one; empty: none required.
    pub groups: Vec<String>,
    /// Besides root, the one owner a key file may have (the process's
    /// user, [`file_trust::effective_uid`], unless told otherwise).
    pub trusted_uid: u32,
    /// Web locations only ([`VerifierSpec::settings`]).
    pub login_server: Option<String>,
    pub cookie_prefix: Option<String>,
    pub cookie_secure: CookieSecure,
    pub mode: Mode,
    pub binding: bool,
}

impl Default for VerifierSpec {
    fn default() -> VerifierSpec {
        VerifierSpec {
            keys: Vec::new(),
            service: None,
            domain: None,
            clock_skew: 0,
            groups: Vec::new(),
            trusted_uid: file_trust::effective_uid(),
            login_server: None,
            cookie_prefix: None,
            cookie_secure: CookieSecure::Auto,
            mode: Mode::Browser,
            binding: true,
        }
    }
}

/// Runs a field check, keeping its value or its error.
fn checked<T>(errors: &mut Vec<SpecError>, result: Result<T, SpecError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A required setting through its check, as [`checked`]; an absent one is
/// recorded as [`Problem::Missing`].
fn required<T>(
    errors: &mut Vec<SpecError>,
    field: Field,
    value: &Option<String>,
    check: impl FnOnce(&str) -> Result<T, SpecError>,
) -> Option<T> {
    match value {
        Some(v) => checked(errors, check(v)),
        None => {
            errors.push(SpecError {
                field,
                problem: Problem::Missing,
            });
            None
        }
    }
}

impl VerifierSpec {
    /// The verifier: keys, service, domain, clock skew and groups checked.
    pub fn verifier(&self) -> Result<Verifier, SpecErrors> {
        let mut errors = Vec::new();
        let verifier = self.check_verifier(&mut errors);
        match verifier {
            Some((v, _)) if errors.is_empty() => Ok(v),
            _ => Err(SpecErrors(errors)),
        }
    }

    /// A web location's settings: the verifier's fields and the login
    /// server, cookie prefix, groups, mode and binding.
    pub fn settings(&self) -> Result<Settings, SpecErrors> {
        let mut errors = Vec::new();
        let verifier = self.check_verifier(&mut errors);
        let login_server = required(
            &mut errors,
            Field::LoginServer,
            &self.login_server,
            login_server,
        );
        let prefix = match &self.cookie_prefix {
            Some(p) => checked(&mut errors, cookie_prefix(p).map(Some)),
            None => Some(None),
        };
        let (Some((verifier, service)), Some(login_server), Some(prefix), true) =
            (verifier, login_server, prefix, errors.is_empty())
        else {
            return Err(SpecErrors(errors));
        };
        Ok(Settings {
            service,
            login_server,
            verifier,
            groups: self.groups.clone(),
            cookies: CookiePolicy {
                secure: self.cookie_secure,
                prefix,
            },
            mode: self.mode,
            binding: self.binding,
            names: Default::default(),
        })
    }

    /// Checks every verifier field, pushing each error; the verifier when
    /// the fields allow one.
    fn check_verifier(&self, errors: &mut Vec<SpecError>) -> Option<(Verifier, ServiceName)> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for spec in &self.keys {
            let key = match &spec.source {
                KeySource::File(path) => checked(errors, load_key_file(path, self.trusted_uid)),
                KeySource::Bytes(data) => checked(errors, key_bytes(data)),
                KeySource::Loaded(key) => Some(*key),
            };
            let pin = match &spec.services {
                Some(p) => checked(errors, key_services(p).map(Some)),
                None => Some(None),
            };
            if let (Some(key), Some(pin)) = (key, pin) {
                keys.push((key, pin));
            }
        }
        if self.keys.is_empty() {
            errors.push(SpecError {
                field: Field::KeyFile,
                problem: Problem::Missing,
            });
        }
        let service = required(errors, Field::Service, &self.service, service);
        let domain = required(errors, Field::Domain, &self.domain, domain);
        let skew = checked(errors, clock_skew(self.clock_skew));
        for g in &self.groups {
            checked(errors, group(g));
        }
        let (Some(service), Some(domain), Some(skew)) = (service, domain, skew) else {
            return None;
        };
        if !errors.is_empty() {
            return None;
        }
        let built =
            KeySet::with_pins(&keys).and_then(|set| Verifier::new(set, service.as_str(), &domain));
        match built {
            Ok(v) => Some((v.with_clock_skew(skew), service)),
            Err(e) => {
                errors.push(config_error(e));
                None
            }
        }
    }
}

/// A verifier for `service` over an already built key set (mod_sso builds
/// one key set per server and a verifier per location).
pub fn verifier_for(
    keys: &KeySet,
    service: &ServiceName,
    domain: &str,
    skew: u64,
) -> Result<Verifier, SpecError> {
    let skew = clock_skew(skew)?;
    Verifier::new(keys.clone(), service.as_str(), domain)
        .map(|v| v.with_clock_skew(skew))
        .map_err(config_error)
}

fn config_error(e: ConfigError) -> SpecError {
    match e {
        ConfigError::NoKeys => SpecError {
            field: Field::KeyFile,
            problem: Problem::Missing,
        },
        ConfigError::EmptyService => SpecError {
            field: Field::Service,
            problem: Problem::Missing,
        },
        ConfigError::EmptyDomain => SpecError {
            field: Field::Domain,
            problem: Problem::Missing,
        },
        ConfigError::NoKeyForService => SpecError::invalid(
            Field::KeyServices,
            "every public key is pinned to other services",
        ),
    }
}

#[cfg(test)]
mod tests;
