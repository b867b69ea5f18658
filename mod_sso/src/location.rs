//! A protected location's [`Settings`], built once: at post_config for
//! every (server, `SSOService` section) pair, from sso-core's rules
//! ([`sso_core::spec`]), and borrowed by every request whose merged
//! directory record has that section's values. A request whose records
//! mix values from several sections (an `SSOGroups` in a nested
//! `<Location>`, say) builds that variant once, at its first request, into
//! one of a few slots beside it; only when those are taken (many
//! `.htaccess` variants) does a request build its own.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use sso_core::flow::{CookiePolicy, CookieSecure, Mode, Settings};
use sso_core::spec::{self, Field};
use sso_core::web::ServiceName;

use crate::config::{DirConf, ServerConf};

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
