//! Configuration: per-server and per-directory records, their merging and
//! their lookup, and each protected location's settings built once from
//! them (below). The directives that fill them are in [`crate::directives`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use sso_core::flow::{CookiePolicy, CookieSecure, Mode, Settings};
use sso_core::proxy::TrustedProxy;
use sso_core::spec::{self, Field};
use sso_core::web::ServiceName;
use sso_core::{KeySet, PublicKey, ServicePattern};

use httpd::{Config, Merged};

/// Per virtual host settings (`RSRC_CONF` directives).
#[derive(Default, Clone)]
pub struct ServerConf {
    pub login_server: Option<String>,
    pub domain: Option<String>,
    /// `SSOPublicKeyFile`: shared by every request.
    pub keys: Option<Arc<Keys>>,
    pub clock_skew: Option<u64>,
    /// Main server only: the verification cache is one per child process.
    pub cache_size: Option<usize>,
    /// Main server only: `SSOBindingCache PROVIDER[:ARGS]`.
    pub binding_cache: Option<String>,
    /// `SSOTrustedProxies`: peers whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: Option<Vec<TrustedProxy>>,
    /// The server's place in httpd's list of servers, given at post_config:
    /// its index into each location's settings built then.
    pub ordinal: OnceLock<usize>,
}

/// The keys of `SSOPublicKeyFile`, in configuration order, each with its
/// `services=` pin and its file, and the key set built from them whenever
/// one is added.
#[derive(Default, Clone)]
pub struct Keys {
    pub pinned: Vec<(PublicKey, Option<ServicePattern>)>,
    pub files: Vec<PathBuf>,
    pub set: Option<KeySet>,
}

/// Per directory/location settings.
/// Values are behind `Arc` because httpd merges per-directory configs on
/// every request: a merge then only bumps reference counts.
#[derive(Default, Clone, PartialEq)]
pub struct DirConf {
    /// `SSOService`, with the location's settings built at post_config.
    pub service: Option<Arc<LocationService>>,
    pub groups: Option<Arc<Vec<String>>>,
    pub cookie_prefix: Option<Arc<str>>,
    pub cookie_secure: Option<CookieSecure>,
    pub export_ticket: Option<bool>,
    /// `SSOTicketBinding`: on unless set Off.
    pub binding: Option<bool>,
    /// `SSOMode`: Browser unless set.
    pub mode: Option<Mode>,
}

impl DirConf {
    pub fn groups(&self) -> &[String] {
        self.groups.as_deref().map_or(&[], |g| g.as_slice())
    }
}

/// The inner section's value if it sets one, else the outer one's.
fn or<T: Clone>(add: &Option<T>, base: &Option<T>) -> Option<T> {
    add.as_ref().or(base.as_ref()).cloned()
}

impl Config for ServerConf {
    fn merge(base: &Self, add: &Self) -> Merged<Self> {
        Merged::New(ServerConf {
            login_server: or(&add.login_server, &base.login_server),
            domain: or(&add.domain, &base.domain),
            keys: or(&add.keys, &base.keys),
            clock_skew: or(&add.clock_skew, &base.clock_skew),
            trusted_proxies: or(&add.trusted_proxies, &base.trusted_proxies),
            ordinal: OnceLock::new(),
            ..base.clone()
        })
    }
}

impl Config for DirConf {
    fn merge(base: &Self, add: &Self) -> Merged<Self> {
        // httpd merges on every request, for every section: when one side
        // sets nothing, the other is the merge as it is (both outlive the
        // request, and nothing writes to a merged record), which spares a
        // record, its cleanup and its drop per section per request.
        let unset = DirConf::default();
        if *add == unset {
            return Merged::Base;
        }
        if *base == unset {
            return Merged::Add;
        }
        Merged::New(DirConf {
            service: or(&add.service, &base.service),
            groups: or(&add.groups, &base.groups),
            cookie_prefix: or(&add.cookie_prefix, &base.cookie_prefix),
            cookie_secure: or(&add.cookie_secure, &base.cookie_secure),
            export_ticket: or(&add.export_ticket, &base.export_ticket),
            binding: or(&add.binding, &base.binding),
            mode: or(&add.mode, &base.mode),
        })
    }
}

// ---- Each location's settings, built once ----
//
// A protected location's [`Settings`], built from sso-core's rules
// ([`sso_core::spec`]) once per server at the first request that needs
// them, and borrowed by every later request whose merged directory record
// has the same values. Records that mix values from several sections (an
// `SSOGroups` in a nested `<Location>`, say) get their own variant, in one
// of a few slots per server; only when those are taken (many `.htaccess`
// variants) does a request build its own.

