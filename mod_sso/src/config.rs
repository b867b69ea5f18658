//! Configuration: per-server and per-directory records, their merging and
//! their lookup. The directives that fill them are in [`crate::directives`].

use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::Arc;

use sso_core::flow::{CookieSecure, Mode};
use sso_core::proxy::TrustedProxy;
use sso_core::{KeySet, PublicKey, ServicePattern};

use crate::apr::{guard, module_config, pool_box};
use crate::location::LocationService;
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
