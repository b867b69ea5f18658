//! The directive handlers and the command table. Every argument is checked
//! when httpd reads the configuration, by sso-core's rules
//! ([`sso_core::spec`], shared with pam_sso and libsso); an error names the
//! directive, so a bad value stops httpd at startup (or at `apache2ctl -t`)
//! instead of surfacing per request.

use std::ffi::{c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sso_core::file_trust;
use sso_core::flow::{CookieSecure, Mode};
use sso_core::spec::{self, SpecError};
use sso_core::{KeySet, PublicKey, ServicePattern};

use crate::apr::{cmd_error, cstr, guard, str_of};
use crate::config::LocationService;
use crate::config::{server_conf_mut, DirConf, ServerConf};
use crate::ffi;

type Take1 = unsafe extern "C" fn(*mut ffi::cmd_parms, *mut c_void, *const c_char) -> *const c_char;

/// Runs a directive handler body: a panic or an error message becomes the
/// directive's error, which stops httpd with the directive's name in it.
unsafe fn directive(
    cmd: *mut ffi::cmd_parms,
    arg: *const c_char,
    name: &str,
    f: impl FnOnce(&str) -> Result<(), String>,
) -> *const c_char {
    guard(
        cstr!("mod_sso: internal error while reading a directive"),
        || {
            let Some(arg) = str_of(arg) else {
                return cmd_error(cmd, &format!("{name}: the argument is not valid UTF-8"));
            };
            match f(arg) {
                Ok(()) => std::ptr::null(),
                Err(e) => cmd_error(cmd, &format!("{name}: {e}")),
            }
        },
    )
}

unsafe fn server_of<'a>(cmd: *mut ffi::cmd_parms) -> Result<&'a mut ServerConf, String> {
    server_conf_mut((*cmd).server)
        .ok_or_else(|| "no server configuration (internal error)".to_owned())
}

/// A rule's refusal as the directive's error text.
fn said(e: SpecError) -> String {
    e.to_string()
}

unsafe extern "C" fn set_login_server(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOLoginServer", |v| {
        server_of(cmd)?.login_server = Some(spec::login_server(v).map_err(said)?);
        Ok(())
    })
}

unsafe extern "C" fn set_domain(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSODomain", |v| {
        server_of(cmd)?.domain = Some(spec::domain(v).map_err(said)?);
        Ok(())
    })
}

unsafe extern "C" fn add_trusted_proxy(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOTrustedProxies", |v| {
        let proxy = sso_core::proxy::TrustedProxy::parse(v)?;
        server_of(cmd)?
            .trusted_proxies
            .get_or_insert_with(Vec::new)
            .push(proxy);
        Ok(())
    })
}

unsafe extern "C" fn add_public_key(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOPublicKeyFile", |v| {
        let conf = server_of(cmd)?;
        if let Some(pattern) = v.strip_prefix("services=") {
            // Pins the key named just before to the matching services.
            let pin = conf
                .pins
                .last_mut()
                .ok_or("services= follows the key file it pins")?;
            if pin.is_some() {
                return Err("one services= per key file".into());
            }
            *pin = Some(spec::key_services(pattern).map_err(said)?);
        } else {
            // Relative paths are under ServerRoot, as for every httpd file directive.
            let path_c = ffi::ap_server_root_relative((*cmd).pool, arg);
            let path = str_of(path_c).unwrap_or(v).to_owned();
            // Whoever can write a key file mints tickets: it and its
            // directories must be root's (or httpd's own user's at start),
            // as pam_sso and the login server require.
            let key =
                spec::load_key_file(Path::new(&path), file_trust::effective_uid()).map_err(said)?;
            conf.keys.push(key);
            conf.pins.push(None);
            conf.key_files.push(PathBuf::from(path));
        }
        let pinned: Vec<(PublicKey, Option<ServicePattern>)> = conf
            .keys
            .iter()
            .copied()
            .zip(conf.pins.iter().cloned())
            .collect();
        conf.key_set = Some(KeySet::with_pins(&pinned).map_err(|e| e.to_string())?);
        Ok(())
    })
}

unsafe extern "C" fn set_clock_skew(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOClockSkew", |v| {
        server_of(cmd)?.clock_skew = Some(spec::clock_skew_text(v).map_err(said)?);
        Ok(())
    })
}