/// `SSOService` of one configuration section, with the settings built for
/// it. Merged directory records share it through an `Arc`.
pub struct LocationService {
    pub name: ServiceName,
    /// Per server ordinal ([`ServerConf::ordinal`]), the variants built.
    built: OnceLock<Box<[Variants]>>,
}

/// How many servers httpd has, counted at post_config ([`number_servers`]).
static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// How many variants of one location's settings are kept per server.
const VARIANTS: usize = 8;

/// A location's settings (or the directive missing for them) as built for
/// the directory records seen. Slots are only ever filled, never changed,
/// so a request borrows one without a lock.
#[derive(Default)]
struct Variants([OnceLock<Box<Built>>; VARIANTS]);

/// Settings (or the directive missing for them) and the directory record
/// they were built from: a request's record must have the same values.
type Built = (Result<Settings, &'static str>, DirConf);

impl std::ops::Deref for LocationService {
    type Target = ServiceName;
    fn deref(&self) -> &ServiceName {
        &self.name
    }
}

/// Sections are told apart by identity: a merged record shares its
/// section's `Arc`.
impl PartialEq for LocationService {
    fn eq(&self, other: &LocationService) -> bool {
        std::ptr::eq(self, other)
    }
}

impl LocationService {
    pub fn new(name: ServiceName) -> LocationService {
        let built = OnceLock::new();
        LocationService { name, built }
    }
}

/// post_config: numbers the servers (`servers`, in httpd's order).
pub fn number_servers<'a>(servers: impl Iterator<Item = &'a ServerConf>) {
    let mut n = 0;
    for (ordinal, server) in servers.enumerate() {
        let _ = server.ordinal.set(ordinal);
        n = ordinal + 1;
    }
    SERVERS.store(n, Ordering::Relaxed);
}

/// The settings of a request's location: borrowed when built before for
/// the same values, else built here; or the name of the directive that is
/// missing.
pub fn settings<'a>(
    server: &ServerConf,
    dir: &'a DirConf,
) -> Result<Cow<'a, Settings>, &'static str> {
    let service = dir.service.as_ref().ok_or("SSOService")?;
    let servers = || {
        (0..SERVERS.load(Ordering::Relaxed))
            .map(|_| Default::default())
            .collect()
    };
    let variants = server
        .ordinal
        .get()
        .and_then(|&i| service.built.get_or_init(servers).get(i));
    for slot in variants.iter().flat_map(|v| &v.0) {
        // Another thread may fill the slot first with its own variant:
        // then this one is checked like any other.
        let (settings, built_for) =
            &**slot.get_or_init(|| Box::new((build(server, dir), dir.clone())));
        if built_for == dir {
            return settings.as_ref().map(Cow::Borrowed).map_err(|e| *e);
        }
    }
    build(server, dir).map(Cow::Owned)
}

/// A server's login server, domain and key set, or the directive it lacks.
pub fn server_settings(conf: &ServerConf) -> Result<(&str, &str, &KeySet), &'static str> {
    let login_server = conf.login_server.as_deref().ok_or("SSOLoginServer")?;
    let domain = conf.domain.as_deref().ok_or("SSODomain")?;
    let keys = conf.keys.as_ref().and_then(|k| k.set.as_ref());
    Ok((login_server, domain, keys.ok_or("SSOPublicKeyFile")?))
}

/// Builds a location's settings by sso-core's rules (every value was
/// checked by the same rules when its directive was read).
fn build(server: &ServerConf, dir: &DirConf) -> Result<Settings, &'static str> {
    let service = dir.service.as_ref().ok_or("SSOService")?;
    let (login_server, domain, keys) = server_settings(server)?;
    let verifier = spec::verifier_for(keys, &service.name, domain, server.clock_skew.unwrap_or(0))
        .map_err(|e| match e.field {
            Field::KeyServices => {
                "SSOPublicKeyFile for this service (every key is pinned to other services)"
            }
            Field::ClockSkew => "SSOClockSkew",
            _ => "SSODomain",
        })?;
    Ok(Settings {
        groups: dir.groups().to_vec(),
        cookies: CookiePolicy {
            secure: dir.cookie_secure.unwrap_or_default(),
            prefix: dir.cookie_prefix.as_deref().map(str::to_owned),
        },
        mode: dir.mode.unwrap_or_default(),
        binding: dir.binding.unwrap_or(true),
        ..Settings::new(service.name.clone(), login_server, verifier)
    })
}
