//! The server's life cycle: pre_config (the `group` provider, the binding
//! mutex type), post_config (configuration checks, every location's
//! settings, the binding store), child_init (the verification cache, the
//! binding mutex).

use std::ffi::c_int;

use crate::apr::{guard, log_s, LOG_DEBUG, LOG_WARNING};
use crate::config::missing_server_setting;
use crate::config::{server_conf, server_conf_mut, ServerConf};
use crate::ffi;
use crate::request::{HTTP_SERVER_ERROR, OK};

pub unsafe extern "C" fn pre_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
) -> c_int {
    // A panic here aborts startup (non-OK) rather than run half set up.
    guard(HTTP_SERVER_ERROR, || {
        crate::authz::take_over_group(pconf);
        crate::binding::register_mutex(pconf);
        crate::config::start_reading();
        OK
    })
}

fn has_sso_settings(conf: &ServerConf) -> bool {
    conf.login_server.is_some() || conf.domain.is_some() || !conf.keys.is_empty()
}

/// Checks at startup that every server that has SSO settings has them all,
/// so a missing SSODomain or SSOPublicKeyFile shows in the error log at once
/// (requests still refuse with 500 if one is used anyway); creates the
/// binding store when any server uses SSO. A store that cannot be created
/// stops httpd with the directive's name.
pub unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    // A panic here aborts startup (non-OK) rather than run half set up.
    guard(HTTP_SERVER_ERROR, || {
        build_locations(s);
        let mut any_sso = false;
        let mut server = s;
        while !server.is_null() {
            if let Some(conf) = server_conf(server).filter(|c| has_sso_settings(c)) {
                any_sso = true;
                if let Some(missing) = missing_server_setting(conf) {
                    log_s(server, LOG_WARNING, &format!("mod_sso: {missing} is not set: AuthType SSO locations of this server will answer 500"));
                }
                log_s(
                    server,
                    LOG_DEBUG,
                    &format!(
                        "mod_sso: {} public key(s) from {:?}",
                        conf.keys.len(),
                        conf.key_files
                    ),
                );
            }
            server = (*server).next;
        }
        if !any_sso {
            return OK;
        }
        let spec = server_conf(s)
            .and_then(|c| c.binding_cache.clone())
            .unwrap_or_else(|| crate::binding::DEFAULT_PROVIDER.to_owned());
        match crate::binding::create(&spec, s, pconf, ptemp) {
            Ok(()) => OK,
            Err(e) => {
                log_s(s, crate::apr::LOG_ERR, &format!("mod_sso: {e}"));
                HTTP_SERVER_ERROR
            }
        }
    })
}

/// Numbers the servers and builds the settings of every location for
/// every server it serves, once, before any request.
///
/// # Safety
/// `s` is the main server record at post_config, before any request.
unsafe fn build_locations(s: *mut ffi::server_rec) {
    let mut servers = Vec::new();
    let mut server = s;
    while !server.is_null() {
        if let Some(conf) = server_conf_mut(server) {
            conf.ordinal = Some(servers.len());
            servers.push((server as usize, &*conf));
        }
        server = (*server).next;
    }
    // SAFETY: post_config runs before httpd clears the configuration pool
    // that holds every record registered while it was read.
    crate::config::build_all(&servers);
}

pub unsafe extern "C" fn child_init(p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    guard((), || {
        crate::cache::child_init(p, s);
        crate::binding::child_init(p);
    })
}
