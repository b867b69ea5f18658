//! Configuration: per-server and per-directory records, their merging and
//! their lookup, and each protected location's settings built once from
//! them (below). The directives that fill them are in [`crate::directives`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use sso_core::flow::{CookiePolicy, CookieSecure, Mode, Settings};
use sso_core::proxy::TrustedProxy;
use sso_core::spec::{self, Field};
use sso_core::web::ServiceName;
use sso_core::{KeySet, PublicKey, ServicePattern};

use crate::httpd::{Config, Merged};

/// Per virtual host settings (`RSRC_CONF` directives).
#[derive(Default, Clone)]
pub struct ServerConf {
    pub login_server: Option<String>,
    pub domain: Option<String>,
    /// Public keys read by `SSOPublicKeyFile`, in configuration order.
    pub keys: Vec<PublicKey>,
    /// Per key, `services=REGEX` of `SSOPublicKeyFile`.
    pub pins: Vec<Option<ServicePattern>>,
    pub key_files: Vec<PathBuf>,
    /// Built from `keys` whenever one is added: shared by every request.
    pub key_set: Option<KeySet>,
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

/// Per directory/location settings.
/// Values are behind `Arc` because httpd merges per-directory configs on
/// every request: a merge then only bumps reference counts.
#[derive(Default, Clone)]
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
    /// True when the section sets none of this module's directives.
    fn is_unset(&self) -> bool {
        let DirConf {
            service,
            groups,
            cookie_prefix,
            cookie_secure,
            export_ticket,
            binding,
            mode,
        } = self;
        service.is_none()
            && groups.is_none()
            && cookie_prefix.is_none()
            && cookie_secure.is_none()
            && export_ticket.is_none()
            && binding.is_none()
            && mode.is_none()
    }

    pub fn groups(&self) -> &[String] {
        self.groups.as_deref().map_or(&[], |g| g.as_slice())
    }
}

impl Config for ServerConf {
    fn merge(base: &Self, add: &Self) -> Merged<Self> {
        let keyed = if add.keys.is_empty() { base } else { add };
        Merged::New(ServerConf {
            login_server: add
                .login_server
                .clone()
                .or_else(|| base.login_server.clone()),
            domain: add.domain.clone().or_else(|| base.domain.clone()),
            keys: keyed.keys.clone(),
            pins: keyed.pins.clone(),
            key_files: keyed.key_files.clone(),
            key_set: keyed.key_set.clone(),
            clock_skew: add.clock_skew.or(base.clock_skew),
            cache_size: base.cache_size,
            binding_cache: base.binding_cache.clone(),
            trusted_proxies: add
                .trusted_proxies
                .clone()
                .or_else(|| base.trusted_proxies.clone()),
            ordinal: OnceLock::new(),
        })
    }
}

impl Config for DirConf {
    fn merge(base: &Self, add: &Self) -> Merged<Self> {
        // httpd merges on every request, for every section: when one side
        // sets nothing, the other is the merge as it is (both outlive the
        // request, and nothing writes to a merged record), which spares a
        // record, its cleanup and its drop per section per request.
        if add.is_unset() {
            return Merged::Base;
        }
        if base.is_unset() {
            return Merged::Add;
        }
        Merged::New(DirConf {
            service: add.service.clone().or_else(|| base.service.clone()),
            groups: add.groups.clone().or_else(|| base.groups.clone()),
            cookie_prefix: add
                .cookie_prefix
                .clone()
                .or_else(|| base.cookie_prefix.clone()),
            cookie_secure: add.cookie_secure.or(base.cookie_secure),
            export_ticket: add.export_ticket.or(base.export_ticket),
            binding: add.binding.or(base.binding),
            mode: add.mode.or(base.mode),
        })
    }
}

// ---- Each location's settings, built once ----
//
// A protected location's [`Settings`], built once: at post_config for
// every (server, `SSOService` section) pair, from sso-core's rules
// ([`sso_core::spec`]), and borrowed by every request whose merged
// directory record has that section's values. A request whose records
// mix values from several sections (an `SSOGroups` in a nested
// `<Location>`, say) builds that variant once, at its first request, into
// one of a few slots beside it; only when those are taken (many
// `.htaccess` variants) does a request build its own.

/// `SSOService` of one configuration section, with the settings built for
/// it at post_config. Merged directory records share it through an `Arc`.
#[derive(Debug)]
pub struct LocationService {
    pub name: ServiceName,
    /// The server whose configuration holds the section (its address, an
    /// identity only): the main server's sections serve every virtual host.
    home: usize,
    /// Per server ordinal ([`ServerConf::ordinal`]): the settings, the
    /// missing directive, or nothing for a server the section never serves.
    built: OnceLock<Vec<Option<Result<Variants, &'static str>>>>,
}

/// How many variants of one location's settings are kept per server.
const VARIANTS: usize = 8;

/// A location's settings as built for the records seen: the section's own
/// first (post_config), then those of nested sections (first request).
/// Slots are only ever filled, never changed, so a request borrows one
/// without a lock.
#[derive(Debug, Default)]
struct Variants([OnceLock<Built>; VARIANTS]);

impl std::ops::Deref for LocationService {
    type Target = ServiceName;
    fn deref(&self) -> &ServiceName {
        &self.name
    }
}