unsafe extern "C" fn set_cache_size(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    let err = ffi::ap_check_cmd_context(cmd, ffi::GLOBAL_ONLY);
    if !err.is_null() {
        return err;
    }
    directive(cmd, arg, "SSOCacheSize", |v| {
        let n: usize = v
            .parse()
            .map_err(|_| format!("'{v}' is not a number of entries"))?;
        if n > 10_000_000 {
            return Err("at most 10000000 entries".into());
        }
        server_of(cmd)?.cache_size = Some(n);
        Ok(())
    })
}

unsafe fn dir_of<'a>(m: *mut c_void) -> Result<&'a mut DirConf, String> {
    (m as *mut DirConf)
        .as_mut()
        .ok_or_else(|| "no directory configuration (internal error)".to_owned())
}

unsafe extern "C" fn set_service(
    cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOService", |v| {
        let service = spec::service(v).map_err(|e| format!("'{v}': {e}"))?;
        let home = (*cmd).server as usize;
        let dir = dir_of(m)?;
        dir.service = Some(Arc::new(LocationService::new(service, home, dir)));
        Ok(())
    })
}

unsafe extern "C" fn add_groups(
    cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOGroups", |v| {
        let conf = dir_of(m)?;
        let groups = Arc::make_mut(conf.groups.get_or_insert_with(Default::default));
        // Arguments are separated by spaces, commas or both (`a, b`).
        let list = v.trim_matches(',');
        if list.is_empty() {
            return Ok(());
        }
        spec::groups(list, groups).map_err(said)
    })
}

unsafe extern "C" fn set_cookie_prefix(
    cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOCookiePrefix", |v| {
        let prefix = spec::cookie_prefix(v).map_err(said)?;
        dir_of(m)?.cookie_prefix = Some(Arc::from(prefix));
        Ok(())
    })
}

unsafe extern "C" fn set_cookie_secure(
    cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOCookieSecure", |v| {
        let mode = match v.to_ascii_lowercase().as_str() {
            "auto" => CookieSecure::Auto,
            "on" => CookieSecure::On,
            "off" => CookieSecure::Off,
            _ => return Err(format!("'{v}' is not one of On, Off, Auto")),
        };
        dir_of(m)?.cookie_secure = Some(mode);
        Ok(())
    })
}

unsafe extern "C" fn set_mode(
    cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    directive(cmd, arg, "SSOMode", |v| {
        let mode = match v.to_ascii_lowercase().as_str() {
            "browser" => Mode::Browser,
            "api" => Mode::Api,
            _ => return Err(format!("'{v}' is not one of Browser, API")),
        };
        dir_of(m)?.mode = Some(mode);
        Ok(())
    })
}

/// Runs a flag directive's handler body on the directory record.
unsafe fn flag_directive(
    m: *mut c_void,
    on: c_int,
    error: *const c_char,
    f: impl FnOnce(&mut DirConf, bool),
) -> *const c_char {
    guard(error, || match dir_of(m) {
        Ok(conf) => {
            f(conf, on != 0);
            std::ptr::null()
        }
        Err(_) => error,
    })
}

unsafe extern "C" fn set_export_ticket(
    _cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    on: c_int,
) -> *const c_char {
    flag_directive(
        m,
        on,
        cstr!("SSOExportTicket: internal error"),
        |conf, on| conf.export_ticket = Some(on),
    )
}

unsafe extern "C" fn set_ticket_binding(
    _cmd: *mut ffi::cmd_parms,
    m: *mut c_void,
    on: c_int,
) -> *const c_char {
    flag_directive(
        m,
        on,
        cstr!("SSOTicketBinding: internal error"),
        |conf, on| conf.binding = Some(on),
    )
}

unsafe extern "C" fn set_binding_cache(
    cmd: *mut ffi::cmd_parms,
    _m: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    let err = ffi::ap_check_cmd_context(cmd, ffi::GLOBAL_ONLY);
    if !err.is_null() {
        return err;
    }
    directive(cmd, arg, "SSOBindingCache", |v| {
        let name = v.split(':').next().unwrap_or("");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "'{v}' is not PROVIDER[:ARGUMENTS] (e.g. shmcb, or shmcb:/run/sso-binding(512000))"
            ));
        }
        server_of(cmd)?.binding_cache = Some(v.to_owned());
        Ok(())
    })
}

/// The command table (`cmds` of the module record).
pub struct Commands(pub [ffi::command_rec; 15]);
// SAFETY: the table is immutable and only read by httpd.
unsafe impl Sync for Commands {}

