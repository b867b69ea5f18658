//! The checks of each section of a parsed file, each error naming the file
//! and the key.

use std::net::{IpAddr, SocketAddr};

use regex::Regex;

use super::*;

/// Builds errors that name the file and the key.
pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
}

impl Checker<'_> {
    pub(super) fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError(format!("{}: `{key}`: {}", self.file, msg.into()))
    }

    pub(super) fn regex(&self, key: &str, pattern: &str) -> Result<Regex, ConfigError> {
        whole_match(pattern)
            .map_err(|e| self.err(key, format!("bad regular expression {pattern:?}: {e}")))
    }

    pub(super) fn positive<T: Default + PartialEq>(
        &self,
        key: &str,
        v: T,
    ) -> Result<T, ConfigError> {
        if v == T::default() {
            Err(self.err(key, "must be positive"))
        } else {
            Ok(v)
        }
    }

    /// `domain`, `listen` and the key files.
    pub(super) fn top_level(&self, raw: &RawConfig) -> Result<SocketAddr, ConfigError> {
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
    pub(super) fn services(&self, raw: &RawConfig) -> Result<Option<Vec<Regex>>, ConfigError> {
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

    pub(super) fn trusted_proxies(&self, list: &[String]) -> Result<Vec<IpAddr>, ConfigError> {
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
    pub(super) fn tickets(&self, t: &RawTickets) -> Result<(u64, Vec<(Regex, u64)>), ConfigError> {
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
    pub(super) fn session(&self, s: &RawSession) -> Result<SessionConfig, ConfigError> {
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
    pub(super) fn auth(&self, a: &RawAuth) -> Result<AuthConfig, ConfigError> {
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
    pub(super) fn ldap(
        &self,
        l: Option<&RawLdap>,
    ) -> Result<crate::auth::ldap_config::LdapConfig, ConfigError> {
        let l = l.cloned().ok_or_else(|| {
            self.err(
                "auth.ldap",
                "an [auth.ldap] table is required with backend = \"ldap\"",
            )
        })?;
        crate::auth::ldap_config::LdapConfig::from_raw(l).map_err(|(key, msg)| self.err(key, msg))
    }

    /// `[[exchange]]` rules.
    pub(super) fn exchange(
        &self,
        rules: &[RawExchange],
    ) -> Result<Vec<(Regex, Regex)>, ConfigError> {
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
    pub(super) fn throttle(&self, t: &RawThrottle) -> Result<ThrottleConfig, ConfigError> {
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
            second_factor_window: self.positive(
                "throttle.second_factor_window_seconds",
                t.second_factor_window_seconds,
            )?,
            max_second_factor_failures: self.positive(
                "throttle.max_second_factor_failures",
                t.max_second_factor_failures,
            )?,
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
    pub(super) fn ui(&self, u: &RawUi) -> Result<crate::ui::UiConfig, ConfigError> {
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
    pub(super) fn store(&self, s: &str) -> Result<StoreConfig, ConfigError> {
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
    pub(super) fn second_factor(
        &self,
        raw: &RawConfig,
    ) -> Result<crate::second_factor::Policy, ConfigError> {
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

impl Checker<'_> {
    /// `[oidc]`: every problem `sso_oidc::config` finds, each naming its
    /// key, in one message.
    pub(super) fn oidc(
        &self,
        raw: Option<&sso_oidc::RawOidc>,
    ) -> Result<Option<sso_oidc::OidcConfig>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        raw.check().map(Some).map_err(|errors| {
            let all: Vec<String> = errors
                .iter()
                .map(|e| self.err(&e.key, e.message.clone()).0)
                .collect();
            ConfigError(all.join("\n"))
        })
    }
}

/// A TOML error as `FILE:LINE: message`, without the excerpt of the line
/// that toml's own Display shows: the line may hold a session secret or an
/// LDAP password, and this message goes to the log.
pub(super) fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
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