/// Settings built for a section, with the values of the directory record
/// they were built from: a request's record must have the same to use them.
#[derive(Debug)]
struct Built {
    settings: Settings,
    groups: Option<Arc<Vec<String>>>,
    cookie_prefix: Option<Arc<str>>,
    cookie_secure: Option<CookieSecure>,
    mode: Option<Mode>,
    binding: Option<bool>,
}

impl Built {
    fn matches(&self, dir: &DirConf) -> bool {
        fn same<T: ?Sized + PartialEq>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || **a == **b,
                _ => false,
            }
        }
        same(&self.groups, &dir.groups)
            && same(&self.cookie_prefix, &dir.cookie_prefix)
            && self.cookie_secure == dir.cookie_secure
            && self.mode == dir.mode
            && self.binding == dir.binding
    }
}

impl LocationService {
    /// `SSOService` in a section read for server `home`.
    pub fn new(name: ServiceName, home: usize) -> LocationService {
        LocationService {
            name,
            home,
            built: OnceLock::new(),
        }
    }
}

/// post_config: builds the settings of every section with an `SSOService`
/// (`sections`) for every server it serves (`servers`: each server's
/// identity and settings, in httpd's order; the first is the main server),
/// and numbers the servers.
pub fn build_all(servers: &[(usize, &ServerConf)], sections: &[&DirConf]) {
    for (ordinal, (_, server)) in servers.iter().enumerate() {
        let _ = server.ordinal.set(ordinal);
    }
    let main = servers.first().map_or(0, |(id, _)| *id);
    for dir in sections {
        let Some(service) = &dir.service else {
            continue;
        };
        let built = servers
            .iter()
            .map(|(id, server)| {
                (service.home == main || service.home == *id).then(|| {
                    build(server, dir).map(|settings| {
                        let variants = Variants::default();
                        let _ = variants.0[0].set(built_from(settings, dir));
                        variants
                    })
                })
            })
            .collect();
        let _ = service.built.set(built);
    }
}

fn built_from(settings: Settings, dir: &DirConf) -> Built {
    Built {
        settings,
        groups: dir.groups.clone(),
        cookie_prefix: dir.cookie_prefix.clone(),
        cookie_secure: dir.cookie_secure,
        mode: dir.mode,
        binding: dir.binding,
    }
}

/// The settings of a request's location: borrowed from post_config when
/// its directory record is a section's own, else built here; or the name
/// of the directive that is missing.
pub fn settings<'a>(
    server: &ServerConf,
    dir: &'a DirConf,
) -> Result<Cow<'a, Settings>, &'static str> {
    let service = dir.service.as_ref().ok_or("SSOService")?;
    let built = server
        .ordinal
        .get()
        .and_then(|&i| service.built.get()?.get(i)?.as_ref());
    let variants = match built {
        Some(Ok(variants)) => variants,
        // The server's settings or the keys' pins: the same for any record.
        Some(Err(missing)) => return Err(missing),
        None => return build(server, dir).map(Cow::Owned),
    };
    for slot in &variants.0 {
        let built = match slot.get() {
            Some(built) => built,
            None => {
                let settings = build(server, dir)?;
                // Another thread may fill the slot first with its own
                // variant: then this one is checked like any other.
                slot.get_or_init(|| built_from(settings, dir))
            }
        };
        if built.matches(dir) {
            return Ok(Cow::Borrowed(&built.settings));
        }
    }
    build(server, dir).map(Cow::Owned)
}

/// The directive a server with SSO settings lacks, if any.
pub fn missing_server_setting(conf: &ServerConf) -> Option<&'static str> {
    if conf.login_server.is_none() {
        Some("SSOLoginServer")
    } else if conf.domain.is_none() {
        Some("SSODomain")
    } else if conf.key_set.is_none() {
        Some("SSOPublicKeyFile")
    } else {
        None
    }
}

/// Builds a location's settings by sso-core's rules (every value was
/// checked by the same rules when its directive was read).
fn build(server: &ServerConf, dir: &DirConf) -> Result<Settings, &'static str> {
    let service = dir.service.as_ref().ok_or("SSOService")?;
    if let Some(missing) = missing_server_setting(server) {
        return Err(missing);
    }
    let (Some(login_server), Some(domain), Some(keys)) =
        (&server.login_server, &server.domain, &server.key_set)
    else {
        return Err("SSOLoginServer");
    };
    let verifier = spec::verifier_for(keys, &service.name, domain, server.clock_skew.unwrap_or(0))
        .map_err(|e| match e.field {
            Field::KeyServices => {
                "SSOPublicKeyFile for this service (every key is pinned to other services)"
            }
            Field::ClockSkew => "SSOClockSkew",
            _ => "SSODomain",
        })?;
    Ok(Settings {
        service: service.name.clone(),
        login_server: login_server.clone(),
        verifier,
        groups: dir.groups().to_vec(),
        cookies: CookiePolicy {
            secure: dir.cookie_secure.unwrap_or_default(),
            prefix: dir.cookie_prefix.as_deref().map(str::to_owned),
        },
        mode: dir.mode.unwrap_or_default(),
        binding: dir.binding.unwrap_or(true),
        names: Default::default(),
    })
}
