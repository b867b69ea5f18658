//! mod_sso: `AuthType SSO` for Apache httpd 2.4, a thin adapter over
//! sso-core's flow ([`sso_core::flow`]), which makes every protocol
//! decision. This crate translates: configuration ([`config`],
//! [`directives`]), the request path ([`authn`]),
//! authorization ([`authz`]), the stores ([`cache`], [`binding`]) and the
//! life cycle (below), all of it safe code (`unsafe_code = "forbid"`) over
//! the crate [`httpd`], the one layer that touches httpd's pointers. The
//! module record `sso_module` is the only symbol the shared object exports.
//!
//! The reference for administrators is `docs/mod_sso.md`.

mod authn;
mod authz;
mod binding;
mod cache;
mod config;
mod directives;

use std::ffi::{c_int, CStr};

use config::ServerConf;
use httpd::{Arg, Authz, Cmd, Level, Pool, Request, Server, SharedCache};

/// mod_sso's hooks and directives.
pub struct Sso;

// httpd derives the log name `sso` (LogLevel sso:debug) from "mod_sso.c".
httpd::module!(sso_module, Sso, c"mod_sso.c", directives::COMMANDS);

impl httpd::Module for Sso {
    type Server = config::ServerConf;
    type Dir = config::DirConf;
    const AUTHZ: &'static CStr = c"sso-group";
    const AUTHZ_TAKEOVER: &'static CStr = c"group";

    fn pre_config(pconf: Pool<'_>) {
        SharedCache::register_mutex(pconf, binding::MUTEX_TYPE);
    }

    /// Numbers the servers (see [`config::settings`]); checks that every server that has
    /// SSO settings has them all, so a missing SSODomain or
    /// SSOPublicKeyFile shows in the error log at once (requests still
    /// refuse with 500 if one is used anyway); creates the binding store
    /// when any server uses SSO (a store that cannot be created stops
    /// httpd with the directive's name).
    fn post_config(pconf: Pool<'_>, ptemp: Pool<'_>, main: Server<'_>) -> Result<(), String> {
        let servers: Vec<_> = main
            .iter()
            .filter_map(|s| Some((s, s.config::<ServerConf>()?)))
            .collect();
        config::number_servers(servers.iter().map(|&(_, conf)| conf));
        let sso =
            |c: &ServerConf| c.login_server.is_some() || c.domain.is_some() || c.keys.is_some();
        for &(server, conf) in servers.iter().filter(|(_, c)| sso(c)) {
            if let Err(missing) = config::server_settings(conf) {
                server.log(Level::Warning, &format!("mod_sso: {missing} is not set: AuthType SSO locations of this server will answer 500"));
            }
            let keys = conf.keys.as_deref();
            let (n, files) = keys.map_or((0, &[][..]), |k| (k.pinned.len(), &k.files[..]));
            server.log(
                Level::Debug,
                &format!("mod_sso: {n} public key(s) from {files:?}"),
            );
        }
        if !servers.iter().any(|(_, c)| sso(c)) {
            return Ok(());
        }
        let spec = main
            .config::<ServerConf>()
            .and_then(|c| c.binding_cache.as_deref());
        let spec = spec.unwrap_or(binding::DEFAULT_PROVIDER);
        binding::create(spec, main, pconf, ptemp)
    }

    fn child_init(pchild: Pool<'_>, main: Server<'_>) {
        cache::child_init(pchild, main);
        SharedCache::child_init(pchild);
    }

    fn header_parser(r: &mut Request<'_>) -> c_int {
        authn::sso_handlers(r)
    }

    fn check_authn(r: &mut Request<'_>) -> c_int {
        authn::check_authn(r)
    }

    fn note_auth_failure(r: &mut Request<'_>) -> c_int {
        authz::note_auth_failure(r)
    }

    fn insert_error_filter(r: &mut Request<'_>) {
        authz::forbid_authenticated(r);
    }

    fn authz(r: &mut Request<'_>, require_line: &str) -> Authz {
        authz::groups_check(r, require_line, "sso-group")
    }

    fn authz_takeover(r: &mut Request<'_>, require_line: &str, delegate: bool) -> Option<Authz> {
        authz::group_check(r, require_line, delegate)
    }

    fn directive(cmd: &mut Cmd<'_>, arg: Arg<'_>) -> Result<(), String> {
        directives::set(cmd, arg)
    }
}
