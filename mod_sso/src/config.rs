//! Configuration: per-server and per-directory records, their merging and
//! their lookup, and each protected location's settings built once from
//! them (below). The directives that fill them are in [`crate::directives`].

use std::borrow::Cow;
use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use sso_core::flow::{CookiePolicy, CookieSecure, Mode, Settings};
use sso_core::proxy::TrustedProxy;
use sso_core::spec::{self, Field};
use sso_core::web::ServiceName;
use sso_core::{KeySet, PublicKey, ServicePattern};

use crate::apr::{guard, module_config, pool_box};
use crate::{ffi, module_index};

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
    pub ordinal: Option<usize>,
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

pub unsafe extern "C" fn create_server_config(
    p: *mut ffi::apr_pool_t,
    _s: *mut ffi::server_rec,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        pool_box(p, ServerConf::default()) as *mut c_void
    })
}

pub unsafe extern "C" fn merge_server_config(
    p: *mut ffi::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let base = &*(base as *const ServerConf);
        let add = &*(add as *const ServerConf);
        let keyed = if add.keys.is_empty() { base } else { add };
        let (keys, pins, key_files, key_set) = (
            keyed.keys.clone(),
            keyed.pins.clone(),
            keyed.key_files.clone(),
            keyed.key_set.clone(),
        );
        let merged = ServerConf {
            login_server: add
                .login_server
                .clone()
                .or_else(|| base.login_server.clone()),
            domain: add.domain.clone().or_else(|| base.domain.clone()),
            keys,
            pins,
            key_files,
            key_set,
            clock_skew: add.clock_skew.or(base.clock_skew),
            cache_size: base.cache_size,
            binding_cache: base.binding_cache.clone(),
            trusted_proxies: add
                .trusted_proxies
                .clone()
                .or_else(|| base.trusted_proxies.clone()),
            ordinal: None,
        };
        pool_box(p, merged) as *mut c_void
    })
}

pub unsafe extern "C" fn create_dir_config(
    p: *mut ffi::apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        pool_box(p, DirConf::default()) as *mut c_void
    })
}

pub unsafe extern "C" fn merge_dir_config(
    p: *mut ffi::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let (base_ptr, add_ptr) = (base, add);
        let base = &*(base as *const DirConf);
        let add = &*(add as *const DirConf);
        // httpd merges on every request, for every section: when one side
        // sets nothing, the other is the merge as it is (both outlive the
        // request, and nothing writes to a merged record), which spares a
        // record, its cleanup and its drop per section per request.
        if add.is_unset() {
            return base_ptr;
        }
        if base.is_unset() {
            return add_ptr;
        }
        let merged = DirConf {
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
        };
        pool_box(p, merged) as *mut c_void
    })
}

/// The server record's settings of this module, read-only: what hooks and
/// requests use (event MPM threads read them at once, so never `&mut`).
///
/// # Safety
/// `s` is a live server record whose config was created by this module.
pub unsafe fn server_conf<'a>(s: *const ffi::server_rec) -> Option<&'a ServerConf> {
    (module_config((*s).module_config, module_index()) as *const ServerConf).as_ref()
}

/// The same, writable: for directive handlers only, which httpd runs one
/// at a time while it reads the configuration, before any request.
///
/// # Safety
/// As [`server_conf`], and no other reference to it may be alive.
pub(crate) unsafe fn server_conf_mut<'a>(s: *const ffi::server_rec) -> Option<&'a mut ServerConf> {
    (module_config((*s).module_config, module_index()) as *mut ServerConf).as_mut()
}

/// The request's merged per-directory settings of this module.
///
/// # Safety
/// `r` is a live request.
pub unsafe fn dir_conf<'a>(r: *const ffi::request_rec) -> Option<&'a DirConf> {
    (module_config((*r).per_dir_config, module_index()) as *const DirConf).as_ref()
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

/// A directory record read while httpd reads its configuration, for
/// post_config. Raw, because the records live in httpd's configuration
/// pool; the list is emptied before that pool can be cleared.
struct Registered(*const DirConf);
// SAFETY: the pointer is only dereferenced in post_config (single-threaded,
// before any request) while its pool is alive; see `sections`.
unsafe impl Send for Registered {}

/// The records with an `SSOService`, while the configuration is read
/// (`None` outside that: `.htaccess` records are never registered).
static SECTIONS: Mutex<Option<Vec<Registered>>> = Mutex::new(None);

impl LocationService {
    /// `SSOService` in the section `dir`, read for server `home`.
    pub fn new(name: ServiceName, home: usize, dir: *const DirConf) -> LocationService {
        if let Ok(mut sections) = SECTIONS.lock() {
            if let Some(list) = sections.as_mut() {
                list.push(Registered(dir));
            }
        }
        LocationService {
            name,
            home,
            built: OnceLock::new(),
        }
    }
}

/// pre_config: a new configuration is read; earlier records are gone.
pub fn start_reading() {
    if let Ok(mut sections) = SECTIONS.lock() {
        *sections = Some(Vec::new());
    }
}

/// post_config: builds the settings of every registered section for every
/// server it serves (`servers`: each server's address and settings, in
/// ordinal order; the first is the main server).
///
/// # Safety
/// Every record registered since [`start_reading`] is alive (httpd's
/// configuration pool is cleared only after post_config).
pub unsafe fn build_all(servers: &[(usize, &ServerConf)]) {
    let Some(sections) = SECTIONS.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    let main = servers.first().map_or(0, |(address, _)| *address);
    for Registered(dir) in sections {
        // SAFETY: alive per this function's contract.
        let Some(dir) = dir.as_ref() else { continue };
        let Some(service) = &dir.service else {
            continue;
        };
        let built = servers
            .iter()
            .map(|(address, server)| {
                (service.home == main || service.home == *address).then(|| {
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
        .and_then(|i| service.built.get()?.get(i)?.as_ref());
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
    })
}