const fn take1(
    name: *const c_char,
    f: Take1,
    how: ffi::cmd_how::Type,
    ctx: u32,
    help: *const c_char,
) -> ffi::command_rec {
    ffi::command_rec {
        name,
        func: ffi::cmd_func { take1: Some(f) },
        cmd_data: std::ptr::null_mut(),
        req_override: ctx as c_int,
        args_how: how,
        errmsg: help,
    }
}

const SERVER: u32 = ffi::RSRC_CONF;
const DIR: u32 = ffi::RSRC_CONF | ffi::ACCESS_CONF | ffi::OR_AUTHCFG;

pub static COMMANDS: Commands = Commands([
    take1(
        cstr!("SSOLoginServer"),
        set_login_server,
        ffi::cmd_how::TAKE1,
        SERVER,
        cstr!("URL of the SSO login server, e.g. https://login.example.org/"),
    ),
    take1(
        cstr!("SSODomain"),
        set_domain,
        ffi::cmd_how::TAKE1,
        SERVER,
        cstr!("SSO authentication domain shared with the login server"),
    ),
    take1(
        cstr!("SSOPublicKeyFile"),
        add_public_key,
        ffi::cmd_how::ITERATE,
        SERVER,
        cstr!("public key files (raw 32 bytes or PEM), each optionally followed by services=REGEX; repeat for key rotation"),
    ),
    take1(
        cstr!("SSOClockSkew"),
        set_clock_skew,
        ffi::cmd_how::TAKE1,
        SERVER,
        cstr!("seconds a ticket is still accepted after its expiry (default 0)"),
    ),
    take1(
        cstr!("SSOCacheSize"),
        set_cache_size,
        ffi::cmd_how::TAKE1,
        SERVER,
        cstr!("verified tickets cached per child process (default 16384, 0 disables)"),
    ),
    take1(
        cstr!("SSOBindingCache"),
        set_binding_cache,
        ffi::cmd_how::TAKE1,
        SERVER,
        cstr!("socache provider of the ticket bindings, PROVIDER[:ARGS] (default shmcb)"),
    ),
    take1(
        cstr!("SSOTrustedProxies"),
        add_trusted_proxy,
        ffi::cmd_how::ITERATE,
        SERVER,
        cstr!("addresses or CIDR networks of TLS-terminating proxies whose X-Forwarded-Proto: https is believed (SSOCookieSecure Auto)"),
    ),
    take1(
        cstr!("SSOService"),
        set_service,
        ffi::cmd_how::TAKE1,
        DIR,
        cstr!("this location's service name, HOST[:PORT]/PATH/"),
    ),
    take1(
        cstr!("SSOGroups"),
        add_groups,
        ffi::cmd_how::ITERATE,
        DIR,
        cstr!("groups to ask the login server for; a ticket must hold one of them"),
    ),
    take1(
        cstr!("SSOCookiePrefix"),
        set_cookie_prefix,
        ffi::cmd_how::TAKE1,
        DIR,
        cstr!("prefix of the ticket and nonce cookie names (default SSO_)"),
    ),
    take1(
        cstr!("SSOCookieSecure"),
        set_cookie_secure,
        ffi::cmd_how::TAKE1,
        DIR,
        cstr!("On, Off or Auto (Secure on https requests, the default)"),
    ),
    take1(
        cstr!("SSOMode"),
        set_mode,
        ffi::cmd_how::TAKE1,
        DIR,
        cstr!("Browser (the default: redirect to the login server) or API (always 401, never a redirect)"),
    ),
    ffi::command_rec {
        name: cstr!("SSOExportTicket"),
        func: ffi::cmd_func {
            flag: Some(set_export_ticket),
        },
        cmd_data: std::ptr::null_mut(),
        req_override: DIR as c_int,
        args_how: ffi::cmd_how::FLAG,
        errmsg: cstr!("On: put the verified ticket in the SSO_TICKET environment variable"),
    },
    ffi::command_rec {
        name: cstr!("SSOTicketBinding"),
        func: ffi::cmd_func {
            flag: Some(set_ticket_binding),
        },
        cmd_data: std::ptr::null_mut(),
        req_override: DIR as c_int,
        args_how: ffi::cmd_how::FLAG,
        errmsg: cstr!(
            "On (default): browser tickets count only with the binding cookie set at sso_login"
        ),
    },
    ffi::command_rec {
        name: std::ptr::null(),
        func: ffi::cmd_func { take1: None },
        cmd_data: std::ptr::null_mut(),
        req_override: 0,
        args_how: 0,
        errmsg: std::ptr::null(),
    },
]);
