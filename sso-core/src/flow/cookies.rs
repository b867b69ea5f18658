//! The names, scope and attributes of a location's three cookies: the
//! ticket, the login nonce and the ticket binding.
//!
//! On https they are `__Host-` cookies with `Path=/` and names derived from
//! the service: a browser keeps a `__Host-` cookie only if this very host
//! set it with `Secure`, `Path=/` and no `Domain`, so no sibling host (nor a
//! network attacker writing into a plain-http sibling) can plant one, and
//! services on one host never share a name. Where `__Host-` is impossible
//! (plain http, or `Secure` explicitly off) the names are the configured
//! prefix + `ticket`/`nonce`/`binding`, scoped to the service path: the
//! documented fallback for test setups.

use sha2::{Digest, Sha256};
use smallvec::SmallVec;

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::web::{self, ServiceName};

/// Whether the cookies get the `Secure` attribute, and with it which names
/// they have (see [`crate::flow::CookieNames`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CookieSecure {
    /// `Secure` when the request came over https (the default).
    #[default]
    Auto,
    On,
    /// Never `Secure`: the explicit fallback for plain-http test setups,
    /// which also selects the path-scoped cookie names.
    Off,
}

/// How a location's cookies are named and scoped.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CookiePolicy {
    pub secure: CookieSecure,
    /// Prefix of the path-scoped names (`PREFIX` + `ticket`/`nonce`/
    /// `binding`); `None`: [`DEFAULT_COOKIE_PREFIX`]. Used only where
    /// `__Host-` cookies are impossible (plain http, or `Secure` off).
    pub prefix: Option<String>,
}

/// The prefix of the path-scoped cookie names when none is configured.
pub const DEFAULT_COOKIE_PREFIX: &str = "SSO_";

/// The cookies of one location for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieNames {
    pub ticket: String,
    pub nonce: String,
    pub binding: String,
    /// `Path=` of every cookie: `/` for `__Host-` cookies, else the service path.
    pub path: String,
    pub secure: bool,
    /// The `__Host-` names: only cookies of these names are read.
    pub host_only: bool,
}

impl CookieNames {
    /// The names for `service` under `policy`, on a request that came over
    /// https or not.
    pub fn for_request(service: &ServiceName, policy: &CookiePolicy, https: bool) -> CookieNames {
        let secure = match policy.secure {
            CookieSecure::On => true,
            CookieSecure::Off => false,
            CookieSecure::Auto => https,
        };
        if secure {
            let base = host_cookie_base(service);
            CookieNames {
                ticket: base.clone(),
                nonce: format!("{base}-n"),
                binding: format!("{base}-b"),
                path: "/".to_owned(),
                secure,
                host_only: true,
            }
        } else {
            let prefix = policy.prefix.as_deref().unwrap_or(DEFAULT_COOKIE_PREFIX);
            CookieNames {
                ticket: format!("{prefix}ticket"),
                nonce: format!("{prefix}nonce"),
                binding: format!("{prefix}binding"),
                path: service.path().to_owned(),
                secure,
                host_only: false,
            }
        }
    }

    /// A `Set-Cookie` value for the session cookie `name`.
    pub fn set(&self, name: &str, value: &str) -> String {
        web::set_cookie(name, value, &self.path, self.secure)
    }

    /// A `Set-Cookie` value that removes the cookie `name`.
    pub fn clear(&self, name: &str) -> String {
        web::clear_cookie(name, &self.path, self.secure)
    }

    /// `Set-Cookie` values removing all three cookies.
    pub fn clear_all(&self) -> Vec<String> {
        [&self.ticket, &self.nonce, &self.binding]
            .into_iter()
            .map(|n| self.clear(n))
            .collect()
    }
}

/// A location's [`CookieNames`] for plain http and for https, computed once.
/// They are kept with the service and policy they were computed for, so a
/// settings value changed after its first use still gets its own names.
#[derive(Clone, Debug, Default)]
pub struct NamesCache(OnceLock<Computed>);

#[derive(Clone, Debug)]
struct Computed {
    service: ServiceName,
    policy: CookiePolicy,
    /// Plain http, https.
    names: [CookieNames; 2],
}

impl NamesCache {
    pub(crate) fn get(
        &self,
        service: &ServiceName,
        policy: &CookiePolicy,
        https: bool,
    ) -> Cow<'_, CookieNames> {
        let computed = self.0.get_or_init(|| Computed {
            service: service.clone(),
            policy: policy.clone(),
            names: [false, true].map(|https| CookieNames::for_request(service, policy, https)),
        });
        if computed.service == *service && computed.policy == *policy {
            Cow::Borrowed(&computed.names[usize::from(https)])
        } else {
            Cow::Owned(CookieNames::for_request(service, policy, https))
        }
    }
}

/// `__Host-sso-` + the first 5 bytes of SHA-256 over the service name, in
/// hex: short, and distinct for every service on a host.
fn host_cookie_base(service: &ServiceName) -> String {
    let digest = Sha256::digest(service.as_str().as_bytes());
    let hash = crate::web::hex(&digest[..5]);
    format!("__Host-sso-{hash}")
}

/// Every value of the cookie `name` across the request's `Cookie` headers,
/// in header order.
pub(crate) fn values<'a>(headers: &'a [&'a str], name: &'a str) -> Vec<&'a str> {
    headers
        .iter()
        .flat_map(|h| web::cookie_values(h, name))
        .collect()
}

/// A request's cookies, parsed once: a warm request reads its ticket and
/// its binding cookie (and on https looks for planted names) from one
/// parse of its `Cookie` headers. Kept on the stack for the usual few (a
/// warm request allocates nothing here).
pub(crate) struct Jar<'a>(SmallVec<[(&'a str, &'a str); 8]>);

/// The values of one cookie name in a [`Jar`] (honest browsers send one).
pub(crate) type Values<'a> = SmallVec<[&'a str; 2]>;

impl<'a> Jar<'a> {
    pub(crate) fn parse(headers: &[&'a str]) -> Jar<'a> {
        Jar(headers.iter().flat_map(|h| web::cookie_pairs(h)).collect())
    }

    /// Every value of the cookie `name`, in header order.
    pub(crate) fn values(&self, name: &str) -> Values<'a> {
        self.0
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .collect()
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| *n == name)
    }
}

/// Names under which a ticket cookie must not be taken on this request:
/// path-scoped names when `__Host-` names are in force (a sibling host can
/// set those). Only for the log: such cookies are never read anyway.
pub(crate) fn planted_names(names: &CookieNames, policy: &CookiePolicy) -> Vec<String> {
    if !names.host_only {
        return Vec::new();
    }
    let prefix = policy.prefix.as_deref().unwrap_or(DEFAULT_COOKIE_PREFIX);
    vec![format!("{prefix}ticket")]
}
