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
#[derive(Default)]
struct Variants([OnceLock<Built>; VARIANTS]);

impl std::ops::Deref for LocationService {
    type Target = ServiceName;
    fn deref(&self) -> &ServiceName {
        &self.name
    }
}

/// Settings built for a section, with the directory record they were
/// built from: a request's record must have the same values to use them.
struct Built {
    settings: Settings,
    dir: DirConf,
}

/// Sections are told apart by identity: a merged record shares its
/// section's `Arc`.
impl PartialEq for LocationService {
    fn eq(&self, other: &LocationService) -> bool {
        std::ptr::eq(self, other)
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
    let dir = dir.clone();
    Built { settings, dir }
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
        if built.dir == *dir {
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
    } else if conf.keys.as_ref().and_then(|k| k.set.as_ref()).is_none() {
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
    let keys = server.keys.as_ref().and_then(|k| k.set.as_ref());
    let (Some(login_server), Some(domain), Some(keys)) =
        (&server.login_server, &server.domain, keys)
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
