//! mod_sso: `AuthType SSO` for Apache httpd 2.4, a thin adapter over
//! sso-core's flow ([`sso_core::flow`]), which makes every protocol
//! decision. This crate translates: configuration ([`config`],
//! [`directives`]), the request path ([`handlers`] for
//! `sso_login`/`sso_logout`, [`authn`] for authentication, both through
//! [`request`]), authorization ([`authz`]), the stores ([`cache`],
//! [`binding`]) and the life cycle ([`startup`]), all of it safe code over
//! [`httpd`], the one layer that touches httpd's pointers. The module record
//! `sso_module` is the only symbol the shared object exports.
//!
//! The reference for administrators is `docs/mod_sso.md`.

mod authn;
mod authz;
mod binding;
mod cache;
mod config;
mod directives;
mod handlers;
mod httpd;
mod request;
mod startup;

use std::ffi::c_int;

use httpd::{Arg, Authz, Cmd, Pool, Request, Server};

/// mod_sso's hooks and directives.
pub struct Sso;

// httpd derives the log name `sso` (LogLevel sso:debug) from "mod_sso.c".
httpd::module!(sso_module, Sso, c"mod_sso.c", directives::COMMANDS);

impl httpd::Module for Sso {
    type Server = config::ServerConf;
    type Dir = config::DirConf;

    fn pre_config(pconf: Pool<'_>) -> Result<(), String> {
        startup::pre_config(pconf);
        Ok(())
    }

    fn post_config(pconf: Pool<'_>, ptemp: Pool<'_>, main: Server<'_>) -> Result<(), String> {
        startup::post_config(pconf, ptemp, main)
    }

    fn child_init(pchild: Pool<'_>, main: Server<'_>) {
        startup::child_init(pchild, main);
    }

    fn header_parser(r: &mut Request<'_>) -> c_int {
        handlers::sso_handlers(r)
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

    fn authz_sso_group(r: &mut Request<'_>, require_line: &str) -> Authz {
        authz::groups_check(r, require_line, "sso-group")
    }

    fn authz_group(r: &mut Request<'_>, require_line: &str) -> Option<Authz> {
        authz::group_check(r, require_line)
    }

    fn directive(cmd: &mut Cmd<'_>, arg: Arg<'_>) -> Result<(), String> {
        directives::set(cmd, arg)
    }
}
